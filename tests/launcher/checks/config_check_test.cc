// --check-config (launcher/checks/config_check.h): every start-up error is found,
// all of them at once, without binding anything.
#include "launcher/checks/config_check.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <cstring>
#include <sstream>

#include "launcher/front/listener.h"
#include "tests/support/net_util.h"
#include "tests/support/temp_dir.h"

namespace fcgi {
namespace {

bool AnyContains(const std::vector<std::string>& lines, const std::string& needle) {
  for (const std::string& l : lines) {
    if (l.find(needle) != std::string::npos) return true;
  }
  return false;
}

ListenAddress Address(const std::string& text) {
  ListenAddress a;
  REQUIRE(ParseListenAddress(text, &a).ok());
  return a;
}

// `c` as ParseConfig would hand it over, without errors.
ParseResult Parsed(Config c) {
  ParseResult r;
  r.outcome = ParseOutcome::kRun;
  r.config = std::move(c);
  return r;
}

Config Valid(const test::TempDir& dir) {
  Config c;
  c.program = dir.WriteFile("app.cgi", "#!/bin/sh\necho\n");
  chmod(c.program.c_str(), 0755);
  c.listen = {Address("unix:" + dir.File("app.sock")), Address("tcp:127.0.0.1:9000")};
  c.mode = RunMode::kExec;
  c.allow_root = true;
  return c;
}

TEST_CASE("check-config: a valid configuration passes and binds nothing", "[config]") {
  test::TempDir dir;
  Config c = Valid(dir);
  c.log_file = dir.File("fcgi-run.log");
  std::ostringstream out, err;
  CHECK(RunConfigCheck(Parsed(c), out, err) == 0);
  CHECK(out.str().find("configuration OK") != std::string::npos);
  CHECK(err.str().empty());
  struct stat st;
  CHECK(stat(dir.File("app.sock").c_str(), &st) != 0);
  CHECK(stat(c.log_file.c_str(), &st) != 0);  // not even the log file is created
}

TEST_CASE("check-config: every error is reported, exit 2", "[config]") {
  test::TempDir dir;
  Config c = Valid(dir);
  test::UniqueFd not_listening(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  c.program = dir.WriteFile("not-executable.cgi", "x");
  c.listen = {Address("tcp:no-such-host.invalid:9000"), Address("unix:" + dir.File("missing/app.sock")),
              Address("fd:" + std::to_string(not_listening.get()))};
  c.http = {Address("tcp:no-such-host.invalid:8080")};
  c.socket_owner = "no-such-user-x:no-such-group-x";
  c.program_user = "no-such-user-y";
  c.log_file = dir.File("missing/x.log");
  c.access_log = dir.File("missing/access.log");
  c.slow_threshold = std::chrono::seconds(1);
  c.slow_log = dir.File("missing/slow.log");
  c.parent_pipe_fd = 999;
  ConfigCheckResult r = CheckConfig(c);
  INFO(r.errors.size());
  CHECK(AnyContains(r.errors, "not-executable.cgi"));
  CHECK(AnyContains(r.errors, "--listen tcp:no-such-host.invalid:9000: getaddrinfo(3)"));
  CHECK(AnyContains(r.errors, "missing/app.sock"));
  CHECK(AnyContains(r.errors, " is not a listening socket"));
  CHECK(AnyContains(r.errors, "--http no-such-host.invalid:8080: getaddrinfo(3)"));
  CHECK(AnyContains(r.errors, "--socket-owner no-such-user-x:no-such-group-x: no such user: no-such-user-x"));
  CHECK(AnyContains(r.errors, "--program-user no-such-user-y"));
  CHECK(AnyContains(r.errors, "missing/x.log"));
  CHECK(AnyContains(r.errors, "--access-log " + dir.File("missing/access.log")));
  CHECK(AnyContains(r.errors, "--slow-log " + dir.File("missing/slow.log")));
  CHECK(AnyContains(r.errors, "fcntl(2) --parent-pipe-fd 999: Bad file descriptor"));
  std::ostringstream out, err;
  CHECK(RunConfigCheck(Parsed(c), out, err) == 2);
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
  CHECK(RunConfigCheck(Parsed(c), out, err) == 2);
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

// Issue 23: a root-owned 0700 program with --program-user www-data passed
// --check-config, then every request got 502 with an execve error that did
// not name the user.
TEST_CASE("check-config: the programs' user must be able to execute PROGRAM", "[config]") {
  if (geteuid() != 0) return;  // switching users needs root
  test::TempDir dir;
  chmod(dir.path().c_str(), 0755);  // a directory nobody may enter would be a second error
  Config c = Valid(dir);
  c.program = dir.WriteFile("private.cgi", "#!/bin/sh\necho\n");
  chmod(c.program.c_str(), 0700);
  c.program_user = "nobody";
  c.allow_root = false;
  ConfigCheckResult r = CheckConfig(c);
  INFO(r.errors.size());
  CHECK(AnyContains(r.errors,
                    "PROGRAM " + c.program + ": nobody (--program-user) may not execute it (mode 0700"));
  chmod(c.program.c_str(), 0755);
  CHECK(CheckConfig(c).errors.empty());
  // --user: the programs run as that user too.
  chmod(c.program.c_str(), 0750);
  c.program_user.clear();
  c.user = "nobody";
  CHECK(AnyContains(CheckConfig(c).errors, "nobody (--user) may not execute it (mode 0750"));
}

TEST_CASE("check-config: a unix socket path in use, or not a socket, is found before binding", "[config]") {
  test::TempDir dir;
  Config c = Valid(dir);
  const std::string file = dir.WriteFile("plain-file", "x");
  const std::string live = dir.File("live.sock");
  test::UniqueFd listener(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, live.c_str(), sizeof addr.sun_path - 1);
  REQUIRE(bind(listener.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  REQUIRE(listen(listener.get(), 1) == 0);
  c.listen = {Address("unix:" + file), Address("unix:" + live)};
  ConfigCheckResult r = CheckConfig(c);
  CHECK(AnyContains(r.errors, "path exists and is not a socket"));
  CHECK(AnyContains(r.errors, "another process is listening on it"));
}

TEST_CASE("check-config: inherited sockets", "[config]") {
  test::TempDir dir;
  Config c = Valid(dir);
  c.listen.clear();
  SECTION("systemd's descriptors must be listening sockets") {
    c.systemd_fds = 1000;  // fd 3 ... are not all listening sockets here
    CHECK(AnyContains(CheckConfig(c).errors, "systemd:fd:"));
  }
  SECTION("none at all: a warning, since the web server may hand one at start") {
    if (IsListeningSocket(0)) return;
    ConfigCheckResult r = CheckConfig(c);
    CHECK(r.errors.empty());
    CHECK(AnyContains(r.warnings, "nothing to listen on"));
  }
  SECTION("--http alone serves HTTP only: nothing inherited is looked for") {
    c.http = {Address("tcp:127.0.0.1:8080")};
    ConfigCheckResult r = CheckConfig(c);
    CHECK_FALSE(AnyContains(r.warnings, "nothing to listen on"));
  }
}

TEST_CASE("check-config: ParseConfig's warnings and errors are printed with the check's", "[config]") {
  test::TempDir dir;
  ParseResult parsed = Parsed(Valid(dir));
  parsed.warnings = {"'--timeout' after PROGRAM is passed to PROGRAM"};
  std::ostringstream out, err;
  CHECK(RunConfigCheck(parsed, out, err) == 0);
  CHECK(out.str().find("warning: '--timeout' after PROGRAM") != std::string::npos);
  // A configuration with parse errors is still checked: one run, every error.
  parsed.outcome = ParseOutcome::kExitFailure;
  parsed.errors = {"--timeout 'soon': expected seconds"};
  parsed.config.program = dir.File("missing.cgi");
  std::ostringstream out2, err2;
  CHECK(RunConfigCheck(parsed, out2, err2) == 2);
  CHECK(err2.str().find("error: --timeout 'soon'") != std::string::npos);
  CHECK(err2.str().find("missing.cgi") != std::string::npos);
  CHECK(out2.str().find("configuration OK") == std::string::npos);
}

}  // namespace
}  // namespace fcgi
