// Conformance suite: the real fcgi-run driven by the raw client, one
// TEST_CASE per edge case of DESIGN.md section 5. The client checks the
// launcher's side of the protocol on every record (no record for an id never
// begun or already ended, valid types and bodies): FcgiResponse::ok() fails on
// any protocol error.
//
// Cases covered elsewhere, not repeated here (tests/e2e/raw_protocol_test.cc,
// run in exec and fork modes):
//   one byte at a time          "raw: a request delivered one byte at a time"
//   params over 64 KiB          "raw: PARAMS over 64 KiB split across records"
//   AUTHORIZER without STDIN    "raw: AUTHORIZER without any STDIN record does not hang"
//   GET_VALUES first            "raw: GET_VALUES answers MAX_CONNS, MAX_REQS and MPXS_CONNS=1"
//   unknown management type     "raw: an unknown management type gets UNKNOWN_TYPE"
//   unknown role                "raw: an unknown role gets END_REQUEST UNKNOWN_ROLE"
//   FILTER with complete DATA   "raw: FILTER appends FCGI_DATA to stdin after the STDIN bytes"
#include <catch2/catch.hpp>

#include <signal.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "tests/conformance/conformance_util.h"

namespace fcgi::test {
namespace {

using conf::App;
using conf::EchoOutput;
using conf::Params;
using namespace std::chrono_literals;  // NOLINT

std::string Echo() { return Example("echo.cgi"); }
std::string Hello() { return Example("hello.cgi"); }

// BEGIN_REQUEST content: role, flags, then five reserved bytes of `reserved`.
std::string BeginBody(uint16_t role, uint8_t flags, char reserved = 0) {
  std::string body;
  body += static_cast<char>(role >> 8);
  body += static_cast<char>(role & 0xff);
  body += static_cast<char>(flags);
  body.append(5, reserved);
  return body;
}

// A whole echo request whose every record carries `padding` bytes of padding
// and `reserved` in the header's reserved byte (and in BEGIN_REQUEST's body).
std::string PaddedRequest(uint16_t id, const std::string& body, uint8_t padding, uint8_t reserved,
                          bool keep_conn) {
  std::string params = EncodeNameValues(Params(Echo(), "", static_cast<long>(body.size())));
  auto rec = [&](RecordType type, std::string_view content) {
    return RawRecordBytes(kVersion1, static_cast<uint8_t>(type), id, content, padding, reserved);
  };
  return rec(RecordType::kBeginRequest,
             BeginBody(1, keep_conn ? kFlagKeepConn : 0, static_cast<char>(reserved))) +
         rec(RecordType::kParams, params) + rec(RecordType::kParams, "") + rec(RecordType::kStdin, body) +
         rec(RecordType::kStdin, "");
}

TEST_CASE("every padding length 0-255 is skipped", "[conformance][records]") {
  FcgiRun app(App(Echo()));
  FcgiTestClient client;
  REQUIRE(client.Connect(app.address()).ok());
  for (int padding = 0; padding <= 255; ++padding) {
    const std::string body = "padding " + std::to_string(padding);
    REQUIRE(client.Send(PaddedRequest(1, body, static_cast<uint8_t>(padding), 0, true)).ok());
    FcgiResponse r = client.ReadUntilEnd(1);
    INFO("padding " << padding << "\n" << r.Describe() << "\nlauncher:\n" << app.Log());
    REQUIRE(r.ok());
    REQUIRE(SplitCgiResponse(r.stdout_data).body == EchoOutput(body));
  }
}

TEST_CASE("non-zero reserved bytes are ignored", "[conformance][records]") {
  FcgiRun app(App(Echo()));
  FcgiTestClient client;
  REQUIRE(client.Connect(app.address()).ok());
  REQUIRE(client.Send(PaddedRequest(1, "reserved", 3, 0xff, false)).ok());
  FcgiResponse r = client.ReadUntilEnd(1);
  INFO(r.Describe() << "\nlauncher:\n" << app.Log());
  REQUIRE(r.ok());
  CHECK(SplitCgiResponse(r.stdout_data).body == EchoOutput("reserved"));
}

TEST_CASE("version 2 closes that connection only, the launcher serves others", "[conformance][records]") {
  FcgiRun app(App(Example("sleep.cgi")));
  // A request already running on another connection must finish untouched.
  FcgiTestClient neighbour;
  REQUIRE(neighbour.Connect(app.address()).ok());
  RequestSpec slow;
  slow.params = Params(Example("sleep.cgi"), "1");
  REQUIRE(neighbour.Send(RequestBytes(slow)).ok());

  FcgiTestClient bad;
  REQUIRE(bad.Connect(app.address()).ok());
  REQUIRE(bad.Send(BeginRequestBytes(1) + RawRecordBytes(2, 4, 1, "")).ok());
  CHECK(bad.WaitForClose(3000ms));
  CHECK(bad.protocol_errors().empty());

  FcgiResponse n = neighbour.ReadUntilEnd(1, 10000ms);
  INFO(n.Describe() << "\nlauncher:\n" << app.Log());
  CHECK(n.ok());
  CHECK(SplitCgiResponse(n.stdout_data).body == "slept 1\n");
  FcgiResponse fresh = RequestOnce(app.address(), Params(Example("sleep.cgi"), "0"));
  INFO(fresh.Describe());
  CHECK(fresh.ok());
  CHECK(app.process().IsRunning());
}

TEST_CASE("a name-value pair straddling PARAMS records of one byte each", "[conformance][params]") {
  FcgiRun app(App(Example("env.cgi")));
  RequestSpec spec;
  spec.params = Params(Example("env.cgi"), "q=straddle");
  std::string long_value(300, 'v');  // 4-byte length prefix, split byte by byte too
  spec.params.emplace_back("HTTP_X_LONG", long_value);
  spec.params_split = Split(EncodeNameValues(spec.params).size(), 1);
  FcgiTestClient client;
  REQUIRE(client.Connect(app.address()).ok());
  FcgiResponse r = client.Request(spec);
  INFO(r.Describe() << "\nlauncher:\n" << app.Log());
  REQUIRE(r.ok());
  auto env = ParseEnvDump(SplitCgiResponse(r.stdout_data).body);
  CHECK(env["QUERY_STRING"] == "q=straddle");
  CHECK(env["HTTP_X_LONG"] == long_value);
}

TEST_CASE("PARAMS past --max-params get 431 and END_REQUEST, the connection goes on",
          "[conformance][params]") {
  FcgiRun app(App(Hello(), {"--max-params", "4096"}));
  FcgiTestClient client;
  REQUIRE(client.Connect(app.address()).ok());
  RequestSpec big;
  big.keep_conn = true;
  big.params = Params(Hello());
  big.params.emplace_back("HTTP_X_BIG", std::string(8000, 'x'));
  FcgiResponse r = client.Request(big);
  INFO(r.Describe() << "\nlauncher:\n" << app.Log());
  REQUIRE(r.ok());
  CHECK(SplitCgiResponse(r.stdout_data).status == 431);
  RequestSpec next;
  next.params = Params(Hello());
  FcgiResponse r2 = client.Request(next);
  INFO(r2.Describe());
  CHECK(r2.ok());
  CHECK(SplitCgiResponse(r2.stdout_data).body == "Hello, world!\n");
}

TEST_CASE("an empty PARAMS stream runs the program with the CGI minimum", "[conformance][params]") {
  FcgiRun app(App(Example("env.cgi")));
  FcgiTestClient client;
  REQUIRE(client.Connect(app.address()).ok());
  REQUIRE(client.Send(BeginRequestBytes(1) + EmptyParamsBytes(1) + EmptyStdinBytes(1)).ok());
  FcgiResponse r = client.ReadUntilEnd(1);
  INFO(r.Describe() << "\nlauncher:\n" << app.Log());
  REQUIRE(r.ok());
  auto env = ParseEnvDump(SplitCgiResponse(r.stdout_data).body);
  CHECK(env["GATEWAY_INTERFACE"] == "CGI/1.1");
  CHECK(env.count("QUERY_STRING") == 1);
  CHECK(env["QUERY_STRING"].empty());
}

TEST_CASE("STDIN shorter than CONTENT_LENGTH gives the program what came, then EOF", "[conformance][stdin]") {
  FcgiRun app(App(Echo()));
  RequestSpec spec;
  spec.params = Params(Echo(), "", 100);
  spec.stdin_body = "only ten..";
  FcgiTestClient client;
  REQUIRE(client.Connect(app.address()).ok());
  FcgiResponse r = client.Request(spec);
  INFO(r.Describe() << "\nlauncher:\n" << app.Log());
  REQUIRE(r.ok());
  CHECK(SplitCgiResponse(r.stdout_data).body == EchoOutput("only ten.."));
}

TEST_CASE("STDIN longer than CONTENT_LENGTH is cut at CONTENT_LENGTH", "[conformance][stdin]") {
  FcgiRun app(App(Echo()));
  RequestSpec spec;
  spec.params = Params(Echo(), "", 5);
  spec.stdin_body = "12345-and-more-than-announced";
  FcgiTestClient client;
  REQUIRE(client.Connect(app.address()).ok());
  FcgiResponse r = client.Request(spec);
  INFO(r.Describe() << "\nlauncher:\n" << app.Log());
  REQUIRE(r.ok());
  CHECK(SplitCgiResponse(r.stdout_data).body == EchoOutput("12345"));
}

TEST_CASE("STDIN without CONTENT_LENGTH reaches the program whole", "[conformance][stdin]") {
  FcgiRun app(App(Echo()));
  RequestSpec spec;
  spec.params = Params(Echo());  // no CONTENT_LENGTH (nginx with chunked uploads)
  for (auto& [name, value] : spec.params) {
    if (name == "REQUEST_METHOD") value = "POST";
  }
  spec.stdin_body = "no content length";
  spec.stdin_split = {3, 3};
  FcgiTestClient client;
  REQUIRE(client.Connect(app.address()).ok());
  FcgiResponse r = client.Request(spec);
  INFO(r.Describe() << "\nlauncher:\n" << app.Log());
  REQUIRE(r.ok());
  CHECK(SplitCgiResponse(r.stdout_data).body == EchoOutput("no content length"));
}

TEST_CASE("FILTER with DATA shorter than FCGI_DATA_LENGTH completes", "[conformance][roles]") {
  FcgiRun app(App(Echo()));
  RequestSpec spec;
  spec.role = Role::kFilter;
  spec.params = Params(Echo(), "", 4);
  spec.params.emplace_back("FCGI_DATA_LENGTH", "1000");
  spec.params.emplace_back("FCGI_DATA_LAST_MOD", "1700000000");
  spec.stdin_body = "in: ";
  spec.data = "short data";
  FcgiTestClient client;
  REQUIRE(client.Connect(app.address()).ok());
  FcgiResponse r = client.Request(spec, 5000ms);
  INFO(r.Describe() << "\nlauncher:\n" << app.Log());
  REQUIRE(r.ok());
  CHECK(SplitCgiResponse(r.stdout_data).body == EchoOutput("in: short data"));
}

TEST_CASE("GET_VALUES in the middle of a request is answered at once", "[conformance][mgmt]") {
  FcgiRun app(App(Echo()));
  FcgiTestClient client;
  REQUIRE(client.Connect(app.address()).ok());
  REQUIRE(client.Send(BeginRequestBytes(1) + ParamsBytes(1, Params(Echo(), "", 3))).ok());
  REQUIRE(client.Send(GetValuesBytes({kMpxsConns})).ok());
  ManagementRecord m = client.ReadManagementRecord(3000ms);
  INFO(m.failure << "\nlauncher:\n" << app.Log());
  REQUIRE(m.ok());
  CHECK(m.type == static_cast<uint8_t>(RecordType::kGetValuesResult));
  CHECK(m.Value(kMpxsConns) == "1");
  REQUIRE(client.Send(EmptyParamsBytes(1) + StdinBytes(1, "abc") + EmptyStdinBytes(1)).ok());
  FcgiResponse r = client.ReadUntilEnd(1);
  INFO(r.Describe());
  REQUIRE(r.ok());
  CHECK(SplitCgiResponse(r.stdout_data).body == EchoOutput("abc"));
}

TEST_CASE("GET_VALUES with unknown names answers only the known ones", "[conformance][mgmt]") {
  FcgiRun app(App(Hello()));
  FcgiTestClient client;
  REQUIRE(client.Connect(app.address()).ok());
  REQUIRE(client.Send(GetValuesBytes({"FCGI_NO_SUCH_THING", kMaxReqs, "X"})).ok());
  ManagementRecord m = client.ReadManagementRecord(3000ms);
  INFO(m.failure << "\nlauncher:\n" << app.Log());
  REQUIRE(m.ok());
  CHECK(m.type == static_cast<uint8_t>(RecordType::kGetValuesResult));
  REQUIRE(m.values.size() == 1);
  CHECK(m.values[0].first == kMaxReqs);
  REQUIRE(client.Send(GetValuesBytes({"ONLY_UNKNOWN"})).ok());
  ManagementRecord empty = client.ReadManagementRecord(3000ms);
  REQUIRE(empty.ok());
  CHECK(empty.type == static_cast<uint8_t>(RecordType::kGetValuesResult));
  CHECK(empty.values.empty());
}

TEST_CASE("BEGIN_REQUEST with request id 0 is a management record (UNKNOWN_TYPE)", "[conformance][mgmt]") {
  FcgiRun app(App(Hello()));
  FcgiTestClient client;
  REQUIRE(client.Connect(app.address()).ok());
  REQUIRE(client.Send(RawRecordBytes(kVersion1, 1, 0, BeginBody(1, kFlagKeepConn))).ok());
  ManagementRecord m = client.ReadManagementRecord(3000ms);
  INFO(m.failure << "\nlauncher:\n" << app.Log());
  REQUIRE(m.ok());
  CHECK(m.type == static_cast<uint8_t>(RecordType::kUnknownType));
  CHECK(m.unknown_type == 1);
  RequestSpec spec;
  spec.params = Params(Hello());
  FcgiResponse r = client.Request(spec);
  INFO(r.Describe());
  CHECK(r.ok());
}

TEST_CASE("a duplicate BEGIN_REQUEST for an active id is ignored", "[conformance][requests]") {
  FcgiRun app(App(Echo()));
  FcgiTestClient client;
  REQUIRE(client.Connect(app.address()).ok());
  std::string bytes = BeginRequestBytes(1) + ParamsBytes(1, Params(Echo(), "", 6));
  bytes += BeginRequestBytes(1, Role::kAuthorizer, true);  // must not restart request 1
  bytes += EmptyParamsBytes(1) + StdinBytes(1, "abc") + BeginRequestBytes(1) + StdinBytes(1, "def") +
           EmptyStdinBytes(1);
  REQUIRE(client.Send(bytes).ok());
  FcgiResponse r = client.ReadUntilEnd(1);
  INFO(r.Describe() << "\nlauncher:\n" << app.Log());
  REQUIRE(r.ok());
  CHECK(SplitCgiResponse(r.stdout_data).body == EchoOutput("abcdef"));
  // Exactly one END_REQUEST: KEEP_CONN was off, the launcher closes.
  CHECK(client.WaitForClose(3000ms));
  CHECK(client.protocol_errors().empty());
}

TEST_CASE("records for inactive ids are ignored", "[conformance][requests]") {
  FcgiRun app(App(Echo()));
  FcgiTestClient client;
  REQUIRE(client.Connect(app.address()).ok());
  std::string noise = StdinBytes(7, "stray") + EmptyStdinBytes(7) + ParamsBytes(9, {{"A", "1"}}) +
                      EmptyParamsBytes(9) + DataBytes(11, "x") +
                      RawRecordBytes(kVersion1, static_cast<uint8_t>(RecordType::kStdout), 12, "out") +
                      RawRecordBytes(kVersion1, 200, 13, "unknown type");
  RequestSpec spec;
  spec.params = Params(Echo(), "", 2);
  spec.stdin_body = "ok";
  REQUIRE(client.Send(noise + RequestBytes(spec) + noise).ok());
  FcgiResponse r = client.ReadUntilEnd(1);
  INFO(r.Describe() << "\nlauncher:\n" << app.Log());
  REQUIRE(r.ok());  // includes: no record for 7, 9, 11, 12, 13
  CHECK(SplitCgiResponse(r.stdout_data).body == EchoOutput("ok"));
}

TEST_CASE("ABORT_REQUEST for unknown ids is ignored", "[conformance][requests]") {
  FcgiRun app(App(Echo()));
  FcgiTestClient client;
  REQUIRE(client.Connect(app.address()).ok());
  RequestSpec spec;
  spec.params = Params(Echo(), "", 2);
  spec.stdin_body = "ok";
  REQUIRE(
      client.Send(AbortRequestBytes(5) + AbortRequestBytes(65535) + RequestBytes(spec) + AbortRequestBytes(2))
          .ok());
  FcgiResponse r = client.ReadUntilEnd(1);
  INFO(r.Describe() << "\nlauncher:\n" << app.Log());
  REQUIRE(r.ok());
  CHECK(SplitCgiResponse(r.stdout_data).body == EchoOutput("ok"));
}

TEST_CASE("KEEP_CONN 1 keeps the connection for back-to-back requests reusing id 1",
          "[conformance][keepconn]") {
  FcgiRun app(App(Echo()));
  FcgiTestClient client;
  REQUIRE(client.Connect(app.address()).ok());
  for (int i = 0; i < 5; ++i) {
    const std::string body = "request " + std::to_string(i);
    RequestSpec spec;
    spec.keep_conn = true;
    spec.params = Params(Echo(), "", static_cast<long>(body.size()));
    spec.stdin_body = body;
    FcgiResponse r = client.Request(spec);
    INFO(i << ": " << r.Describe() << "\nlauncher:\n" << app.Log());
    REQUIRE(r.ok());
    CHECK(SplitCgiResponse(r.stdout_data).body == EchoOutput(body));
  }
  CHECK(client.ReadFor(300ms));  // still open
}

TEST_CASE("KEEP_CONN 0 closes after the request, the next connection reuses id 1",
          "[conformance][keepconn]") {
  FcgiRun app(App(Echo()));
  FcgiTestClient client;
  REQUIRE(client.Connect(app.address()).ok());
  RequestSpec spec;
  spec.params = Params(Echo(), "", 1);
  spec.stdin_body = "a";
  REQUIRE(client.Send(RequestBytes(spec)).ok());
  FcgiResponse r = client.ReadUntilEnd(1);
  INFO(r.Describe() << "\nlauncher:\n" << app.Log());
  REQUIRE(r.ok());
  CHECK(client.WaitForClose(3000ms));
  // Back to back on a new connection, id 1 again.
  FcgiTestClient second;
  REQUIRE(second.Connect(app.address()).ok());
  FcgiResponse r2 = second.Request(spec);
  INFO(r2.Describe());
  CHECK(r2.ok());
  CHECK(second.WaitForClose(3000ms));
}

TEST_CASE("the peer closing mid-request stops the program, the launcher goes on", "[conformance][close]") {
  pc::Record record;
  FcgiRun app(pc::ControlApp(record));
  {
    FcgiTestClient client;
    REQUIRE(client.Connect(app.address()).ok());
    REQUIRE(client.Send(RequestBytes(pc::Spec(pc::ControlParams("hang")))).ok());
    pid_t pid = pc::WaitForPid(record.path(), "hang");
    REQUIRE(pid > 0);
    client.Close();
    INFO("launcher:\n" << app.Log());
    CHECK(pc::WaitFor([&] { return pc::PidAndGroupGone(pid); }, 10000ms));
  }
  FcgiResponse r = RequestOnce(app.address(), pc::ControlParams("after"));
  INFO(r.Describe());
  CHECK(r.ok());
}

TEST_CASE("EPIPE after headers (the peer closes while output streams)", "[conformance][close]") {
  pc::Record record;
  FcgiRun app(pc::ControlApp(record));
  for (int round = 0; round < 3; ++round) {
    const std::string query = "stream-" + std::to_string(round);
    FcgiTestClient client;
    REQUIRE(client.Connect(app.address()).ok());
    REQUIRE(client.Send(RequestBytes(pc::Spec(pc::ControlParams(query)))).ok());
    FcgiResponse partial = client.ReadUntilEnd(1, 600ms);
    REQUIRE(partial.stdout_data.find("line") != std::string::npos);  // headers and lines went out
    pid_t pid = pc::RecordedPid(record.path(), query);
    client.Close();  // the launcher's next write fails with EPIPE / ECONNRESET
    INFO("launcher:\n" << app.Log());
    CHECK(pc::WaitFor([&] { return pc::PidAndGroupGone(pid); }, 10000ms));
  }
  CHECK(app.process().IsRunning());
  FcgiResponse r = RequestOnce(app.address(), pc::ControlParams("after"));
  INFO(r.Describe());
  CHECK(r.ok());
}

TEST_CASE("1000 requests multiplexed on one connection", "[conformance][mpx]") {
  FcgiRunOptions options = App(Echo());
  options.workers = 4;
  options.queue = 2000;
  FcgiRun app(options);
  FcgiTestClient client(60000ms);
  REQUIRE(client.Connect(app.address()).ok());
  std::string bytes;
  std::vector<uint16_t> ids;
  for (uint16_t id = 1; id <= 1000; ++id) {
    const std::string body = "body of " + std::to_string(id);
    bytes += BeginRequestBytes(id, Role::kResponder, true);
    bytes += ParamsBytes(id, Params(Echo(), "", static_cast<long>(body.size()))) + EmptyParamsBytes(id);
    bytes += StdinBytes(id, body) + EmptyStdinBytes(id);
    ids.push_back(id);
  }
  REQUIRE(client.Send(bytes).ok());
  std::vector<FcgiResponse> responses = client.ReadUntilAllEnded(ids, 120000ms);
  size_t good = 0;
  for (const FcgiResponse& r : responses) {
    const std::string body = "body of " + std::to_string(r.request_id);
    if (r.ok() && SplitCgiResponse(r.stdout_data).body == EchoOutput(body)) {
      ++good;
    } else {
      UNSCOPED_INFO("request " << r.request_id << ": " << r.Describe());
    }
  }
  INFO("launcher:\n" << app.Log().substr(0, 4000));
  CHECK(good == 1000);
  CHECK(client.protocol_errors().empty());
}

TEST_CASE("the program exits before the empty STDIN record, the response is whole",
          "[conformance][regression]") {
  // Regression (fixed in c327f39): output held until the body arrived was
  // dropped when the program had already exited.
  FcgiRun app(App(Hello()));
  FcgiTestClient client;
  REQUIRE(client.Connect(app.address()).ok());
  REQUIRE(client.Send(BeginRequestBytes(1) + ParamsBytes(1, Params(Hello())) + EmptyParamsBytes(1)).ok());
  std::this_thread::sleep_for(300ms);  // hello.cgi has exited by now
  REQUIRE(client.Send(EmptyStdinBytes(1)).ok());
  FcgiResponse r = client.ReadUntilEnd(1);
  INFO(r.Describe() << "\nlauncher:\n" << app.Log());
  REQUIRE(r.ok());
  CgiResponse cgi = SplitCgiResponse(r.stdout_data);
  CHECK(cgi.status == 200);
  CHECK(cgi.body == "Hello, world!\n");
}

}  // namespace
}  // namespace fcgi::test
