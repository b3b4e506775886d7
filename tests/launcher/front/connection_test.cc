// Connection driven over a socketpair by the raw FastCGI test client (the web
// server's end) with a fake ProgramRunner behind it (tests/launcher/run/
// fake_program_runner.h): records in, records out, and a "program" the test
// plays by hand. No process runs.
#include "launcher/front/connection.h"

#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/generic/stream_protocol.hpp>
#include <catch2/catch.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "tests/launcher/request/fake_server_context.h"
#include "tests/support/fcgi_test_client.h"

namespace fcgi::test {
namespace {

using namespace std::chrono_literals;  // NOLINT

// A GET of request id 1, as a web server sends it.
RequestSpec GetSpec(bool keep_conn = false) {
  RequestSpec spec;
  spec.keep_conn = keep_conn;
  spec.params = GetParams();
  return spec;
}

std::string Pattern(size_t n) {
  std::string s;
  for (int i = 0; s.size() < n; ++i) s += std::to_string(i) + ",";
  s.resize(n);
  return s;
}

struct Harness : FakeServerContext {
  Harness() {
    int sv[2];
    REQUIRE(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
    launcher_fd = sv[0];
    Connection::Socket socket(io);
    socket.assign(boost::asio::generic::stream_protocol(AF_UNIX, SOCK_STREAM), sv[0]);
    connection = std::make_shared<Connection>(ctx, std::move(socket), "test");
    connection->Start();
    web.Adopt(sv[1]);
  }
  // Whatever a test left running ends here, while the context it uses lives.
  ~Harness() {
    KillRuns();
    connection->Abort("test over");
    Drain();
  }
  // FakeServerContext::RunUntil, the web server collecting what arrived.
  bool RunUntil(const std::function<bool()>& done) {
    return FakeServerContext::RunUntil(done, [this] { web.ReadFor(std::chrono::milliseconds(0)); });
  }

  std::shared_ptr<Connection> connection;
  int launcher_fd = -1;
  FcgiTestClient web{10s};
};

TEST_CASE("Connection: the program's output and exit status go out as STDOUT and END_REQUEST",
          "[connection]") {
  Harness h;
  REQUIRE(h.web.Send(RequestBytes(GetSpec())).ok());
  REQUIRE(h.RunUntil([&] { return !h.runner.runs.empty(); }));
  h.run().WriteStdout("Content-Type: text/plain\r\n\r\nhello");
  h.run().Exit(W_EXITCODE(7, 0));
  REQUIRE(h.RunUntil([&] { return h.web.Ended(1); }));
  FcgiResponse r = h.web.ReadUntilEnd(1, 0ms);
  INFO(r.Describe());
  CHECK(r.ok());
  CHECK(r.stdout_closed);
  CHECK(BodyOf(r.stdout_data) == "hello");
  CHECK(r.app_status == 7);
  // KEEP_CONN off: the connection closes after the response.
  REQUIRE(h.RunUntil([&] { return h.web.peer_closed(); }));
}

TEST_CASE("Connection: a program that crashes before its header gets a 502 in the records", "[connection]") {
  Harness h;
  REQUIRE(h.web.Send(RequestBytes(GetSpec())).ok());
  REQUIRE(h.RunUntil([&] { return !h.runner.runs.empty(); }));
  h.run().Exit(SIGABRT);
  REQUIRE(h.RunUntil([&] { return h.web.Ended(1); }));
  FcgiResponse r = h.web.ReadUntilEnd(1, 0ms);
  CHECK(r.ok());
  CHECK(SplitCgiResponse(r.stdout_data).status == 502);
  CHECK(r.app_status == 128 + SIGABRT);
}

TEST_CASE("Connection: ABORT_REQUEST stops the program and ends the request", "[connection]") {
  Harness h;
  h.runner.on_signal = ExitOnSignal(SIGTERM);
  REQUIRE(h.web.Send(RequestBytes(GetSpec(/*keep_conn=*/true))).ok());
  REQUIRE(h.RunUntil([&] { return !h.runner.runs.empty(); }));
  REQUIRE(h.web.Send(AbortRequestBytes(1)).ok());
  REQUIRE(h.RunUntil([&] { return h.web.Ended(1); }));
  CHECK(h.run().signals() == std::vector<int>{SIGTERM});
  FcgiResponse r = h.web.ReadUntilEnd(1, 0ms);
  CHECK(r.ok());
  CHECK(r.stdout_data.empty());  // aborted before any output: nothing to say
  CHECK(h.ctx.counters.aborts == 1);
}

TEST_CASE("Connection: the web server hanging up stops the running program", "[connection]") {
  Harness h;
  h.runner.on_signal = ExitOnSignal(SIGTERM);
  REQUIRE(h.web.Send(RequestBytes(GetSpec(/*keep_conn=*/true))).ok());
  REQUIRE(h.RunUntil([&] { return !h.runner.runs.empty(); }));
  h.web.Close();
  REQUIRE(h.RunUntil([&] { return h.run().exited(); }));
  CHECK(h.run().signals() == std::vector<int>{SIGTERM});
  REQUIRE(h.RunUntil([&] { return h.ctx.counters.requests_active == 0; }));
}

TEST_CASE("Connection: a web server that does not read makes the program wait, and loses nothing",
          "[connection]") {
  Harness h;
  h.config.buffer_bytes = 16 * 1024;
  const int small = 4096;  // the kernel's minimum socket buffers, roughly
  setsockopt(h.launcher_fd, SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
  setsockopt(h.web.fd(), SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
  REQUIRE(h.web.Send(RequestBytes(GetSpec())).ok());
  REQUIRE(h.RunUntil([&] { return !h.runner.runs.empty(); }));
  const std::string header = "Content-Type: application/octet-stream\r\n\r\n";
  const std::string body = Pattern(16 * 1024 * 1024);
  REQUIRE(h.run().WriteStdout(header) == header.size());
  // The web server reads nothing: the program writes until it blocks.
  size_t written = 0;
  for (int idle = 0; idle < 3;) {
    h.Settle();
    const size_t n = h.run().WriteStdout(std::string_view(body).substr(written));
    written += n;
    idle = n == 0 ? idle + 1 : 0;
  }
  // Held: its pipe (at most 1 MiB), --buffer and a read chunk in the
  // connection, the socket buffers. Not the 16 MiB it had to say.
  CHECK(written < 4 * 1024 * 1024);
  // The web server reads again: everything arrives, in order.
  REQUIRE(h.RunUntil([&] {
    written += h.run().WriteStdout(std::string_view(body).substr(written));
    return written == body.size();
  }));
  h.run().Exit(0);
  REQUIRE(h.RunUntil([&] { return h.web.Ended(1); }));
  FcgiResponse r = h.web.ReadUntilEnd(1, 0ms);
  CHECK(r.ok());
  CHECK((BodyOf(r.stdout_data) == body));  // (not printed: 16 MiB)
}

TEST_CASE("Connection: a body the program does not read stops the reading of the socket, and loses nothing",
          "[connection]") {
  Harness h;
  h.config.buffer_bytes = 16 * 1024;
  const std::string body = Pattern(16 * 1024 * 1024);
  NameValuePairs params = GetParams();
  params[0].second = "POST";
  params.emplace_back("CONTENT_LENGTH", std::to_string(body.size()));
  REQUIRE(h.web.Send(BeginRequestBytes(1) + ParamsBytes(1, params) + EmptyParamsBytes(1)).ok());
  REQUIRE(h.RunUntil([&] { return !h.runner.runs.empty(); }));
  // The web server sends the body as fast as the connection takes it; the
  // program reads none of it.
  const std::string records = StdinBytes(1, body) + EmptyStdinBytes(1);
  size_t sent = 0;
  auto push = [&] {
    const ssize_t n =
        ::send(h.web.fd(), records.data() + sent, records.size() - sent, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n > 0) sent += static_cast<size_t>(n);
    return n > 0 ? static_cast<size_t>(n) : 0;
  };
  for (int idle = 0; idle < 3;) {
    h.Settle();
    idle = push() == 0 ? idle + 1 : 0;
  }
  // Taken: the program's stdin pipe (at most 1 MiB), --buffer and a read
  // chunk in the request, the socket buffers. Not the 16 MiB offered.
  CHECK(sent < 4 * 1024 * 1024);
  // The program reads: the rest comes in, in order.
  std::string got;
  bool eof = false;
  REQUIRE(h.RunUntil([&] {
    push();
    got += h.run().ReadStdin(&eof);
    return eof;
  }));
  CHECK((got == body));  // (not printed: 16 MiB)
  h.run().WriteStdout("Content-Type: text/plain\r\n\r\nthanks");
  h.run().Exit(0);
  REQUIRE(h.RunUntil([&] { return h.web.Ended(1); }));
  CHECK(h.web.ReadUntilEnd(1, 0ms).ok());
}

TEST_CASE("Connection: --timeout ends a hung program's request with a 504", "[connection]") {
  Harness h;
  h.config.timeout = std::chrono::milliseconds(50);
  h.runner.on_signal = ExitOnSignal(SIGTERM);
  REQUIRE(h.web.Send(RequestBytes(GetSpec())).ok());
  REQUIRE(h.RunUntil([&] { return h.web.Ended(1); }));
  FcgiResponse r = h.web.ReadUntilEnd(1, 0ms);
  CHECK(r.ok());
  CHECK(SplitCgiResponse(r.stdout_data).status == 504);
  CHECK(h.run().signals() == std::vector<int>{SIGTERM});
}

}  // namespace
}  // namespace fcgi::test
