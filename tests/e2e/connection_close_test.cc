// End-to-end: how the launcher ends a FastCGI connection after the last
// response (KEEP_CONN off). When the peer has sent everything (the empty STDIN
// record came before END_REQUEST), the launcher closes its socket at once;
// when it may still write (Apache sends the empty STDIN after reading our
// END_REQUEST), the launcher half-closes and reads until the peer's EOF, so
// that late write neither fails nor resets the connection.
#include <poll.h>
#include <sys/socket.h>

#include <catch2/catch.hpp>
#include <cerrno>
#include <chrono>
#include <string>

#include "tests/support/content_util.h"
#include "tests/support/fcgi_run_server.h"
#include "tests/support/fcgi_test_client.h"
#include "tests/support/http_client.h"
#include "tests/support/stacks.h"
#include "tests/support/test_paths.h"

namespace fcgi::test {
namespace {

using Clock = std::chrono::steady_clock;

FcgiRunOptions AppFor(const std::string& example, const std::string& listen) {
  FcgiRunOptions options;
  options.program = Example(example);
  options.listen = listen;
  return options;
}

NameValuePairs Params(const std::string& example) {
  return {{"SCRIPT_FILENAME", Example(example)},
          {"SCRIPT_NAME", "/" + example},
          {"REQUEST_METHOD", "GET"},
          {"QUERY_STRING", ""},
          {"GATEWAY_INTERFACE", "CGI/1.1"},
          {"SERVER_PROTOCOL", "HTTP/1.1"},
          {"SERVER_NAME", "localhost"},
          {"SERVER_PORT", "80"},
          {"REMOTE_ADDR", "127.0.0.1"}};
}

// poll(2) on `fd` for up to `timeout`; the revents seen, 0 on timeout.
// POLLERR and POLLHUP are reported whatever `events` asks for.
short PollFor(int fd, short events, Millis timeout) {
  pollfd p{fd, events, 0};
  const Clock::time_point deadline = Clock::now() + timeout;
  for (;;) {
    const auto left = std::chrono::duration_cast<Millis>(deadline - Clock::now()).count();
    int n = ::poll(&p, 1, left > 0 ? static_cast<int>(left) : 0);
    if (n > 0) return p.revents;
    if (n == 0 || errno != EINTR) return 0;
  }
}

// Reads (and discards) until EOF within `timeout`: 0 on EOF, the errno of a
// failed recv(2) (ECONNRESET...), or ETIMEDOUT.
int DrainToEof(int fd, Millis timeout) {
  const Clock::time_point deadline = Clock::now() + timeout;
  char buf[4096];
  while (Clock::now() < deadline) {
    if (PollFor(fd, POLLIN, std::chrono::duration_cast<Millis>(deadline - Clock::now())) == 0) break;
    ssize_t n = ::recv(fd, buf, sizeof buf, MSG_DONTWAIT);
    if (n == 0) return 0;
    if (n < 0 && errno != EAGAIN && errno != EINTR) return errno;
  }
  return ETIMEDOUT;
}

// True once the launcher's end of the connection is closed for good (not
// merely shut down for writing), within `timeout`. Over a unix socket that
// is POLLHUP. Over TCP it shows only as the kernel's reset of a byte sent to
// a closed socket (a half-closed one would read and discard it).
bool LauncherClosedWithin(int fd, bool tcp, Millis timeout) {
  if (!tcp) return (PollFor(fd, 0, timeout) & POLLHUP) != 0;
  if (DrainToEof(fd, timeout) != 0) return false;  // the FIN came first either way
  if (::send(fd, "x", 1, MSG_NOSIGNAL) != 1) return errno == EPIPE || errno == ECONNRESET;
  return (PollFor(fd, 0, timeout) & (POLLERR | POLLHUP)) != 0;  // not POLLIN: the EOF is readable already
}

TEST_CASE("connection close: when the peer sent everything, the launcher closes at once after END_REQUEST",
          "[e2e][close]") {
  const std::string listen = GENERATE(as<std::string>(), "unix", "tcp");
  FcgiRun app(AppFor("hello.cgi", listen));
  FcgiTestClient client;
  REQUIRE(client.Connect(app.address()).ok());
  // BEGIN_REQUEST (KEEP_CONN off), PARAMS and the empty STDIN in one write, as nginx sends a GET.
  FcgiResponse r = client.Request(Params("hello.cgi"));
  INFO(r.Describe() << "\nlauncher:\n" << app.Log());
  REQUIRE(r.ok());
  CHECK(SplitCgiResponse(r.stdout_data).body == "Hello, world!\n");
  // Before, the launcher lingered (half-closed, reading) for a second even then.
  const Clock::time_point ended = Clock::now();
  CHECK(LauncherClosedWithin(client.fd(), listen == "tcp", Millis(500)));
  CHECK(Clock::now() - ended < Millis(500));
}

TEST_CASE("connection close: an empty STDIN sent after END_REQUEST (Apache) is read, not refused",
          "[e2e][close]") {
  const std::string listen = GENERATE(as<std::string>(), "unix", "tcp");
  const bool with_body = GENERATE(false, true);
  const std::string example = with_body ? "echo.cgi" : "hello.cgi";
  FcgiRun app(AppFor(example, listen));
  FcgiTestClient client;
  REQUIRE(client.Connect(app.address()).ok());
  NameValuePairs params = Params(example);
  std::string bytes = BeginRequestBytes(1);
  if (with_body) {
    // The whole body by CONTENT_LENGTH: the program runs and answers; only the empty STDIN is missing.
    params.emplace_back("CONTENT_LENGTH", "2");
    bytes += ParamsBytes(1, params) + EmptyParamsBytes(1) + StdinBytes(1, "hi");
  } else {
    // No body at all yet: the program (it reads no stdin) exits, its response goes out.
    bytes += ParamsBytes(1, params) + EmptyParamsBytes(1);
  }
  REQUIRE(client.Send(bytes).ok());
  FcgiResponse r = client.ReadUntilEnd(1);
  INFO("listen=" << listen << " body=" << with_body << "\n" << r.Describe() << "\nlauncher:\n" << app.Log());
  REQUIRE(r.ok());
  CgiResponse cgi = SplitCgiResponse(r.stdout_data);
  CHECK(cgi.status == 200);
  CHECK(!cgi.body.empty());
  // Apache writes its empty STDIN after reading our END_REQUEST. The launcher
  // must still be reading: over a unix socket it is not closed meanwhile...
  if (listen == "unix") CHECK((PollFor(client.fd(), 0, Millis(200)) & POLLHUP) == 0);
  // ...the write succeeds (no EPIPE, no reset) and the connection ends with a clean EOF.
  Status sent = client.Send(EmptyStdinBytes(1));
  INFO(sent.message());
  CHECK(sent.ok());
  CHECK(DrainToEof(client.fd(), Millis(3000)) == 0);
  int err = 0;
  socklen_t len = sizeof err;
  REQUIRE(::getsockopt(client.fd(), SOL_SOCKET, SO_ERROR, &err, &len) == 0);
  CHECK(err == 0);
}

TEST_CASE("connection close: answers from the read that hits a protocol error still go out", "[e2e][close]") {
  // The launcher writes at the end of the reactor turn; closing the connection
  // for the bad record in the same turn must not drop what it already answered.
  FcgiRun app(AppFor("hello.cgi", "unix"));
  FcgiTestClient client;
  REQUIRE(client.Connect(app.address()).ok());
  REQUIRE(client.Send(GetValuesBytes({"FCGI_MPXS_CONNS"}) + RawRecordBytes(2, 4, 1, "")).ok());
  ManagementRecord m = client.ReadManagementRecord(Millis(3000));
  INFO(m.failure << "\nlauncher:\n" << app.Log());
  REQUIRE(m.ok());
  CHECK(m.type == static_cast<uint8_t>(RecordType::kGetValuesResult));
  CHECK(m.Value("FCGI_MPXS_CONNS") == "1");
  CHECK(client.WaitForClose(Millis(3000)));
}

TEST_CASE("connection close: nginx over a unix socket, GETs and a 1 MiB POST, nothing bad logged",
          "[e2e][close][nginx]") {
  NginxStack stack("echo.cgi");
  for (int i = 0; i < 20; ++i) {
    HttpResponse r = stack.Get("/echo?n=" + std::to_string(i));
    INFO("request " << i << ": " << r.error << stack.Diagnostics());
    REQUIRE(r.ok);
    REQUIRE(r.status == 200);
  }
  const std::string body = RandomBytes(1 << 20, 7);
  HttpResponse post = Curl({.url = stack.Url("/echo"), .body = body});
  INFO(post.error << stack.Diagnostics());
  REQUIRE(post.ok);
  CHECK(post.status == 200);
  CHECK(post.body == "length=" + std::to_string(body.size()) + "\nsha256=" + Sha256Hex(body) + "\n");
  const std::string error_log = stack.nginx().ErrorLog();
  for (const char* bad : {"prematurely closed", "reset by peer", "Broken pipe", "failed (", "[error]"}) {
    INFO(bad << "\n" << error_log);
    CHECK(error_log.find(bad) == std::string::npos);
  }
  CHECK(stack.app().Log().find("write to the web server failed") == std::string::npos);
}

}  // namespace
}  // namespace fcgi::test
