// End-to-end: how fcgi-run stops programs. --timeout and --kill-grace, the
// client leaving (nginx closing the connection), FCGI_ABORT_REQUEST, signals
// to the launcher (graceful stop, SIGKILL + PR_SET_PDEATHSIG), and a queued
// request starting when a worker slot frees. The program is control.cgi
// (tests/e2e/programs/), which records its pid so the tests can check that it
// is really gone. Overload (queue full -> 503 OVERLOADED) is covered by
// raw_protocol_test.cc.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
#include <catch2/catch.hpp>

#include <string>
#include <thread>

#include "tests/e2e/process_control_util.h"
#include "tests/support/fcgi_test_client.h"
#include "tests/support/http_client.h"
#include "tests/support/net_util.h"
#include "tests/support/web_servers.h"

namespace fcgi::test {
namespace {

using namespace std::chrono_literals;
using pc::ControlApp;
using pc::ControlParams;
using pc::SecondsSince;
using pc::WaitFor;
using pc::WaitForPid;

// nginx in front of a FcgiRun serving control.cgi.
NginxOptions NginxFor(const FcgiRun& app, bool buffering = true) {
  NginxOptions n;
  n.fcgi_address = app.address();
  n.script_filename = app.program();
  n.buffering = buffering;
  return n;
}

TEST_CASE("process control: a hanging program is killed at --timeout with a 504, the next request works",
          "[e2e][process]") {
  pc::Record record;
  FcgiRun app(ControlApp(record, {"--timeout", "1", "--kill-grace", "1"}, "unix"));
  Nginx nginx(NginxFor(app));
  auto start = pc::Clock::now();
  HttpResponse r = CurlGet(nginx.Url("/control.cgi?hang"), 15);
  double seconds = SecondsSince(start);
  INFO(r.error << r.body << "\nlauncher:\n" << app.Log() << "\nnginx:\n" << nginx.ErrorLog());
  REQUIRE(r.ok);
  CHECK(r.status == 504);
  CHECK(r.body.find("did not finish in time") != std::string::npos);
  CHECK(seconds >= 0.9);
  CHECK(seconds < 3.0);
  pid_t pid = pc::RecordedPid(record.path(), "hang");
  REQUIRE(pid > 0);
  CHECK(WaitFor([&] { return pc::PidAndGroupGone(pid); }, 2000ms));
  // The log line names the program, the method and URI, and the elapsed time.
  CHECK(app.LogContains("GET /control.cgi?hang (control.cgi): still running after 1 s (--timeout)"));
  HttpResponse next = CurlGet(nginx.Url("/control.cgi?hello"), 10);
  CHECK(next.status == 200);
  CHECK(next.body == "hello from control.cgi\n");
}

TEST_CASE("process control: a program ignoring SIGTERM is SIGKILLed after --kill-grace", "[e2e][process]") {
  pc::Record record;
  FcgiRun app(ControlApp(record, {"--timeout", "1", "--kill-grace", "1"}));
  FcgiTestClient client;
  REQUIRE(client.Connect(app.address()).ok());
  auto start = pc::Clock::now();
  REQUIRE(client.Send(RequestBytes(pc::Spec(ControlParams("ignore-term")))).ok());
  pid_t pid = WaitForPid(record.path(), "ignore-term");
  REQUIRE(pid > 0);
  // Between SIGTERM (at 1 s) and SIGKILL (at 2 s) the program still runs.
  std::this_thread::sleep_until(start + 1500ms);
  CHECK(pc::ProcessState(pid) != 0);
  CHECK(pc::ProcessState(pid) != 'Z');
  FcgiResponse r = client.ReadUntilEnd(1, 10000ms);
  double seconds = SecondsSince(start);
  INFO(r.Describe() << "\nlauncher:\n" << app.Log());
  REQUIRE(r.ended);
  CHECK(r.app_status == 128 + SIGKILL);
  CHECK(SplitCgiResponse(r.stdout_data).status == 504);
  CHECK(seconds >= 1.9);
  CHECK(seconds < 4.0);
  CHECK(WaitFor([&] { return pc::PidAndGroupGone(pid); }, 1000ms));
  CHECK(app.LogContains("ignored SIGTERM for --kill-grace; sending SIGKILL"));
}

TEST_CASE("process control: a timeout after the header cuts the response without a 504",
          "[e2e][process][raw]") {
  pc::Record record;
  FcgiRun app(ControlApp(record, {"--timeout", "1", "--kill-grace", "1"}));
  auto start = pc::Clock::now();
  FcgiResponse r = RequestOnce(app.address(), ControlParams("stream"), "", 5000ms);
  double seconds = SecondsSince(start);
  INFO(r.Describe() << "\nlauncher:\n" << app.Log());
  REQUIRE(r.ended);
  CHECK(r.app_status == 128 + SIGTERM);
  CgiResponse cgi = SplitCgiResponse(r.stdout_data);
  CHECK(cgi.status == 200);  // the program's own header, already sent
  CHECK(cgi.body.rfind("line 0\n", 0) == 0);
  CHECK(cgi.body.find("did not finish in time") == std::string::npos);
  CHECK(seconds < 3.0);
  pid_t pid = pc::RecordedPid(record.path(), "stream");
  REQUIRE(pid > 0);
  CHECK(WaitFor([&] { return pc::PidAndGroupGone(pid); }, 1000ms));
}

TEST_CASE("process control: a client leaving nginx during a streaming response stops the program",
          "[e2e][process][nginx]") {
  const bool buffering = GENERATE(true, false);
  pc::Record record;
  FcgiRun app(ControlApp(record));
  Nginx nginx(NginxFor(app, buffering));
  // curl gives up after 1 s; the program would stream for a minute.
  HttpResponse r = Curl({.url = nginx.Url("/control.cgi?stream"), .max_time = 1});
  auto left = pc::Clock::now();
  CHECK_FALSE(r.ok);  // curl timed out mid-body
  pid_t pid = pc::RecordedPid(record.path(), "stream");
  INFO("buffering=" << buffering << " pid " << pid << "\nlauncher:\n"
                    << app.Log() << "\nnginx:\n"
                    << nginx.ErrorLog());
  REQUIRE(pid > 0);
  CHECK(WaitFor([&] { return pc::PidAndGroupGone(pid); }, 1000ms));
  INFO("gone after " << SecondsSince(left) << " s");
  CHECK(WaitFor([&] { return app.LogContains("aborted"); }, 1000ms));
}

TEST_CASE("process control: FCGI_ABORT_REQUEST stops one program, its neighbour on the connection goes on",
          "[e2e][process][raw][mpx]") {
  const std::string when = GENERATE(as<std::string>(), "during stdin", "during output");
  pc::Record record;
  FcgiRun app(ControlApp(record));
  FcgiTestClient client;
  REQUIRE(client.Connect(app.address()).ok());
  const std::string first_query = when == "during stdin" ? "read-stdin-1" : "stream-1";
  std::string bytes = BeginRequestBytes(1, Role::kResponder, true);
  if (when == "during stdin") {
    bytes += ParamsBytes(1, ControlParams(first_query, 100000)) + EmptyParamsBytes(1);
    bytes += StdinBytes(1, std::string(1000, 'a'));  // 99000 bytes never come
  } else {
    bytes += ParamsBytes(1, ControlParams(first_query)) + EmptyParamsBytes(1) + EmptyStdinBytes(1);
  }
  // Request 2, multiplexed: its body is completed only after request 1's abort.
  const std::string body2(5000, 'b');
  bytes += BeginRequestBytes(2, Role::kResponder, true);
  bytes += ParamsBytes(2, ControlParams("read-stdin-2", body2.size())) + EmptyParamsBytes(2);
  bytes += StdinBytes(2, std::string_view(body2).substr(0, 2000));
  REQUIRE(client.Send(bytes).ok());
  pid_t pid1 = WaitForPid(record.path(), first_query);
  pid_t pid2 = WaitForPid(record.path(), "read-stdin-2");
  REQUIRE(pid1 > 0);
  REQUIRE(pid2 > 0);
  if (when == "during output") {
    // Wait until request 1's output is flowing.
    FcgiResponse partial = client.ReadUntilEnd(1, 1000ms);
    REQUIRE_FALSE(partial.ended);
    REQUIRE(partial.stdout_data.find("line 0") != std::string::npos);
  }
  auto abort_sent = pc::Clock::now();
  REQUIRE(client.Send(AbortRequestBytes(1)).ok());
  FcgiResponse r1 = client.ReadUntilEnd(1, 5000ms);
  INFO("request 1: " << r1.Describe() << "\nlauncher:\n" << app.Log());
  REQUIRE(r1.ended);
  CHECK(r1.protocol_status == static_cast<uint8_t>(ProtocolStatus::kRequestComplete));
  bool gone = WaitFor([&] { return pc::PidAndGroupGone(pid1); }, 1000ms);
  INFO("pid " << pid1 << " state " << pc::ProcessState(pid1)
              << ", group: " << pc::DescribeProcesses(pc::GroupMembers(pid1)));
  CHECK(gone);
  CHECK(SecondsSince(abort_sent) < 1.5);
  // Request 2 was untouched: it still runs, and completes once its body is in.
  CHECK(pc::ProcessState(pid2) != 0);
  REQUIRE(client.Send(StdinBytes(2, std::string_view(body2).substr(2000)) + EmptyStdinBytes(2)).ok());
  FcgiResponse r2 = client.ReadUntilEnd(2, 5000ms);
  INFO("request 2: " << r2.Describe());
  REQUIRE(r2.ok());
  CHECK(SplitCgiResponse(r2.stdout_data).body == "read 5000\n");
  // Nothing more arrives for request 1 (the client flags records after END_REQUEST).
  CHECK(client.ReadFor(200ms));
  CHECK(client.protocol_errors().empty());
}

TEST_CASE("process control: SIGTERM to the launcher lets running requests finish, then exit 0",
          "[e2e][process][signals]") {
  pc::Record record;
  FcgiRun app(ControlApp(record, {"--workers", "4"}));
  const std::string socket_path = UnixPath(app.address());
  FcgiTestClient a, b;
  REQUIRE(a.Connect(app.address()).ok());
  REQUIRE(b.Connect(app.address()).ok());
  REQUIRE(a.Send(RequestBytes(pc::Spec(ControlParams("sleep1-a")))).ok());
  REQUIRE(b.Send(RequestBytes(pc::Spec(ControlParams("sleep1-b")))).ok());
  REQUIRE(WaitForPid(record.path(), "sleep1-a") > 0);
  REQUIRE(WaitForPid(record.path(), "sleep1-b") > 0);
  app.process().Signal(SIGTERM);
  // New connections are refused at once: the socket file is gone.
  CHECK(WaitFor([&] { return access(socket_path.c_str(), F_OK) != 0; }, 500ms));
  std::string error;
  CHECK_FALSE(ConnectTo(app.address(), &error).valid());
  FcgiResponse ra = a.ReadUntilEnd(1, 5000ms);
  FcgiResponse rb = b.ReadUntilEnd(1, 5000ms);
  INFO(ra.Describe() << "\n" << rb.Describe() << "\nlauncher:\n" << app.Log());
  CHECK(ra.ok());
  CHECK(rb.ok());
  CHECK(SplitCgiResponse(ra.stdout_data).body == "slept\n");
  CHECK(SplitCgiResponse(rb.stdout_data).body == "slept\n");
  auto status = app.process().Wait(Seconds(5));
  REQUIRE(status.has_value());
  CHECK(WIFEXITED(*status));
  CHECK(WEXITSTATUS(*status) == 0);
  CHECK(access(socket_path.c_str(), F_OK) != 0);
}

TEST_CASE("process control: SIGKILL to the launcher leaves no program running (PDEATHSIG)",
          "[e2e][process][signals]") {
  pc::Record record;
  FcgiRun app(ControlApp(record, {"--workers", "4"}));
  FcgiTestClient a, b, c;
  REQUIRE(a.Connect(app.address()).ok());
  REQUIRE(b.Connect(app.address()).ok());
  REQUIRE(c.Connect(app.address()).ok());
  REQUIRE(a.Send(RequestBytes(pc::Spec(ControlParams("hang")))).ok());
  REQUIRE(b.Send(RequestBytes(pc::Spec(ControlParams("ignore-term")))).ok());
  REQUIRE(c.Send(RequestBytes(pc::Spec(ControlParams("stream")))).ok());
  std::vector<pid_t> pids = {WaitForPid(record.path(), "hang"), WaitForPid(record.path(), "ignore-term"),
                             WaitForPid(record.path(), "stream")};
  for (pid_t pid : pids) REQUIRE(pid > 0);
  app.process().Signal(SIGKILL);
  REQUIRE(app.process().Wait(Seconds(5)).has_value());
  for (pid_t pid : pids) {
    INFO("pid " << pid << " state " << pc::ProcessState(pid));
    CHECK(WaitFor([&] { return pc::NotRunning(pid); }, 2000ms));
  }
}

TEST_CASE("process control: with --workers 2 busy, a third request waits and runs when a slot frees",
          "[e2e][process][queue]") {
  pc::Record record;
  FcgiRun app(ControlApp(record, {"--workers", "2"}));
  FcgiTestClient a, b, c;
  REQUIRE(a.Connect(app.address()).ok());
  REQUIRE(b.Connect(app.address()).ok());
  REQUIRE(c.Connect(app.address()).ok());
  REQUIRE(a.Send(RequestBytes(pc::Spec(ControlParams("hang-a")))).ok());
  REQUIRE(b.Send(RequestBytes(pc::Spec(ControlParams("hang-b")))).ok());
  REQUIRE(WaitForPid(record.path(), "hang-a") > 0);
  REQUIRE(WaitForPid(record.path(), "hang-b") > 0);
  REQUIRE(c.Send(RequestBytes(pc::Spec(ControlParams("hello-c")))).ok());
  // Queued, not refused: nothing comes back and the program does not start.
  FcgiResponse waiting = c.ReadUntilEnd(1, 700ms);
  INFO(waiting.Describe() << "\nlauncher:\n" << app.Log());
  CHECK_FALSE(waiting.ended);
  CHECK(waiting.stdout_data.empty());
  CHECK(pc::RecordedPid(record.path(), "hello-c") == 0);
  // A slot frees (request a is aborted): request c runs and completes.
  auto freed = pc::Clock::now();
  REQUIRE(a.Send(AbortRequestBytes(1)).ok());
  FcgiResponse rc = c.ReadUntilEnd(1, 5000ms);
  INFO(rc.Describe());
  REQUIRE(rc.ok());
  CHECK(SplitCgiResponse(rc.stdout_data).body == "hello from control.cgi\n");
  CHECK(SecondsSince(freed) < 2.0);
  CHECK(a.ReadUntilEnd(1, 5000ms).ended);
}

}  // namespace
}  // namespace fcgi::test
