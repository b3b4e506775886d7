#include "launcher/run/privileges.h"

#include <unistd.h>

#include <catch2/catch.hpp>
#include <string>
#include <tuple>

namespace fcgi {
namespace {

Status Check(const std::string& user, const std::string& program_user, bool allow_root) {
  Config config;
  config.user = user;
  config.program_user = program_user;
  config.allow_root = allow_root;
  Credentials launcher, program;
  return CheckPrivileges(config, &launcher, &program);
}

TEST_CASE("CheckPrivileges: group root is refused as user root is, unless --allow-root", "[privileges]") {
  for (const auto& [user, program_user, option] :
       {std::tuple<std::string, std::string, std::string>{"nobody:root", "", "--user nobody:root"},
        {"nobody:0", "", "--user nobody:0"},
        {"", "nobody:root", "--program-user nobody:root"}}) {
    INFO(option);
    Status s = Check(user, program_user, false);
    CHECK(s.code() == Status::Code::kPermissionDenied);
    CHECK(s.message().find(option + ": group 0 (root)") == 0);
    CHECK(s.message().find("--allow-root") != std::string::npos);
    // With --allow-root the group is accepted (as root; otherwise the
    // switch itself needs root, which is the remaining complaint).
    Status allowed = Check(user, program_user, true);
    if (geteuid() == 0) {
      CHECK(allowed.ok());
    } else {
      CHECK(allowed.message().find("group 0") == std::string::npos);
    }
  }
  // Another group is fine.
  Status other = Check("nobody:nogroup", "", false);
  CHECK(other.message().find("group 0") == std::string::npos);
}

}  // namespace
}  // namespace fcgi
