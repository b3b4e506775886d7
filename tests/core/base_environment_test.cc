#include "core/base_environment.h"

#include <catch2/catch.hpp>

namespace fcgi {
namespace {

TEST_CASE("EnvEntries and SearchPathOf", "[base_environment]") {
  CHECK(EnvEntries({{"A", "1"}, {"PATH", "/bin"}}) == std::vector<std::string>{"A=1", "PATH=/bin"});
  CHECK(SearchPathOf({"A=1", "PATH=/x:/y", "PATH=/z"}) == "/x:/y");
  CHECK(SearchPathOf({"MYPATH=/x"}) == kDefaultPath);
  CHECK(SearchPathOf({}) == kDefaultPath);
}

}  // namespace
}  // namespace fcgi
