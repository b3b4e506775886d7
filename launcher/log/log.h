// Error log: one line per event, in a fixed format:
//   "YYYY-MM-DD HH:MM:SS.mmm fcgi-run[<pid>]: <level>: <message>"
// with <level> one of error, warning, notice, info, debug (syslog's severities
// 3-7) and every control character of the message (newlines included) turned
// into a blank, so a line is always one event.
//
// Sinks: stderr by default (which Apache mod_fcgid sends to its error log), or
// the file given with --log (reopened by Reopen() on SIGUSR1 for rotation);
// with --syslog, a syslog datagram socket instead of stderr, or as well as the
// --log file when both are given (launcher/log/syslog_sink.h). --log-level (default
// info; -v = debug) drops lines below the level for every sink.
// A failed write (disk full, syslog socket missing or full) never blocks or
// stops the launcher: the line is dropped (syslog drops are counted).
// Not thread-safe by design: the launcher is single-threaded (one reactor).
#ifndef FCGI_RUN_LAUNCHER_LOG_LOG_H_
#define FCGI_RUN_LAUNCHER_LOG_LOG_H_

#include <sys/time.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "core/log_level.h"
#include "core/status.h"
#include "core/strings.h"

namespace fcgi {

// The line Write() emits, newline included (pure: time and pid are given).
std::string FormatLogLine(LogLevel level, std::string_view message, const timeval& now, int pid);

struct LogOptions {
  std::string path;                        // --log FILE; "" = stderr (or nothing with syslog)
  LogLevel min_level = LogLevel::kInfo;    // --log-level
  bool syslog = false;                     // --syslog
  std::string syslog_socket = "/dev/log";  // --syslog-socket PATH (a unix datagram socket)
  int syslog_facility = 3;                 // --syslog-facility (LOG_DAEMON >> 3)
};

class Log {
 public:
  // Replaces the sinks and the level. Fails only if the --log file cannot be
  // opened; a missing syslog socket is not an error (lines are dropped until
  // it exists).
  static Status Open(const LogOptions& options);
  // Shorthand: a file ("" = stderr), no syslog.
  static Status Open(const std::string& path, LogLevel min_level);
  // Reopens the --log file (SIGUSR1). No-op for stderr and syslog.
  static Status Reopen();
  static void SetLevel(LogLevel level);
  static bool Enabled(LogLevel level);
  static void Write(LogLevel level, std::string_view message);
  // Syslog datagrams dropped so far (socket missing, full or refusing).
  static uint64_t SyslogDropped();
  // True when lines go to stderr (no --log, no --syslog).
  static bool ToStderr();
};

inline void LogDebug(std::string_view m) {
  if (Log::Enabled(LogLevel::kDebug)) Log::Write(LogLevel::kDebug, m);
}
inline void LogInfo(std::string_view m) { Log::Write(LogLevel::kInfo, m); }
inline void LogNotice(std::string_view m) { Log::Write(LogLevel::kNotice, m); }
inline void LogWarning(std::string_view m) { Log::Write(LogLevel::kWarning, m); }
inline void LogError(std::string_view m) { Log::Write(LogLevel::kError, m); }

}  // namespace fcgi

#endif  // FCGI_RUN_LAUNCHER_LOG_LOG_H_
