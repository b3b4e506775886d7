// CgiRequest driven through a fake ProgramRunner (tests/launcher/run/
// fake_program_runner.h) and a recording RequestSink: the request's life
// with a program that crashes, hangs, is abandoned, writes faster than the
// client reads, answers garbage or exits with a status, and no process.
#include "launcher/request/cgi_request.h"

#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include <boost/asio/steady_timer.hpp>
#include <catch2/catch.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "core/wait_status.h"
#include "tests/launcher/request/fake_server_context.h"

namespace fcgi::test {
namespace {

using namespace std::chrono_literals;  // NOLINT

// The web server's side of one request: what the request sent it.
class RecordingSink : public RequestSink {
 public:
  void SendStdout(uint16_t, std::string_view data) override { out.append(data); }
  void SendStderr(uint16_t, std::string_view data) override { err.append(data); }
  void FinishRequest(uint16_t, uint32_t app, ProtocolStatus status) override {
    ++finishes;
    app_status = app;
    protocol_status = status;
    request.reset();  // as a connection drops it
  }
  size_t OutputBacklog() const override { return backlog; }
  void WaitForOutputSpace(uint16_t) override { ++space_waits; }
  void StdinDrained() override {}

  std::shared_ptr<CgiRequest> request;  // held until FinishRequest, as a connection does
  std::string out, err;
  int finishes = 0;
  uint32_t app_status = 0;
  ProtocolStatus protocol_status = ProtocolStatus::kRequestComplete;
  size_t backlog = 0;  // what OutputBacklog reports
  int space_waits = 0;
};

struct Harness : FakeServerContext {
  Harness() { config.stderr_mode = StderrMode::kFcgi; }
  // Whatever a test left running ends here, while the context it uses lives.
  ~Harness() {
    KillRuns();
    if (auto r = request.lock()) r->Abort("test over");
    Drain();
    sink->request.reset();
  }

  // PARAMS complete, then the empty STDIN of a request without a body.
  void Start(NameValuePairs params = GetParams(), bool end_stdin = true) {
    auto r = std::make_shared<CgiRequest>(ctx, sink, 1, Role::kResponder);
    sink->request = r;
    request = r;
    r->Start(std::move(params));
    if (end_stdin && !request.expired()) r->OnStdinEnd();
  }
  bool Finished() const { return sink->finishes > 0; }

