// The error log's levels (syslog's severities 3-7) and their names, as
// --log-level and the config file's log-level take them. Pure.
#ifndef FCGI_RUN_CORE_LOG_LEVEL_H_
#define FCGI_RUN_CORE_LOG_LEVEL_H_

#include <string_view>

namespace fcgi {

enum class LogLevel { kDebug = 0, kInfo = 1, kNotice = 2, kWarning = 3, kError = 4 };

// "error", "warning", "notice", "info", "debug".
const char* LogLevelName(LogLevel level);
// Parses one of the names above (exactly); false otherwise.
bool ParseLogLevel(std::string_view name, LogLevel* out);

}  // namespace fcgi

#endif  // FCGI_RUN_CORE_LOG_LEVEL_H_
