#include "core/log_level.h"

namespace fcgi {

const char* LogLevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return "debug";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kNotice:
      return "notice";
    case LogLevel::kWarning:
      return "warning";
    case LogLevel::kError:
      return "error";
  }
  return "?";
}

bool ParseLogLevel(std::string_view name, LogLevel* out) {
  for (LogLevel l :
       {LogLevel::kDebug, LogLevel::kInfo, LogLevel::kNotice, LogLevel::kWarning, LogLevel::kError}) {
    if (name == LogLevelName(l)) {
      *out = l;
      return true;
    }
  }
  return false;
}

}  // namespace fcgi
