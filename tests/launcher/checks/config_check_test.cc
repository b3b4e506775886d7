// --check-config (launcher/checks/config_check.h): every start-up error is found,
// all of them at once, without binding anything.
#include "launcher/checks/config_check.h"

#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <cstdlib>
#include <sstream>

#include "tests/support/temp_dir.h"

namespace fcgi {
namespace {

bool AnyContains(const std::vector<std::string>& lines, const std::string& needle) {
  for (const std::string& l : lines) {
    if (l.find(needle) != std::string::npos) return true;
  }
  return false;
}

Config Valid(const test::TempDir& dir) {
  Config c;
  c.program = dir.WriteFile("app.cgi", "#!/bin/sh\necho\n");
  chmod(c.program.c_str(), 0755);
  c.listen = {"unix:" + dir.File("app.sock"), "tcp:127.0.0.1:9000"};
  c.mode = "exec";
  c.allow_root = true;
  return c;
}

TEST_CASE("check-config: a valid configuration passes and binds nothing", "[config]") {
  test::TempDir dir;
  Config c = Valid(dir);
  c.log_file = dir.File("fcgi-run.log");
  std::ostringstream out, err;
  CHECK(RunConfigCheck(c, out, err) == 0);
  CHECK(out.str().find("configuration OK") != std::string::npos);
  CHECK(err.str().empty());
  struct stat st;
  CHECK(stat(dir.File("app.sock").c_str(), &st) != 0);
  CHECK(stat(c.log_file.c_str(), &st) != 0);  // not even the log file is created
}

TEST_CASE("check-config: every error is reported, exit 2", "[config]") {
  test::TempDir dir;
  Config c = Valid(dir);
  c.program = dir.WriteFile("not-executable.cgi", "x");
  c.listen = {"tcp:127.0.0.1", "unix:" + dir.File("missing/app.sock")};
  c.http = {"localhost"};
  c.socket_owner = "no-such-user-x:no-such-group-x";
  c.program_user = "no-such-user-y";
  c.log_file = dir.File("missing/x.log");
  ConfigCheckResult r = CheckConfig(c);
  INFO(r.errors.size());
  CHECK(AnyContains(r.errors, "not-executable.cgi"));
  CHECK(AnyContains(r.errors, "--listen tcp:127.0.0.1: "));
  CHECK(AnyContains(r.errors, "missing/app.sock"));
  CHECK(AnyContains(r.errors, "--http tcp:localhost"));
  CHECK(AnyContains(r.errors, "--socket-owner no-such-user-x:no-such-group-x: no such user: no-such-user-x"));
  CHECK(AnyContains(r.errors, "--program-user no-such-user-y"));
  CHECK(AnyContains(r.errors, "missing/x.log"));
  std::ostringstream out, err;
  CHECK(RunConfigCheck(c, out, err) == 2);
  CHECK(out.str().find("configuration OK") == std::string::npos);
  CHECK(err.str().rfind("error: ", 0) == 0);
}

TEST_CASE("check-config: dispatcher --root must be a directory; syslog socket absence is a warning",
          "[config]") {
  test::TempDir dir;
  Config c = Valid(dir);
  c.program.clear();
  c.root = {dir.File("no-root")};
  c.syslog = true;
  c.syslog_socket = dir.File("no.sock");
  ConfigCheckResult r = CheckConfig(c);
  CHECK(AnyContains(r.errors, "no-root"));
  CHECK(AnyContains(r.warnings, "no.sock"));
  c.root = {dir.path()};
  r = CheckConfig(c);
  CHECK(r.errors.empty());
}

// fcgiwrap's users serve cgit from /usr/lib/cgit beside a cgi-bin tree: --program
// only narrows what --root allows, so one outside every root could never run.
TEST_CASE("check-config: a --program outside every --root is an error, a file --root is fine", "[config]") {
  test::TempDir dir;
  dir.MakeDir("www");
  dir.MakeDir("elsewhere");
  std::string tool = dir.WriteFile("elsewhere/tool.cgi", "#!/bin/sh\n");
  chmod(tool.c_str(), 0755);
  std::string data = dir.WriteFile("elsewhere/data.txt", "x\n");
  Config c = Valid(dir);
  c.program.clear();
  c.root = {dir.File("www")};
  c.allowed_programs = {tool};
  ConfigCheckResult r = CheckConfig(c);
  CHECK(AnyContains(r.errors, "--program " + tool + ": lies outside --root " + dir.File("www")));
  CHECK(AnyContains(r.errors, "add --root " + tool));
  std::ostringstream out, err;
  CHECK(RunConfigCheck(c, out, err) == 2);
  CHECK(out.str().find("configuration OK") == std::string::npos);
  // The program as a root of its own: it may run, and --program may name it.
  c.root.push_back(tool);
  r = CheckConfig(c);
  CHECK(r.errors.empty());
  c.allowed_programs.clear();
  c.root = {dir.File("www"), data};
  CHECK(AnyContains(CheckConfig(c).errors, "--root " + data + ": a file root must be an executable program"));
}

TEST_CASE("check-config: the run-as-root rule", "[config]") {
  if (geteuid() != 0) return;  // the rule only applies to a launcher started as root
  test::TempDir dir;
  Config c = Valid(dir);
  c.allow_root = false;
  CHECK(AnyContains(CheckConfig(c).errors, "programs would run as root"));
}

}  // namespace
}  // namespace fcgi
