#include "launcher/log/log.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <ctime>
#include <memory>

#include "launcher/log/syslog_sink.h"

namespace fcgi {

namespace {

struct LogState {
  int fd = STDERR_FILENO;  // -1: no stream sink (--syslog without --log)
  std::string path;
  LogLevel min = LogLevel::kInfo;
  std::unique_ptr<SyslogSink> syslog;
};

LogState& State() {
  static LogState* state = new LogState;  // never destroyed: usable until exit
  return *state;
}

void CloseFile(LogState& s) {
  if (s.fd > STDERR_FILENO) ::close(s.fd);
}

}  // namespace

std::string FormatLogLine(LogLevel level, std::string_view message, const timeval& now, int pid) {
  struct tm tm;
  localtime_r(&now.tv_sec, &tm);
  char prefix[96];
  int n = std::snprintf(prefix, sizeof prefix,
                        "%04d-%02d-%02d %02d:%02d:%02d.%03d fcgi-run[%d]: %s: ", tm.tm_year + 1900,
                        tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                        static_cast<int>(now.tv_usec / 1000), pid, LogLevelName(level));
  std::string line(prefix, n > 0 ? static_cast<size_t>(n) : 0);
  line += OneLine(message);
  line += '\n';
  return line;
}

Status Log::Open(const LogOptions& options) {
  LogState& s = State();
  CloseFile(s);
  s.fd = (options.syslog && options.path.empty()) ? -1 : STDERR_FILENO;
  s.path = options.path;
  s.min = options.min_level;
  s.syslog.reset();
  if (options.syslog) s.syslog = std::make_unique<SyslogSink>(options.syslog_socket, options.syslog_facility);
  return Reopen();
}

Status Log::Open(const std::string& path, LogLevel min_level) {
  LogOptions options;
  options.path = path;
  options.min_level = min_level;
  return Open(options);
}

Status Log::Reopen() {
  LogState& s = State();
  if (s.path.empty()) return Status::Ok();
  int fd = ::open(s.path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
  if (fd < 0) return Status::FromErrno("open(2)", s.path, errno);
  CloseFile(s);
  s.fd = fd;
  return Status::Ok();
}

void Log::SetLevel(LogLevel level) { State().min = level; }
bool Log::Enabled(LogLevel level) { return level >= State().min; }

uint64_t Log::SyslogDropped() {
  const LogState& s = State();
  return s.syslog ? s.syslog->dropped() : 0;
}

bool Log::ToStderr() {
  const LogState& s = State();
  return s.fd == STDERR_FILENO;
}

void Log::Write(LogLevel level, std::string_view message) {
  LogState& s = State();
  if (level < s.min) return;
  if (s.fd >= 0) {
    timeval tv;
    gettimeofday(&tv, nullptr);
    std::string line = FormatLogLine(level, message, tv, static_cast<int>(getpid()));
    // A failed log write (disk full) must never stop the launcher: drop the line.
    ssize_t w = ::write(s.fd, line.data(), line.size());
    (void)w;
  }
  if (s.syslog) s.syslog->Send(level, message);
}

}  // namespace fcgi
