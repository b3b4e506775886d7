#include "launcher/log/syslog_sink.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>

#include "core/strings.h"

namespace fcgi {

namespace {

struct Facility {
  const char* name;
  int code;
};

constexpr Facility kFacilities[] = {
    {"kern", 0},      {"user", 1},    {"mail", 2},    {"daemon", 3},  {"auth", 4},
    {"syslog", 5},    {"lpr", 6},     {"news", 7},    {"uucp", 8},    {"cron", 9},
    {"authpriv", 10}, {"ftp", 11},    {"local0", 16}, {"local1", 17}, {"local2", 18},
    {"local3", 19},   {"local4", 20}, {"local5", 21}, {"local6", 22}, {"local7", 23},
};

constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

}  // namespace

bool ParseSyslogFacility(std::string_view name, int* code) {
  for (const Facility& f : kFacilities) {
    if (name == f.name) {
      *code = f.code;
      return true;
    }
  }
  return false;
}

int SyslogSeverity(LogLevel level) {
  switch (level) {
    case LogLevel::kError:
      return 3;
    case LogLevel::kWarning:
      return 4;
    case LogLevel::kNotice:
      return 5;
    case LogLevel::kInfo:
      return 6;
    case LogLevel::kDebug:
      return 7;
  }
  return 7;
}

std::string FormatSyslogDatagram(int facility, LogLevel level, std::string_view message, time_t now,
                                 int pid) {
  struct tm tm;
  localtime_r(&now, &tm);
  char prefix[96];
  // RFC 3164 TIMESTAMP: "Mmm dd hh:mm:ss", the day padded with a blank.
  int n = std::snprintf(prefix, sizeof prefix,
                        "<%d>%s %2d %02d:%02d:%02d fcgi-run[%d]: %s: ", facility * 8 + SyslogSeverity(level),
                        kMonths[tm.tm_mon % 12], tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, pid,
                        LogLevelName(level));
  std::string out(prefix, n > 0 ? static_cast<size_t>(n) : 0);
  if (message.size() > kMaxSyslogMessageBytes) message = message.substr(0, kMaxSyslogMessageBytes);
  out += OneLine(message);
  return out;
}

SyslogSink::SyslogSink(const std::string& socket_path, int facility) : facility_(facility) {
  fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  addr_.sun_family = AF_UNIX;
  if (!socket_path.empty() && socket_path.size() < sizeof addr_.sun_path) {
    std::memcpy(addr_.sun_path, socket_path.data(), socket_path.size());
    addr_ok_ = true;
  }
}

SyslogSink::~SyslogSink() {
  if (fd_ >= 0) ::close(fd_);
}

bool SyslogSink::SendDatagram(const std::string& datagram) {
  if (fd_ < 0 || !addr_ok_) return false;
  // MSG_DONTWAIT: a full receive queue (EAGAIN) drops the line instead of
  // stalling the reactor; a missing socket gives ENOENT/ECONNREFUSED.
  ssize_t n = ::sendto(fd_, datagram.data(), datagram.size(), MSG_DONTWAIT | MSG_NOSIGNAL,
                       reinterpret_cast<const sockaddr*>(&addr_), sizeof addr_);
  return n >= 0;
}

void SyslogSink::Send(LogLevel level, std::string_view message) {
  const time_t now = ::time(nullptr);
  const int pid = static_cast<int>(::getpid());
  if (unreported_ > 0) {
    std::string note = FormatSyslogDatagram(
        facility_, LogLevel::kWarning,
        std::to_string(unreported_) + " log lines were dropped (syslog socket missing or full)", now, pid);
    if (SendDatagram(note)) unreported_ = 0;
  }
  if (!SendDatagram(FormatSyslogDatagram(facility_, level, message, now, pid))) {
    ++dropped_;
    ++unreported_;
  }
}

}  // namespace fcgi
