// SyslogSink: the error log's --syslog sink. Writes RFC 3164 datagrams, the
// format glibc's syslog(3) writes to /dev/log and that rsyslog and
// systemd-journald read there:
//   "<PRI>Mmm dd hh:mm:ss fcgi-run[<pid>]: <level>: <message>"
// PRI = facility * 8 + severity (error 3, warning 4, notice 5, info 6,
// debug 7). glibc's syslog() cannot be pointed at another socket, so this
// sends to any unix datagram socket (--syslog-socket, default /dev/log).
//
// Never blocks, never fails the caller: the socket is non-blocking and not
// connected (sendto each time, so a restarted syslog daemon is picked up); a
// datagram that cannot be sent (socket missing, refusing, full) is dropped and
// counted. After drops, the next datagram that goes through is preceded by one
// warning with the number dropped.
//
// Ownership: owns its socket. Not copyable. Single-threaded.
#ifndef FCGI_RUN_LAUNCHER_LOG_SYSLOG_SINK_H_
#define FCGI_RUN_LAUNCHER_LOG_SYSLOG_SINK_H_

#include <sys/un.h>

#include <cstdint>
#include <ctime>
#include <string>
#include <string_view>

#include "core/log_level.h"

namespace fcgi {

inline constexpr size_t kMaxSyslogMessageBytes = 4096;  // longer messages are cut

// "kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp",
// "cron", "authpriv", "ftp", "local0".."local7" -> facility code (0-23).
bool ParseSyslogFacility(std::string_view name, int* code);
// error 3, warning 4, notice 5, info 6, debug 7.
int SyslogSeverity(LogLevel level);
// One datagram (pure: time and pid are given; `now` is formatted in local time).
std::string FormatSyslogDatagram(int facility, LogLevel level, std::string_view message, time_t now, int pid);

class SyslogSink {
 public:
  // REQUIRES: 0 <= facility <= 23. A path too long for sockaddr_un makes
  // every Send a drop.
  SyslogSink(const std::string& socket_path, int facility);
  ~SyslogSink();
  SyslogSink(const SyslogSink&) = delete;
  SyslogSink& operator=(const SyslogSink&) = delete;

  void Send(LogLevel level, std::string_view message);
  uint64_t dropped() const { return dropped_; }

 private:
  bool SendDatagram(const std::string& datagram);

  int fd_ = -1;
  int facility_;
  sockaddr_un addr_{};
  bool addr_ok_ = false;
  uint64_t dropped_ = 0;
  uint64_t unreported_ = 0;  // drops not yet announced
};

}  // namespace fcgi

#endif  // FCGI_RUN_LAUNCHER_LOG_SYSLOG_SINK_H_
