// End-to-end: what --direct (README "Direct mode") refuses at start-up, and
// its fallbacks when the program cannot run in persistent mode (found before
// start: a script; or at start: the shim refuses it). Direct mode's
// serving is tests/e2e/direct_test.cc's. Tagged [persistent]: runs once, in
// the "e2e-persistent: " variant.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "tests/support/fcgi_run_server.h"
#include "tests/support/fcgi_test_client.h"
#include "tests/support/process.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_paths.h"

namespace fcgi::test {
namespace {

const std::string kSeesNoRequest =
    ": in direct mode the workers answer the web server themselves and the launcher sees no request";

TEST_CASE("direct: a conflicting option is a start-up error, exit 2, naming it",
          "[e2e][direct][persistent]") {
  TempDir dir("fcgi-run-direct");
  const std::string sock = "unix:" + dir.File("app.sock");
  struct Case {
    std::vector<std::string> args;
    std::string named;
  };
  const std::vector<Case> cases = {
      {{"--mode", "persistent", "--direct", "--http", "127.0.0.1:1", "-l", sock, Example("hello")}, "--http"},
      {{"--direct", "-l", sock, Example("hello")}, "--mode fork"},
      {{"--mode", "persistent", "--direct", "--status-path", "/st", "-l", sock, Example("hello")},
       "--status-path"},
      // --check-config reports it the same way.
      {{"--check-config", "--mode", "persistent", "--direct", "--access-log", "-", "-l", sock,
        Example("hello")},
       "--access-log"},
  };
  for (const Case& c : cases) {
    std::vector<std::string> argv{FcgiRunBinary()};
    argv.insert(argv.end(), c.args.begin(), c.args.end());
    CommandResult r = RunCommand(argv, "", Seconds(20));
    INFO(c.named << ": " << r.out << r.err);
    CHECK(r.ExitCode() == 2);
    CHECK(r.err.find("--direct cannot be combined with " + c.named + kSeesNoRequest) != std::string::npos);
    CHECK(r.out.find("configuration OK") == std::string::npos);
  }
}

TEST_CASE("direct: a script is served through the launcher, with one log line", "[e2e][direct][persistent]") {
  FcgiRunOptions o;
  o.program = Example("exit3.cgi");  // #!/bin/sh: persistent mode falls back to fork mode
  o.pass_mode = false;
  o.workers = 1;
  o.flags = {"--mode", "persistent", "--direct"};
  FcgiRun app(o);
  FcgiResponse r = RequestOnce(
      app.address(),
      {{"SCRIPT_FILENAME", app.program()}, {"REQUEST_METHOD", "GET"}, {"GATEWAY_INTERFACE", "CGI/1.1"}});
  INFO(app.Log());
  CHECK(r.ok());
  CHECK(r.app_status == 3);  // the launcher's END_REQUEST: the script's exit status
  CHECK(app.LogContains("exit3.cgi is not served in persistent mode; requests go through the launcher"));
  CHECK(app.LogContains("serving it in fork mode"));
}

TEST_CASE("direct: a program the shim refuses (threads at main) falls back to the launcher",
          "[e2e][direct][persistent]") {
  FcgiRunOptions o;
  o.program = std::string(FCGI_RUN_BUILD_DIR) + "/tests/e2e/fork_programs/thread_ctor.cgi";
  o.pass_mode = false;
  o.workers = 2;
  o.flags = {"--mode", "persistent", "--direct"};
  FcgiRun app(o);
  // The refusal comes after HELLO would have: the log line says the fallback.
  REQUIRE(
      app.LogContains("thread_ctor.cgi is not served in persistent mode; requests go through the launcher"));
  CHECK(app.LogContains("threads at main()"));
  FcgiResponse r = RequestOnce(
      app.address(),
      {{"SCRIPT_FILENAME", app.program()}, {"REQUEST_METHOD", "GET"}, {"GATEWAY_INTERFACE", "CGI/1.1"}});
  INFO(app.Log());
  CHECK(r.ok());
  CHECK(r.stdout_data.find("threads=") != std::string::npos);  // exec mode ran it
}

}  // namespace
}  // namespace fcgi::test
