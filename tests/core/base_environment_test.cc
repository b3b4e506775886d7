#include "core/base_environment.h"

#include <catch2/catch.hpp>
#include <map>

namespace fcgi {
namespace {

EnvLookup From(const std::map<std::string, std::string>& own) {
  return [own](const char* name) -> const char* {
    auto it = own.find(name);
    return it == own.end() ? nullptr : it->second.c_str();
  };
}

TEST_CASE("BaseEnvironment: --env entries in order, then our PATH", "[base_environment]") {
  const auto lookup = From({{"PATH", "/opt/bin:/bin"}, {"TZ", "UTC"}});
  CHECK(BaseEnvironment({"A=1", "TZ", "UNSET", "B=x=y"}, lookup) ==
        NameValuePairs{{"A", "1"}, {"TZ", "UTC"}, {"B", "x=y"}, {"PATH", "/opt/bin:/bin"}});
}

TEST_CASE("BaseEnvironment: PATH from --env is not added again", "[base_environment]") {
  const auto lookup = From({{"PATH", "/opt/bin"}});
  CHECK(BaseEnvironment({"PATH=/x"}, lookup) == NameValuePairs{{"PATH", "/x"}});
  CHECK(BaseEnvironment({"PATH"}, lookup) == NameValuePairs{{"PATH", "/opt/bin"}});
  // Named but unset in ours: no PATH at all (as the program would get from env -i).
  CHECK(BaseEnvironment({"PATH"}, From({})).empty());
  CHECK(BaseEnvironment({"PATHX=1"}, From({})) ==
        NameValuePairs{{"PATHX", "1"}, {"PATH", std::string(kDefaultPath)}});
}

TEST_CASE("BaseEnvironment: the default PATH when we have none", "[base_environment]") {
  CHECK(BaseEnvironment({}, From({})) == NameValuePairs{{"PATH", std::string(kDefaultPath)}});
}

TEST_CASE("EnvEntries and SearchPathOf", "[base_environment]") {
  CHECK(EnvEntries({{"A", "1"}, {"PATH", "/bin"}}) == std::vector<std::string>{"A=1", "PATH=/bin"});
  CHECK(SearchPathOf({"A=1", "PATH=/x:/y", "PATH=/z"}) == "/x:/y");
  CHECK(SearchPathOf({"MYPATH=/x"}) == kDefaultPath);
  CHECK(SearchPathOf({}) == kDefaultPath);
}

}  // namespace
}  // namespace fcgi
