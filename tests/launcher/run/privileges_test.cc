#include "launcher/run/privileges.h"

#include <errno.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <memory>
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

// A spawn that fails as execve(2) does for a file the user may not execute.
class RefusingSpawner : public Spawner {
 public:
  Status Spawn(const SpawnSpec& spec, pid_t*) override {
    seen_uid = spec.credentials.set ? static_cast<int>(spec.credentials.uid) : -1;
    return Status::FromErrno("execve(2)", spec.path, EACCES);
  }
  int seen_uid = -2;
};

// Issue 23: "execve(2) ... Permission denied" without naming the user the
// program ran as left the administrator guessing.
TEST_CASE("a program user's failed spawn names the user", "[privileges]") {
  auto inner = std::make_unique<RefusingSpawner>();
  RefusingSpawner* refusing = inner.get();
  Credentials www{"www-data:www-data", 33, 33, {33}};
  std::unique_ptr<Spawner> spawner = MakePrivilegeSpawner(std::move(inner), &www, false);
  SpawnSpec spec;
  spec.path = "/srv/private.cgi";
  pid_t pid = 0;
  Status s = spawner->Spawn(spec, &pid);
  CHECK(refusing->seen_uid == 33);
  CHECK(s.code() == Status::Code::kPermissionDenied);
  CHECK(s.message() == "execve(2) /srv/private.cgi: Permission denied (running as www-data:www-data)");
}

}  // namespace
}  // namespace fcgi
