// Small string helpers of the pure core, shared by the core and the launcher.
// Pure.
#ifndef FCGI_RUN_CORE_STRINGS_H_
#define FCGI_RUN_CORE_STRINGS_H_

#include <string>
#include <string_view>

namespace fcgi {

// The text with every control character (newlines included) replaced by a
// blank: one log line per event, whatever the text holds.
std::string OneLine(std::string_view text);

}  // namespace fcgi

#endif  // FCGI_RUN_CORE_STRINGS_H_
