// Logging: one line per event, "<time> fcgi-run[<pid>]: <level>: <message>".
// Goes to stderr by default (which Apache mod_fcgid sends to its error log) or to
// the file given with --log; Reopen() is called on SIGUSR1 for log rotation.
// Not thread-safe by design: the launcher is single-threaded (one reactor).
#ifndef FCGI_RUN_LOG_H_
#define FCGI_RUN_LOG_H_

#include <string>
#include <string_view>

#include "launcher/core/status.h"

namespace fcgi {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarning = 2, kError = 3 };

class Log {
 public:
  // Sets where lines go ("" = stderr) and the lowest level written.
  static Status Open(const std::string& path, LogLevel min_level);
  static Status Reopen();
  static void SetLevel(LogLevel level);
  static bool Enabled(LogLevel level);
  static void Write(LogLevel level, std::string_view message);
};

inline void LogDebug(std::string_view m) { if (Log::Enabled(LogLevel::kDebug)) Log::Write(LogLevel::kDebug, m); }
inline void LogInfo(std::string_view m) { Log::Write(LogLevel::kInfo, m); }
inline void LogWarning(std::string_view m) { Log::Write(LogLevel::kWarning, m); }
inline void LogError(std::string_view m) { Log::Write(LogLevel::kError, m); }

}  // namespace fcgi

#endif  // FCGI_RUN_LOG_H_
