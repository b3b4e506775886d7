// The environment every run of a program starts from, before a request's
// params are added (cgi_environment.h): the --env entries, then PATH. The
// server builds it once; fcgi-run --check builds the same.
// Pure: fcgi-run's own environment comes in as a lookup function.
#ifndef FCGI_RUN_CORE_BASE_ENVIRONMENT_H_
#define FCGI_RUN_CORE_BASE_ENVIRONMENT_H_

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "core/fcgi_name_value.h"

namespace fcgi {

// PATH for programs when neither --env nor fcgi-run's own environment gives
// one, and the search path of a program environment without PATH.
inline constexpr std::string_view kDefaultPath = "/usr/local/bin:/usr/bin:/bin";

// getenv(3)'s shape: the value of NAME, or nullptr when it is not set.
using EnvLookup = std::function<const char*(const char* name)>;

// The base environment from the --env entries, in their order: "NAME=VALUE"
// as given; a bare "NAME" takes lookup(NAME), and is left out when that is not
// set. Then PATH (lookup("PATH"), else kDefaultPath), unless an entry named PATH.
NameValuePairs BaseEnvironment(const std::vector<std::string>& env_options, const EnvLookup& lookup);

// The pairs as "NAME=VALUE" entries, in order (a spawn's or RUN's environment).
std::vector<std::string> EnvEntries(const NameValuePairs& env);

// The PATH value among "NAME=VALUE" entries (the first one), kDefaultPath
// when there is none: where a program's "#!" interpreters are looked for.
std::string SearchPathOf(const std::vector<std::string>& env);

}  // namespace fcgi

#endif  // FCGI_RUN_CORE_BASE_ENVIRONMENT_H_
