// End-to-end: how fcgi-run behaves when a parent spawns it, without a web
// server: no --listen and fd 0 not a listening socket is a clear start-up
// error; a pipe on fd 5 (h2o's fastcgi.spawn convention) or the one named by
// --parent-pipe-fd stops fcgi-run gracefully when its writer goes away.
// Tagged [spawned][once]: mode-independent, run once (--mode exec given).
#include <sys/wait.h>
#include <catch2/catch.hpp>

#include <string>

#include "tests/e2e/spawned_util.h"
#include "tests/support/fcgi_run_server.h"
#include "tests/support/net_util.h"

namespace fcgi::test {
namespace {

using namespace spawned;
using namespace std::chrono_literals;

std::vector<std::string> HelloParams() {
  return {"SCRIPT_FILENAME=" + Example("hello.cgi"),
          "SCRIPT_NAME=/hello",
          "REQUEST_METHOD=GET",
          "QUERY_STRING=",
          "GATEWAY_INTERFACE=CGI/1.1",
          "SERVER_PROTOCOL=HTTP/1.1"};
}

TEST_CASE("spawned: no --listen and fd 0 not a listening socket is a clear start-up error",
          "[e2e][spawned][once][listen]") {
  const std::string stdin_kind = GENERATE(as<std::string>(), "/dev/null", "pipe");
  std::vector<std::string> argv = {FcgiRunBinary(), "--mode", "exec", "--allow-root", Example("hello.cgi")};
  CommandResult r = stdin_kind == "pipe" ? RunCommand(argv, "", Seconds(10))
                                         : RunCommand(argv, "", Seconds(10), MinimalEnv(), "/dev/null");
  INFO("stdin " << stdin_kind << ": " << DescribeWaitStatus(r.status) << "\n" << r.err);
  CHECK(!r.timed_out);
  CHECK(r.ExitCode() == 1);
  CHECK(r.err.find("nothing to listen on: give --listen") != std::string::npos);
  CHECK(r.err.find("listening socket on fd 0") != std::string::npos);
}

// sh -c: fd 0 is the listening socket the test made; fcgi-run gets it back on
// fd 0 and the read end of `sleep 2 |` on fd 5, as kill-on-close hands them.
TEST_CASE("spawned: fd 0 socket and a pipe on fd 5: fcgi-run stops gracefully when the pipe closes",
          "[e2e][spawned][once][parent-pipe]") {
  TempDir dir("fcgi-run-parent-pipe");
  std::string socket_path = dir.File("fcgi.sock");
  UniqueFd listener = ListenUnix(socket_path);
  ProcessOptions p;
  p.argv = {"/bin/sh", "-c",
            "exec 3<&0; sleep 2 | exec " + FcgiRunBinary() + " --mode exec --allow-root " +
                Example("hello.cgi") + " 5<&0 0<&3 3<&-"};
  p.env = MinimalEnv();
  p.stdin_fd = listener.get();
  p.stderr_path = dir.File("fcgi-run.log");
  Process sh(p);
  listener.Reset();
  CommandResult r = CgiFcgi("unix:" + socket_path, HelloParams());
  INFO(r.out << r.err << "\n--- launcher:\n" << ReadFile(dir.File("fcgi-run.log")));
  CHECK(ParseCgiOutput(r.out).body == "Hello, world!\n");
  auto status = sh.Wait(Seconds(10));  // sleep 2 exits, the pipe reaches EOF
  REQUIRE(status.has_value());
  CHECK(WIFEXITED(*status));
  CHECK(WEXITSTATUS(*status) == 0);
  std::string log = ReadFile(dir.File("fcgi-run.log"));
  CHECK(log.find("watching fd 5 from the parent") != std::string::npos);
  CHECK(log.find("parent pipe fd 5 closed: stopping gracefully") != std::string::npos);
  CHECK(log.find(": stopped\n") != std::string::npos);
}

TEST_CASE("spawned: --parent-pipe-fd N with --listen, and a bad N", "[e2e][spawned][once][parent-pipe]") {
  TempDir dir("fcgi-run-parent-pipe");
  std::string address = "unix:" + dir.File("fcgi.sock");
  SECTION("the pipe named by --parent-pipe-fd 7 closes: fcgi-run stops") {
    CommandResult r = RunCommand(
        {"/bin/sh", "-c",
         "sleep 1 | exec " + FcgiRunBinary() + " --listen " + address +
             " --parent-pipe-fd 7 --mode exec --allow-root " + Example("hello.cgi") + " 7<&0 0</dev/null"},
        "", Seconds(10));
    INFO(DescribeWaitStatus(r.status) << "\n" << r.err);
    CHECK(r.Succeeded());
    CHECK(r.err.find("watching fd 7 from the parent (--parent-pipe-fd)") != std::string::npos);
    CHECK(r.err.find("parent pipe fd 7 closed: stopping gracefully") != std::string::npos);
  }
  SECTION("fd 9 is not open: start-up error naming it") {
    CommandResult r = RunCommand({FcgiRunBinary(), "--listen", address, "--parent-pipe-fd", "9", "--mode",
                                  "exec", "--allow-root", Example("hello.cgi")},
                                 "", Seconds(10));
    INFO(DescribeWaitStatus(r.status) << "\n" << r.err);
    CHECK(r.ExitCode() == 1);
    CHECK(r.err.find("--parent-pipe-fd 9: Bad file descriptor") != std::string::npos);
  }
  SECTION("a malformed value") {
    CommandResult r = RunCommand({FcgiRunBinary(), "--listen", address, "--parent-pipe-fd", "five", "--mode",
                                  "exec", "--allow-root", Example("hello.cgi")},
                                 "", Seconds(10));
    CHECK(r.ExitCode() == 2);  // a command-line error, as every malformed option value
    CHECK(r.err.find("--parent-pipe-fd five: expected auto, none or a descriptor number") !=
          std::string::npos);
  }
}

}  // namespace
}  // namespace fcgi::test
