// End-to-end: the launcher's own signals beyond the basic graceful stop
// (process_control_test.cc): queued requests during a graceful stop, a
// second SIGTERM, --shutdown-timeout, SIGUSR1 reopening --log. The program
// is control.cgi (tests/e2e/programs/), which records its pid.
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>
#include <catch2/catch.hpp>

#include <string>

#include "tests/e2e/process_control_util.h"
#include "tests/support/fcgi_test_client.h"

namespace fcgi::test {
namespace {

using namespace std::chrono_literals;
using pc::ControlApp;
using pc::ControlParams;
using pc::SecondsSince;
using pc::WaitFor;
using pc::WaitForPid;

void RequireCleanExit(FcgiRun& app, Seconds timeout) {
  auto status = app.process().Wait(timeout);
  INFO("launcher:\n" << app.Log());
  REQUIRE(status.has_value());
  CHECK(WIFEXITED(*status));
  CHECK(WEXITSTATUS(*status) == 0);
}

TEST_CASE("process signals: a graceful stop also serves the requests waiting in the queue",
          "[e2e][process][signals]") {
  pc::Record record;
  FcgiRun app(ControlApp(record, {"--workers", "1"}));
  FcgiTestClient a, b;
  REQUIRE(a.Connect(app.address()).ok());
  REQUIRE(b.Connect(app.address()).ok());
  REQUIRE(a.Send(RequestBytes(pc::Spec(ControlParams("sleep1-a")))).ok());
  REQUIRE(WaitForPid(record.path(), "sleep1-a") > 0);
  REQUIRE(b.Send(RequestBytes(pc::Spec(ControlParams("sleep1-b")))).ok());  // queued behind a
  std::this_thread::sleep_for(100ms);
  app.process().Signal(SIGTERM);
  FcgiResponse ra = a.ReadUntilEnd(1, 5000ms);
  FcgiResponse rb = b.ReadUntilEnd(1, 5000ms);
  INFO(ra.Describe() << "\n" << rb.Describe() << "\nlauncher:\n" << app.Log());
  CHECK(ra.ok());
  CHECK(rb.ok());
  CHECK(SplitCgiResponse(rb.stdout_data).body == "slept\n");
  RequireCleanExit(app, Seconds(5));
}

TEST_CASE("process signals: a second SIGTERM stops running programs at once", "[e2e][process][signals]") {
  pc::Record record;
  FcgiRun app(ControlApp(record, {"--kill-grace", "1"}));
  FcgiTestClient client;
  REQUIRE(client.Connect(app.address()).ok());
  REQUIRE(client.Send(RequestBytes(pc::Spec(ControlParams("hang")))).ok());
  pid_t pid = WaitForPid(record.path(), "hang");
  REQUIRE(pid > 0);
  app.process().Signal(SIGTERM);
  REQUIRE(WaitFor([&] { return app.LogContains("stopping gracefully"); }, 2000ms));
  CHECK(app.LogContains("stopping gracefully (1 request running; again to stop at once)"));
  CHECK(pc::ProcessState(pid) != 0);  // the first signal lets it run
  auto second = pc::Clock::now();
  app.process().Signal(SIGTERM);
  RequireCleanExit(app, Seconds(5));
  CHECK(SecondsSince(second) < 2.5);
  CHECK(WaitFor([&] { return pc::NotRunning(pid); }, 1000ms));
}

TEST_CASE("process signals: --shutdown-timeout ends a graceful stop that takes too long",
          "[e2e][process][signals]") {
  pc::Record record;
  FcgiRun app(ControlApp(record, {"--shutdown-timeout", "1", "--kill-grace", "1"}));
  FcgiTestClient client;
  REQUIRE(client.Connect(app.address()).ok());
  REQUIRE(client.Send(RequestBytes(pc::Spec(ControlParams("hang")))).ok());
  pid_t pid = WaitForPid(record.path(), "hang");
  REQUIRE(pid > 0);
  auto start = pc::Clock::now();
  app.process().Signal(SIGTERM);
  RequireCleanExit(app, Seconds(6));
  const double seconds = SecondsSince(start);
  CHECK(seconds >= 0.9);
  CHECK(seconds < 4.0);
  CHECK(WaitFor([&] { return pc::NotRunning(pid); }, 1000ms));
  CHECK(app.LogContains("--shutdown-timeout reached"));
}

TEST_CASE("process signals: SIGUSR1 reopens the --log file", "[e2e][process][signals]") {
  pc::Record record;
  TempDir logs("fcgi-run-logs");
  const std::string log = logs.File("fcgi-run.log");
  FcgiRun app(ControlApp(record, {"--log", log}));
  REQUIRE(WaitFor([&] { return ReadFile(log).find("listening on") != std::string::npos; }, 2000ms));
  REQUIRE(rename(log.c_str(), logs.File("fcgi-run.log.1").c_str()) == 0);
  app.process().Signal(SIGUSR1);
  CHECK(WaitFor([&] { return ReadFile(log).find("log reopened (SIGUSR1)") != std::string::npos; }, 2000ms));
  // The server still answers, and logs to the new file.
  FcgiResponse r = RequestOnce(app.address(), ControlParams("hello"));
  CHECK(r.ok());
  app.process().Signal(SIGTERM);
  RequireCleanExit(app, Seconds(5));
  CHECK(ReadFile(log).find("stopped") != std::string::npos);
  CHECK(ReadFile(logs.File("fcgi-run.log.1")).find("log reopened") == std::string::npos);
}

}  // namespace
}  // namespace fcgi::test
