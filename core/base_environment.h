// The programs' base environment as spawns and RUN messages carry it, and
// the PATH that goes with it: the default PATH (one constant), the pairs as
// "NAME=VALUE" entries, and the PATH a program's "#!" interpreters are
// looked for in. The base environment itself (--env, then PATH) is made once
// with the options (launcher/config/options.h, Config::env). Pure.
#ifndef FCGI_RUN_CORE_BASE_ENVIRONMENT_H_
#define FCGI_RUN_CORE_BASE_ENVIRONMENT_H_

#include <string>
#include <string_view>
#include <vector>

#include "core/fcgi_name_value.h"

namespace fcgi {

// PATH for programs when neither --env nor fcgi-run's own environment gives
// one, and the search path of a program environment without PATH.
inline constexpr const char* kDefaultPath = "/usr/local/bin:/usr/bin:/bin";

// The pairs as "NAME=VALUE" entries, in order (a spawn's or RUN's environment).
std::vector<std::string> EnvEntries(const NameValuePairs& env);

// The PATH value among "NAME=VALUE" entries (the first one), kDefaultPath
// when there is none: where a program's "#!" interpreters are looked for.
std::string SearchPathOf(const std::vector<std::string>& env);

}  // namespace fcgi

#endif  // FCGI_RUN_CORE_BASE_ENVIRONMENT_H_