  std::shared_ptr<RecordingSink> sink = std::make_shared<RecordingSink>();
  std::weak_ptr<CgiRequest> request;
};

bool Contains(const std::string& s, std::string_view part) { return s.find(part) != std::string::npos; }

TEST_CASE("CgiRequest: the program's response and exit status reach the web server", "[cgi_request]") {
  Harness h;
  h.Start();
  REQUIRE(h.runner.runs.size() == 1);
  CHECK(h.run().spec().path == "/srv/app.cgi");
  CHECK(h.run().spec().cwd == "/srv");
  h.run().WriteStdout("Status: 201 Created\r\nContent-Type: text/plain\r\n\r\nhello");
  h.run().Exit(W_EXITCODE(3, 0));
  REQUIRE(h.RunUntil([&] { return h.Finished(); }));
  CHECK(Contains(h.sink->out, "Status: 201 Created\r\n"));
  CHECK(h.sink->out.ends_with("\r\n\r\nhello"));
  CHECK(h.sink->app_status == 3);
  CHECK(h.sink->protocol_status == ProtocolStatus::kRequestComplete);
  CHECK(h.sink->finishes == 1);
  CHECK(h.ctx.counters.requests_active == 0);
}

TEST_CASE("CgiRequest: a program that crashes before its header gets a 502 that says how it ended",
          "[cgi_request]") {
  Harness h;
  h.Start();
  h.run().WriteStdout("Content-Type: text/pl");  // half a header
  h.run().Exit(SIGSEGV);
  REQUIRE(h.RunUntil([&] { return h.Finished(); }));
  CHECK(Contains(h.sink->out, "Status: 502 Bad Gateway"));
  CHECK(Contains(h.sink->out, "fcgi-run: app.cgi ended without a valid response"));
  CHECK(Contains(h.sink->out, DescribeWaitStatus(SIGSEGV)));
  CHECK(h.sink->app_status == AppStatusFromWaitStatus(SIGSEGV));
  CHECK(h.ctx.counters.errors_5xx == 1);
}

TEST_CASE("CgiRequest: a crash after the header keeps what was sent, and no 502 follows", "[cgi_request]") {
  Harness h;
  h.Start();
  h.run().WriteStdout("Content-Type: text/plain\r\n\r\npartial");
  h.run().Exit(SIGKILL);
  REQUIRE(h.RunUntil([&] { return h.Finished(); }));
  CHECK(h.sink->out.ends_with("\r\n\r\npartial"));
  CHECK_FALSE(Contains(h.sink->out, "502"));
  CHECK(h.sink->app_status == 128 + SIGKILL);
}

TEST_CASE("CgiRequest: --timeout answers 504 and stops the program, SIGKILL after --kill-grace",
          "[cgi_request]") {
  Harness h;
  h.config.timeout = std::chrono::milliseconds(50);
  h.config.kill_grace = std::chrono::milliseconds(50);
  // The program ignores SIGTERM and dies of SIGKILL.
  h.runner.on_signal = ExitOnSignal(SIGKILL);
  h.Start();
  REQUIRE(h.RunUntil([&] { return h.Finished(); }));
  CHECK(Contains(h.sink->out, "Status: 504 Gateway Timeout"));
  CHECK(Contains(h.sink->out, "fcgi-run: app.cgi did not finish in time"));
  CHECK(h.run().signals() == std::vector<int>{SIGTERM, SIGKILL});
  CHECK(h.ctx.counters.timeouts == 1);
}

TEST_CASE("CgiRequest: output after the 504 is not sent", "[cgi_request]") {
  Harness h;
  h.config.timeout = std::chrono::milliseconds(50);
  h.runner.on_signal = [](FakeRun& run, int sig) {
    if (sig == SIGTERM) {
      run.WriteStdout("Content-Type: text/plain\r\n\r\ntoo late");
      run.Exit(SIGTERM);
    }
  };
  h.Start();
  REQUIRE(h.RunUntil([&] { return h.Finished(); }));
  CHECK(Contains(h.sink->out, "504"));
  CHECK_FALSE(Contains(h.sink->out, "too late"));
}

TEST_CASE("CgiRequest: an abort stops the program and sends nothing more", "[cgi_request]") {
  Harness h;
  h.runner.on_signal = ExitOnSignal(SIGTERM);
  h.Start();
  h.run().WriteStdout("Content-Type: text/plain\r\n\r\nbefore");
  REQUIRE(h.RunUntil([&] { return Contains(h.sink->out, "before"); }));
  h.request.lock()->Abort("the client left");
  h.run().WriteStdout("after");
  REQUIRE(h.RunUntil([&] { return h.Finished(); }));
  CHECK(h.run().signals() == std::vector<int>{SIGTERM});
  CHECK_FALSE(Contains(h.sink->out, "after"));
  CHECK(h.ctx.counters.aborts == 1);
}

TEST_CASE("CgiRequest: an abort while queued for a worker ends the request, and no program starts",
          "[cgi_request]") {
  Harness h;
  h.slots.TryAcquire();  // every slot taken: the request queues
  h.slots.TryAcquire();
  h.slots.TryAcquire();
  h.slots.TryAcquire();
  h.Start();
  CHECK(h.runner.runs.empty());
  h.request.lock()->Abort("the client left");
  REQUIRE(h.RunUntil([&] { return h.Finished(); }));
  CHECK(h.runner.runs.empty());  // never started
  CHECK(h.sink->out.empty());
}

TEST_CASE("CgiRequest: the program's output waits while the connection's backlog is past --buffer",
          "[cgi_request]") {
  Harness h;
  h.config.buffer_bytes = 4096;
  h.sink->backlog = h.config.buffer_bytes + 1;  // the web server is not reading
  h.Start();
  const std::string header = "Content-Type: application/octet-stream\r\n\r\n";
  std::string body;
  for (int i = 0; body.size() < 4 * 1024 * 1024; ++i) body += std::to_string(i) + ",";
  // The program writes until its pipe is full: nothing is read meanwhile.
  size_t written = h.run().WriteStdout(header);
  REQUIRE(written == header.size());
  h.Settle();
  written = h.run().WriteStdout(body);
  h.Settle();
  CHECK(written < body.size());  // blocked on its full pipe
  CHECK(h.sink->out.empty());
  CHECK(h.sink->space_waits >= 1);
  // The connection drained: the rest flows, in order.
  h.sink->backlog = 0;
  h.request.lock()->ResumeOutput();
  while (written < body.size()) {
    REQUIRE(h.RunUntil([&] { return BodyOf(h.sink->out).size() >= written; }));
    written += h.run().WriteStdout(std::string_view(body).substr(written));
  }
  h.run().Exit(0);
  REQUIRE(h.RunUntil([&] { return h.Finished(); }));
  CHECK((BodyOf(h.sink->out) == body));  // (not printed: 4 MiB)
}

TEST_CASE("CgiRequest: an invalid header gets a 502 naming the error, and the program's stdout is closed",
          "[cgi_request]") {
  Harness h;
  h.Start();
  h.run().WriteStdout("this is no header\r\n\r\n");
  REQUIRE(h.RunUntil([&] { return !h.sink->out.empty(); }));
  CHECK(Contains(h.sink->out, "Status: 502 Bad Gateway"));
  CHECK(Contains(h.sink->out, "fcgi-run: app.cgi sent an invalid response: "));
  h.Settle();
  CHECK(h.run().WriteStdout("more") == 0);  // nobody reads it any more
  CHECK(h.run().last_write_errno() == EPIPE);
  h.run().Exit(0);
  REQUIRE(h.RunUntil([&] { return h.Finished(); }));
  CHECK(h.sink->app_status == 0);
}

TEST_CASE("CgiRequest: a program that cannot start gets a 502", "[cgi_request]") {
  Harness h;
  h.runner.fail_starts = Status::Unavailable("no process for it");
  h.Start();
  REQUIRE(h.RunUntil([&] { return h.Finished(); }));
  CHECK(Contains(h.sink->out, "Status: 502 Bad Gateway"));
  CHECK(Contains(h.sink->out, "fcgi-run: could not start app.cgi"));
  CHECK_FALSE(Contains(h.sink->out, "no process for it"));  // the cause is for the log only
}

TEST_CASE("CgiRequest: a run whose output pipes cannot be made gets a 503, and no program starts",
          "[cgi_request]") {
  Harness h;
  boost::asio::steady_timer reactor_up(h.io);  // the reactor's own fds come first
  // Room for the request's stdin pipe only (the two lowest free fds): the
  // runner's output pipes then fail with EMFILE.
  const int first_free = dup(0), second_free = dup(0);
  REQUIRE(first_free >= 0);
  REQUIRE(second_free > first_free);
  close(first_free);
  close(second_free);
  rlimit saved{};
  REQUIRE(getrlimit(RLIMIT_NOFILE, &saved) == 0);
  rlimit low{static_cast<rlim_t>(second_free + 1), saved.rlim_max};
  REQUIRE(setrlimit(RLIMIT_NOFILE, &low) == 0);
  h.Start();
  REQUIRE(setrlimit(RLIMIT_NOFILE, &saved) == 0);
  REQUIRE(h.RunUntil([&] { return h.Finished(); }));
  CHECK(h.runner.runs.empty());
  CHECK(Contains(h.sink->out, "Status: 503 Service Unavailable"));
  CHECK(Contains(h.sink->out, "fcgi-run: cannot start the program (out of resources)"));
  CHECK(h.sink->protocol_status == ProtocolStatus::kRequestComplete);
}

TEST_CASE("CgiRequest: the body reaches the program's stdin, then EOF", "[cgi_request]") {
  Harness h;
  NameValuePairs params = GetParams();
  params[0].second = "POST";
  params.emplace_back("CONTENT_LENGTH", "11");
  h.Start(params, false);
  auto request = h.request.lock();
  request->OnStdin("hello ");
  request->OnStdin("world");
  request->OnStdinEnd();
  std::string body;
  bool eof = false;
  REQUIRE(h.RunUntil([&] {
    body += h.run().ReadStdin(&eof);
    return eof;
  }));
  CHECK(body == "hello world");
  h.run().WriteStdout("Content-Type: text/plain\r\n\r\nok");
  h.run().Exit(0);
  REQUIRE(h.RunUntil([&] { return h.Finished(); }));
}

TEST_CASE("CgiRequest: stderr goes to the web server with --stderr fcgi", "[cgi_request]") {
  Harness h;
  h.Start();
  h.run().WriteStderr("careful\n");
  h.run().WriteStdout("Content-Type: text/plain\r\n\r\nok");
  h.run().Exit(0);
  REQUIRE(h.RunUntil([&] { return h.Finished(); }));
  CHECK(h.sink->err == "careful\n");
}

}  // namespace
}  // namespace fcgi::test
