// End-to-end at the FastCGI level: fcgi-run driven by the raw test client
// (tests/support/fcgi_test_client.h), for what web servers rarely exercise:
// multiplexing, management records, unknown types and roles, odd record
// boundaries, AUTHORIZER and FILTER roles, exit statuses, overload.
#include <catch2/catch.hpp>

#include <chrono>
#include <string>
#include <thread>

#include "tests/support/content_util.h"
#include "tests/support/fcgi_run_server.h"
#include "tests/support/fcgi_test_client.h"
#include "tests/support/test_paths.h"

namespace fcgi::test {
namespace {

FcgiRunOptions AppFor(const std::string& example, const std::string& listen = "unix") {
  FcgiRunOptions options;
  options.program = Example(example);
  options.listen = listen;
  return options;
}

NameValuePairs Params(const std::string& example, const std::string& query = "",
                      const std::string& method = "GET") {
  return {{"SCRIPT_FILENAME", Example(example)},
          {"SCRIPT_NAME", "/" + example},
          {"REQUEST_METHOD", method},
          {"QUERY_STRING", query},
          {"GATEWAY_INTERFACE", "CGI/1.1"},
          {"SERVER_PROTOCOL", "HTTP/1.1"},
          {"SERVER_NAME", "localhost"},
          {"SERVER_PORT", "80"},
          {"REMOTE_ADDR", "127.0.0.1"}};
}

NameValuePairs WithBody(NameValuePairs params, size_t length) {
  params.emplace_back("CONTENT_LENGTH", std::to_string(length));
  params.emplace_back("CONTENT_TYPE", "application/octet-stream");
  return params;
}

std::string EchoOutput(std::string_view body) {
  return "length=" + std::to_string(body.size()) + "\nsha256=" + Sha256Hex(body) + "\n";
}

TEST_CASE("raw: hello over unix, TCP and IPv6, appStatus 0", "[e2e][raw]") {
  const std::string listen = GENERATE(as<std::string>(), "unix", "tcp", "tcp6");
  FcgiRun app(AppFor("hello.cgi", listen));
  FcgiResponse r = RequestOnce(app.address(), Params("hello.cgi"));
  INFO(listen << "\n" << r.Describe() << "\nlauncher:\n" << app.Log());
  REQUIRE(r.ok());
  CHECK(r.app_status == 0);
  CgiResponse cgi = SplitCgiResponse(r.stdout_data);
  CHECK(cgi.ok);
  CHECK(cgi.status == 200);
  CHECK(cgi.body == "Hello, world!\n");
}

TEST_CASE("raw: listening socket inherited as fd 0 (no --listen)", "[e2e][raw]") {
  FcgiRun app(AppFor("hello.cgi", "fd0"));
  FcgiResponse r = RequestOnce(app.address(), Params("hello.cgi"));
  INFO(r.Describe() << "\nlauncher:\n" << app.Log());
  REQUIRE(r.ok());
  CHECK(SplitCgiResponse(r.stdout_data).body == "Hello, world!\n");
}

TEST_CASE("raw: END_REQUEST appStatus is the exit code, 128+signal after a signal", "[e2e][raw][errors]") {
  SECTION("exit 3 with a valid page") {
    FcgiRun app(AppFor("exit3.cgi"));
    FcgiResponse r = RequestOnce(app.address(), Params("exit3.cgi"));
    INFO(r.Describe() << "\nlauncher:\n" << app.Log());
    REQUIRE(r.ended);
    CHECK(r.protocol_status == static_cast<uint8_t>(ProtocolStatus::kRequestComplete));
    CHECK(r.app_status == 3);
    CgiResponse cgi = SplitCgiResponse(r.stdout_data);
    CHECK(cgi.status == 200);
    CHECK(cgi.body == "page from exit3.cgi\n");
  }
  SECTION("SIGSEGV before any output") {
    FcgiRun app(AppFor("crash.cgi"));
    FcgiResponse r = RequestOnce(app.address(), Params("crash.cgi"));
    INFO(r.Describe() << "\nlauncher:\n" << app.Log());
    REQUIRE(r.ended);
    CHECK(r.app_status == 128 + 11);
    CgiResponse cgi = SplitCgiResponse(r.stdout_data);
    CHECK(cgi.status == 502);
    CHECK(cgi.body.find("SIGSEGV") != std::string::npos);
  }
  SECTION("no header") {
    FcgiRun app(AppFor("noheader.cgi"));
    FcgiResponse r = RequestOnce(app.address(), Params("noheader.cgi"));
    INFO(r.Describe() << "\nlauncher:\n" << app.Log());
    REQUIRE(r.ended);
    CgiResponse cgi = SplitCgiResponse(r.stdout_data);
    CHECK(cgi.status == 502);
    CHECK(cgi.body.find("Hello world") != std::string::npos);
  }
}

TEST_CASE("raw: stderr travels as FCGI_STDERR, apart from stdout", "[e2e][raw][stderr]") {
  FcgiRun app(AppFor("stderr.cgi"));
  FcgiResponse r = RequestOnce(app.address(), Params("stderr.cgi"));
  INFO(r.Describe() << "\nlauncher:\n" << app.Log());
  REQUIRE(r.ok());
  CHECK(r.stderr_data.find("to-stderr: first line") != std::string::npos);
  CHECK(r.stderr_data.find("to-stderr: second line") != std::string::npos);
  CHECK(SplitCgiResponse(r.stdout_data).body == "page from stderr.cgi\n");
}

TEST_CASE("raw: NPH status line becomes a Status header", "[e2e][raw]") {
  FcgiRun app(AppFor("nph-hello.cgi"));
  FcgiResponse r = RequestOnce(app.address(), Params("nph-hello.cgi"));
  INFO(r.Describe() << "\nlauncher:\n" << app.Log());
  REQUIRE(r.ok());
  CgiResponse cgi = SplitCgiResponse(r.stdout_data);
  CHECK(cgi.status_line.empty());  // not passed through raw
  CHECK(cgi.status == 200);
  CHECK(cgi.body == "Hello from NPH\n");
}

TEST_CASE("raw: two requests interleaved on one connection", "[e2e][raw][mpx]") {
  FcgiRun app(AppFor("echo.cgi"));
  FcgiTestClient client;
  REQUIRE(client.Connect(app.address()).ok());
  std::string body1 = RandomBytes(300000, 1);
  std::string body2 = RandomBytes(200001, 2);
  std::string bytes;
  bytes += BeginRequestBytes(1, Role::kResponder, true);
  bytes += BeginRequestBytes(2, Role::kResponder, true);
  bytes += ParamsBytes(2, WithBody(Params("echo.cgi", "", "POST"), body2.size()));
  bytes += ParamsBytes(1, WithBody(Params("echo.cgi", "", "POST"), body1.size()));
  bytes += EmptyParamsBytes(1);
  bytes += EmptyParamsBytes(2);
  bytes += StdinBytes(1, std::string_view(body1).substr(0, 100000), {4096, 1});
  bytes += StdinBytes(2, std::string_view(body2).substr(0, 150000));
  bytes += StdinBytes(1, std::string_view(body1).substr(100000));
  bytes += EmptyStdinBytes(1);
  bytes += StdinBytes(2, std::string_view(body2).substr(150000), {7});
  bytes += EmptyStdinBytes(2);
  REQUIRE(client.Send(bytes).ok());
  auto responses = client.ReadUntilAllEnded({1, 2}, Millis(20000));
  INFO(responses[0].Describe() << "\n" << responses[1].Describe() << "\nlauncher:\n" << app.Log());
  REQUIRE(responses[0].ok());
  REQUIRE(responses[1].ok());
  CHECK(SplitCgiResponse(responses[0].stdout_data).body == EchoOutput(body1));
  CHECK(SplitCgiResponse(responses[1].stdout_data).body == EchoOutput(body2));
  // The connection stays usable (KEEP_CONN) for a third request reusing id 1.
  RequestSpec again;
  again.id = 1;
  again.keep_conn = true;
  again.params = WithBody(Params("echo.cgi", "", "POST"), 5);
  again.stdin_body = "third";
  FcgiResponse r3 = client.Request(again);
  INFO(r3.Describe());
  REQUIRE(r3.ok());
  CHECK(SplitCgiResponse(r3.stdout_data).body == EchoOutput("third"));
}

TEST_CASE("raw: a program that writes 10 MiB before reading a 10 MiB body does not deadlock",
          "[e2e][raw][body]") {
  FcgiRun app(AppFor("write_before_read.cgi"));
  FcgiTestClient client;  // reads the application's records while it sends
  REQUIRE(client.Connect(app.address()).ok());
  constexpr size_t kTenMiB = 10 * 1024 * 1024;
  std::string body = RandomBytes(kTenMiB, 3);
  RequestSpec spec;
  spec.params = WithBody(Params("write_before_read.cgi", "", "POST"), body.size());
  spec.stdin_body = body;
  FcgiResponse r = client.Request(spec, Millis(20000));
  INFO(r.Describe() << "\nlauncher:\n" << app.Log());
  REQUIRE(r.ok());
  CgiResponse cgi = SplitCgiResponse(r.stdout_data);
  REQUIRE(cgi.body.size() > kTenMiB);
  CHECK(cgi.body.compare(0, kTenMiB, LargePattern(kTenMiB)) == 0);
  CHECK(cgi.body.substr(kTenMiB) == "\n" + EchoOutput(body));
}

TEST_CASE("raw: GET_VALUES answers MAX_CONNS, MAX_REQS and MPXS_CONNS=1", "[e2e][raw][mgmt]") {
  FcgiRun app(AppFor("hello.cgi"));
  FcgiTestClient client;
  REQUIRE(client.Connect(app.address()).ok());
  REQUIRE(client.Send(GetValuesBytes({kMaxConns, kMaxReqs, kMpxsConns})).ok());
  ManagementRecord m = client.ReadManagementRecord();
  INFO(m.failure << "\nlauncher:\n" << app.Log());
  REQUIRE(m.ok());
  CHECK(m.type == static_cast<uint8_t>(RecordType::kGetValuesResult));
  CHECK(m.Value(kMpxsConns) == "1");
  CHECK(std::atoi(m.Value(kMaxConns).c_str()) > 0);
  CHECK(std::atoi(m.Value(kMaxReqs).c_str()) > 0);
  // A request on the same connection still works.
  RequestSpec spec;
  spec.params = Params("hello.cgi");
  FcgiResponse r = client.Request(spec);
  INFO(r.Describe());
  CHECK(r.ok());
}

TEST_CASE("raw: an unknown management type gets UNKNOWN_TYPE", "[e2e][raw][mgmt]") {
  FcgiRun app(AppFor("hello.cgi"));
  FcgiTestClient client;
  REQUIRE(client.Connect(app.address()).ok());
  REQUIRE(client.Send(RawRecordBytes(kVersion1, 42, kNullRequestId, "abc")).ok());
  ManagementRecord m = client.ReadManagementRecord();
  INFO(m.failure << "\nlauncher:\n" << app.Log());
  REQUIRE(m.ok());
  CHECK(m.type == static_cast<uint8_t>(RecordType::kUnknownType));
  CHECK(m.unknown_type == 42);
  RequestSpec spec;
  spec.params = Params("hello.cgi");
  FcgiResponse r = client.Request(spec);
  INFO(r.Describe());
  CHECK(r.ok());
}

TEST_CASE("raw: an unknown role gets END_REQUEST UNKNOWN_ROLE", "[e2e][raw]") {
  FcgiRun app(AppFor("hello.cgi"));
  FcgiTestClient client;
  REQUIRE(client.Connect(app.address()).ok());
  REQUIRE(client.Send(BeginRequestRawBytes(1, 77, kFlagKeepConn)).ok());
  FcgiResponse r = client.ReadUntilEnd(1, Millis(5000));
  INFO(r.Describe() << "\nlauncher:\n" << app.Log());
  REQUIRE(r.ended);
  CHECK(r.protocol_status == static_cast<uint8_t>(ProtocolStatus::kUnknownRole));
  CHECK(r.stdout_data.empty());
}

TEST_CASE("raw: a request delivered one byte at a time", "[e2e][raw]") {
  FcgiRun app(AppFor("echo.cgi"));
  FcgiTestClient client;
  REQUIRE(client.Connect(app.address()).ok());
  RequestSpec spec;
  spec.params = WithBody(Params("echo.cgi", "q=1", "POST"), 11);
  spec.stdin_body = "byte-a-time";
  REQUIRE(client.Send(RequestBytes(spec), 1).ok());
  FcgiResponse r = client.ReadUntilEnd(1);
  INFO(r.Describe() << "\nlauncher:\n" << app.Log());
  REQUIRE(r.ok());
  CHECK(SplitCgiResponse(r.stdout_data).body == EchoOutput("byte-a-time"));
}

TEST_CASE("raw: PARAMS over 64 KiB split across records", "[e2e][raw]") {
  FcgiRun app(AppFor("env.cgi"));
  FcgiTestClient client;
  REQUIRE(client.Connect(app.address()).ok());
  RequestSpec spec;
  spec.params = Params("env.cgi", "big=1");
  std::string big(70000, 'x');
  big.back() = 'y';
  spec.params.emplace_back("HTTP_X_BIG", big);
  spec.params.emplace_back("HTTP_X_AFTER", "after");
  spec.params_split = {3, 1, 200, 65535};  // cuts a length prefix and the big value
  FcgiResponse r = client.Request(spec, Millis(15000));
  INFO(r.Describe() << "\nlauncher:\n" << app.Log());
  REQUIRE(r.ok());
  auto env = ParseEnvDump(SplitCgiResponse(r.stdout_data).body);
  CHECK(env["HTTP_X_BIG"] == big);
  CHECK(env["HTTP_X_AFTER"] == "after");
  CHECK(env["QUERY_STRING"] == "big=1");
}

TEST_CASE("raw: AUTHORIZER without any STDIN record does not hang", "[e2e][raw][roles]") {
  FcgiRun app(AppFor("echo.cgi"));
  FcgiTestClient client;
  REQUIRE(client.Connect(app.address()).ok());
  RequestSpec spec;
  spec.role = Role::kAuthorizer;
  spec.params = Params("echo.cgi");
  spec.send_stdin = false;  // as mod_fcgid sends it
  FcgiResponse r = client.Request(spec, Millis(5000));
  INFO(r.Describe() << "\nlauncher:\n" << app.Log());
  REQUIRE(r.ok());
  CgiResponse cgi = SplitCgiResponse(r.stdout_data);
  CHECK(cgi.status == 200);
  CHECK(cgi.body == EchoOutput(""));
}

TEST_CASE("raw: FILTER appends FCGI_DATA to stdin after the STDIN bytes", "[e2e][raw][roles]") {
  FcgiRun app(AppFor("echo.cgi"));
  FcgiTestClient client;
  REQUIRE(client.Connect(app.address()).ok());
  std::string in = "stdin-part:";
  std::string data = RandomBytes(100000, 9);
  RequestSpec spec;
  spec.role = Role::kFilter;
  spec.params = WithBody(Params("echo.cgi", "", "POST"), in.size());
  spec.params.emplace_back("FCGI_DATA_LENGTH", std::to_string(data.size()));
  spec.params.emplace_back("FCGI_DATA_LAST_MOD", "1700000000");
  spec.stdin_body = in;
  spec.data = data;
  spec.data_split = {1, 4095};
  FcgiResponse r = client.Request(spec, Millis(10000));
  INFO(r.Describe() << "\nlauncher:\n" << app.Log());
  REQUIRE(r.ok());
  CHECK(SplitCgiResponse(r.stdout_data).body == EchoOutput(in + data));
}

TEST_CASE("raw: past --workers requests queue, past --queue they are OVERLOADED with a 503",
          "[e2e][raw][overload]") {
  FcgiRunOptions options = AppFor("sleep.cgi");
  options.workers = 1;
  options.queue = 1;
  FcgiRun app(options);
  using Clock = std::chrono::steady_clock;
  auto start = Clock::now();
  // A occupies the only worker, B waits in the queue, C finds the queue full.
  FcgiTestClient a, b, c;
  RequestSpec spec;
  spec.params = Params("sleep.cgi", "1");
  REQUIRE(a.Connect(app.address()).ok());
  REQUIRE(a.Send(RequestBytes(spec)).ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  REQUIRE(b.Connect(app.address()).ok());
  REQUIRE(b.Send(RequestBytes(spec)).ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  REQUIRE(c.Connect(app.address()).ok());
  REQUIRE(c.Send(RequestBytes(spec)).ok());
  FcgiResponse rc = c.ReadUntilEnd(1, Millis(3000));
  double c_seconds = std::chrono::duration<double>(Clock::now() - start).count();
  INFO("C: " << rc.Describe() << "\nlauncher:\n" << app.Log());
  REQUIRE(rc.ended);
  CHECK(rc.protocol_status == static_cast<uint8_t>(ProtocolStatus::kOverloaded));
  CHECK(SplitCgiResponse(rc.stdout_data).status == 503);
  CHECK(c_seconds < 1.5);  // rejected at once, not after A finished
  FcgiResponse ra = a.ReadUntilEnd(1, Millis(10000));
  FcgiResponse rb = b.ReadUntilEnd(1, Millis(10000));
  double b_seconds = std::chrono::duration<double>(Clock::now() - start).count();
  INFO("A: " << ra.Describe() << "\nB: " << rb.Describe());
  CHECK(ra.ok());
  CHECK(rb.ok());
  CHECK(SplitCgiResponse(rb.stdout_data).body == "slept 1\n");
  CHECK(b_seconds >= 1.9);  // B ran after A: one worker
}

}  // namespace
}  // namespace fcgi::test
