#include "tests/support/fcgi_test_client.h"

#include <catch2/catch.hpp>

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <string>
#include <vector>

#include "core/fcgi_bodies.h"
#include "core/fcgi_record_parser.h"
#include "core/fcgi_record_writer.h"

namespace fcgi::test {
namespace {

struct Rec {
  uint8_t type;
  uint16_t id;
  std::string content;
};

std::vector<Rec> Parse(std::string_view bytes) {
  std::vector<Rec> out;
  RecordParser parser;
  while (!bytes.empty()) {
    size_t consumed = 0;
    Record r;
    if (parser.Parse(bytes, &consumed, &r) != RecordParser::Result::kRecord) {
      FAIL("unparseable bytes: " << parser.error().message());
    }
    out.push_back({r.header.type, r.header.request_id, std::string(r.content)});
    bytes.remove_prefix(consumed);
  }
  return out;
}

// A client adopted onto one end of a socketpair; the test plays the
// application on the other end.
struct Pair {
  FcgiTestClient client{Millis(2000)};
  int app = -1;
  Pair() {
    int fds[2];
    REQUIRE(socketpair(AF_UNIX, SOCK_STREAM, 0, fds) == 0);
    client.Adopt(fds[0]);
    app = fds[1];
  }
  ~Pair() {
    if (app >= 0) close(app);
  }
  void AppSends(const std::string& bytes) {
    REQUIRE(write(app, bytes.data(), bytes.size()) == static_cast<ssize_t>(bytes.size()));
  }
  std::string AppReceives() {  // whatever the client sent so far
    std::string got;
    char buf[4096];
    ssize_t n;
    while ((n = recv(app, buf, sizeof(buf), MSG_DONTWAIT)) > 0) got.append(buf, n);
    return got;
  }
};

std::string Stdout(uint16_t id, std::string_view data) {
  std::string out;
  if (data.empty()) AppendStreamEnd(&out, RecordType::kStdout, id);
  AppendStreamData(&out, RecordType::kStdout, id, data);
  return out;
}
std::string Stderr(uint16_t id, std::string_view data) {
  std::string out;
  if (data.empty()) AppendStreamEnd(&out, RecordType::kStderr, id);
  AppendStreamData(&out, RecordType::kStderr, id, data);
  return out;
}
std::string End(uint16_t id, uint32_t app_status = 0, ProtocolStatus ps = ProtocolStatus::kRequestComplete) {
  std::string out;
  AppendEndRequest(&out, id, app_status, ps);
  return out;
}

TEST_CASE("Builders: a whole request with split PARAMS and STDIN", "[client]") {
  RequestSpec spec;
  spec.id = 3;
  spec.keep_conn = true;
  spec.params = {{"REQUEST_METHOD", "POST"}, {"CONTENT_LENGTH", "5"}};
  spec.params_split = {1, 2};
  spec.stdin_body = "hello";
  spec.stdin_split = {1};
  std::vector<Rec> recs = Parse(RequestBytes(spec));
  REQUIRE(recs.size() == 8);
  CHECK(recs[0].type == 1);
  BeginRequestBody begin;
  REQUIRE(DecodeBeginRequestBody(recs[0].content, &begin).ok());
  CHECK(begin.role == 1);
  CHECK(begin.keep_conn());
  CHECK(recs[1].content.size() == 1);
  CHECK(recs[2].content.size() == 2);
  NameValuePairs params;
  REQUIRE(DecodeNameValues(recs[1].content + recs[2].content + recs[3].content, &params).ok());
  CHECK(params == spec.params);
  CHECK(recs[4].type == 4);
  CHECK(recs[4].content.empty());
  CHECK(recs[5].content == "h");
  CHECK(recs[6].content == "ello");
  CHECK(recs[7].type == 5);
  CHECK(recs[7].content.empty());
  for (const Rec& r : recs) CHECK(r.id == 3);
}

TEST_CASE("Builders: FILTER adds DATA; send_stdin=false sends no STDIN at all", "[client]") {
  RequestSpec filter;
  filter.role = Role::kFilter;
  filter.data = "file";
  std::vector<Rec> f = Parse(RequestBytes(filter));
  REQUIRE(f.size() == 5);  // BEGIN, empty PARAMS, empty STDIN, DATA, empty DATA
  CHECK(f[3].type == 8);
  CHECK(f[3].content == "file");
  CHECK(f[4].type == 8);
  CHECK(f[4].content.empty());

  RequestSpec auth;
  auth.role = Role::kAuthorizer;
  auth.send_stdin = false;
  std::vector<Rec> a = Parse(RequestBytes(auth));
  REQUIRE(a.size() == 2);  // BEGIN + empty PARAMS
  CHECK(a[1].type == 4);
}

TEST_CASE("Builders: split sizes in order, zeros skipped, the rest in maximal records", "[client]") {
  std::string data(70010, 'd');
  std::vector<Rec> recs = Parse(StdinBytes(1, data, {3, 0, 7}));
  REQUIRE(recs.size() == 4);
  CHECK(recs[0].content.size() == 3);
  CHECK(recs[1].content.size() == 7);
  CHECK(recs[2].content.size() == 65535);
  CHECK(recs[3].content.size() == 70010 - 10 - 65535);
  CHECK(StdinBytes(1, "") == "");
  CHECK(Parse(EmptyStdinBytes(9))[0].content.empty());
  CHECK(Parse(AbortRequestBytes(4))[0].type == 2);
  std::vector<Rec> gv = Parse(GetValuesBytes({"FCGI_MAX_CONNS"}));
  CHECK(gv[0].type == 9);
  CHECK(gv[0].id == 0);
}

TEST_CASE("RawRecordBytes writes exactly the header asked for", "[client]") {
  std::string raw = RawRecordBytes(2, 5, 0x0102, "ab", 3, 0x7f);
  CHECK(raw == std::string("\x02\x05\x01\x02\x00\x02\x03\x7f"
                           "ab\0\0\0",
                           13));
}

TEST_CASE("SplitCgiResponse: headers, default status, body", "[client][cgi]") {
  CgiResponse r = SplitCgiResponse("Content-Type: text/plain\r\nX-A:  1 \r\n\r\nbody\r\n\r\nmore");
  REQUIRE(r.ok);
  CHECK(r.status == 200);
  CHECK_FALSE(r.has_status_header);
  CHECK(r.Header("content-type") == "text/plain");
  CHECK(r.Header("CONTENT-TYPE") == "text/plain");
  CHECK(r.Header("x-a") == "1");
  CHECK(r.HasHeader("X-a"));
  CHECK_FALSE(r.HasHeader("Location"));
  CHECK(r.Header("Location").empty());
  CHECK(r.body == "body\r\n\r\nmore");
  CHECK(r.header_list.size() == 2);
}

TEST_CASE("SplitCgiResponse: Status header, LF endings, duplicate headers", "[client][cgi]") {
  CgiResponse r = SplitCgiResponse(
      "status: 404 Not Found\nSet-Cookie: a=1\nset-cookie: b=2\nContent-Type: text/html\n\n<p>");
  REQUIRE(r.ok);
  CHECK(r.status == 404);
  CHECK(r.reason == "Not Found");
  CHECK(r.has_status_header);
  CHECK(r.HeaderValues("Set-Cookie") == std::vector<std::string>{"a=1", "b=2"});
  CHECK(r.headers.count("SET-COOKIE") == 2);
  CHECK(r.body == "<p>");

  CgiResponse bare = SplitCgiResponse("Status: 302\r\nLocation: /x\r\n\r\n");
  REQUIRE(bare.ok);
  CHECK(bare.status == 302);
  CHECK(bare.reason.empty());
  CHECK(bare.body.empty());
}

TEST_CASE("SplitCgiResponse: NPH status line", "[client][cgi]") {
  CgiResponse r = SplitCgiResponse("HTTP/1.1 201 Created\r\nContent-Type: text/plain\r\n\r\nok");
  REQUIRE(r.ok);
  CHECK(r.status_line == "HTTP/1.1 201 Created");
  CHECK(r.status == 201);
  CHECK(r.reason == "Created");
  CHECK_FALSE(r.has_status_header);
}

TEST_CASE("SplitCgiResponse: malformed output is not ok", "[client][cgi]") {
  CHECK_FALSE(SplitCgiResponse("").ok);
  CgiResponse unterminated = SplitCgiResponse("Content-Type: text/plain\r\n");
  CHECK_FALSE(unterminated.ok);
  CHECK(unterminated.error == "output ends inside the header block");
  CHECK(unterminated.Header("Content-Type") == "text/plain");
  CgiResponse no_colon = SplitCgiResponse("hello world\n\nbody");
  CHECK_FALSE(no_colon.ok);
  CHECK(no_colon.error.find("hello world") != std::string::npos);
  CHECK_FALSE(SplitCgiResponse("Status: abc\n\n").ok);
  CHECK_FALSE(SplitCgiResponse("Status: 2000\n\n").ok);
}

TEST_CASE("Client demultiplexes records per request id", "[client]") {
  Pair p;
  REQUIRE(p.client.Send(BeginRequestBytes(1) + BeginRequestBytes(2)).ok());
  CHECK(Parse(p.AppReceives()).size() == 2);
  CHECK(p.client.PendingRequests(1) == 1);
  p.AppSends(Stdout(2, "two") + Stdout(1, "Status: 200\r\n\r\none") + Stderr(1, "warn") + Stdout(1, "") +
             Stderr(1, "") + End(1, 0) + Stdout(2, "") + End(2, 7));
  std::vector<FcgiResponse> rs = p.client.ReadUntilAllEnded({1, 2});
  REQUIRE(rs.size() == 2);
  INFO(rs[0].Describe());
  CHECK(rs[0].ok());
  CHECK(rs[0].stdout_data == "Status: 200\r\n\r\none");
  CHECK(rs[0].stderr_data == "warn");
  CHECK(rs[0].stdout_closed);
  CHECK(rs[0].stderr_closed);
  CHECK(rs[0].stdout_records == 2);
  CHECK(rs[0].stderr_records == 2);
  REQUIRE(rs[0].records.size() == 5);
  CHECK(rs[0].records[0].type == 6);
  CHECK(rs[0].records[1].type == 7);
  CHECK(rs[0].records[4].type == 3);
  CHECK(rs[1].ok());
  CHECK(rs[1].app_status == 7);
  CHECK(rs[1].stdout_data == "two");
  CHECK(rs[1].records.size() == 3);
  CHECK(p.client.PendingRequests(1) == 0);
  CHECK(p.client.protocol_errors().empty());
}

TEST_CASE("Client reports the application's protocol errors", "[client]") {
  Pair p;
  REQUIRE(p.client.Send(BeginRequestBytes(1)).ok());
  SECTION("records for an id never begun, and after END_REQUEST") {
    p.AppSends(Stdout(5, "x") + Stdout(1, "") + End(1));
    FcgiResponse r = p.client.ReadUntilEnd(1);
    CHECK(r.ended);
    REQUIRE(r.protocol_errors.size() == 1);
    CHECK(r.protocol_errors[0] == "STDOUT record for request id 5, which was never begun");
    CHECK_FALSE(r.ok());
    p.AppSends(Stdout(1, "late"));
    CHECK(p.client.ReadFor(Millis(50)));
    REQUIRE(p.client.protocol_errors().size() == 2);
    CHECK(p.client.protocol_errors()[1] == "STDOUT record for request id 1 after its END_REQUEST");
  }
  SECTION("data after the end of the stream, a bad END_REQUEST") {
    std::string short_end = RawRecordBytes(1, 3, 1, std::string_view("\0\0", 2), 0);
    p.AppSends(Stdout(1, "") + Stdout(1, "more") + short_end);
    FcgiResponse r = p.client.ReadUntilEnd(1);
    CHECK(r.ended);
    REQUIRE(r.protocol_errors.size() == 2);
    CHECK(r.protocol_errors[0] == "STDOUT record after the end of its stream (request id 1)");
    CHECK(r.protocol_errors[1] == "END_REQUEST body is 2 bytes (expected 8)");
  }
  SECTION("a version 2 record") {
    p.AppSends(RawRecordBytes(2, 6, 1, "x"));
    FcgiResponse r = p.client.ReadUntilEnd(1);
    CHECK_FALSE(r.ended);
    CHECK(r.failure == "the application's record stream is unparseable");
    REQUIRE(r.protocol_errors.size() == 1);
    CHECK(r.protocol_errors[0].find("FastCGI version 2") != std::string::npos);
  }
  SECTION("a type an application must not send") {
    p.AppSends(StdinBytes(1, "x") + End(1));
    FcgiResponse r = p.client.ReadUntilEnd(1);
    REQUIRE(r.protocol_errors.size() == 1);
    CHECK(r.protocol_errors[0] == "application sent a STDIN record for request id 1");
  }
}

TEST_CASE("Client waits are bounded and report failures as values", "[client]") {
  Pair p;
  p.client.set_timeout(Millis(150));
  REQUIRE(p.client.Send(BeginRequestBytes(1)).ok());
  auto start = std::chrono::steady_clock::now();
  FcgiResponse r = p.client.ReadUntilEnd(1);
  auto took = std::chrono::steady_clock::now() - start;
  CHECK(r.failure == "timed out after 150 ms waiting for END_REQUEST of request id 1");
  CHECK(took >= Millis(140));
  CHECK(took < Millis(2000));
  CHECK_FALSE(p.client.ReadManagementRecord(Millis(20)).ok());
  CHECK_FALSE(p.client.WaitForClose(Millis(20)));

  // The incomplete request was not dropped: it can still complete.
  p.AppSends(Stdout(1, "late") + End(1));
  FcgiResponse later = p.client.ReadUntilEnd(1);
  CHECK(later.ok());
  CHECK(later.stdout_data == "late");

  FcgiResponse never = p.client.ReadUntilEnd(9);
  CHECK(never.failure.find("never begun") != std::string::npos);
}

TEST_CASE("Client sees the peer close, with or without END_REQUEST", "[client]") {
  Pair p;
  REQUIRE(p.client.Send(BeginRequestBytes(1)).ok());
  p.AppSends(Stdout(1, "partial"));
  close(p.app);
  p.app = -1;
  FcgiResponse r = p.client.ReadUntilEnd(1);
  CHECK(r.stdout_data == "partial");
  CHECK(r.failure == "the application closed the connection before END_REQUEST of request id 1");
  CHECK(p.client.WaitForClose(Millis(100)));
  CHECK(p.client.peer_closed());
}

TEST_CASE("Client collects management records", "[client]") {
  Pair p;
  REQUIRE(p.client.Send(GetValuesBytes({"FCGI_MAX_CONNS", "FCGI_MPXS_CONNS"})).ok());
  std::string reply;
  AppendGetValuesResult(&reply, {{"FCGI_MAX_CONNS", "8"}, {"FCGI_MPXS_CONNS", "1"}});
  AppendUnknownType(&reply, 99);
  p.AppSends(reply);
  ManagementRecord m = p.client.ReadManagementRecord();
  REQUIRE(m.ok());
  CHECK(m.type == 10);
  CHECK(m.Value("FCGI_MAX_CONNS") == "8");
  CHECK(m.Value("FCGI_MPXS_CONNS") == "1");
  CHECK(m.Value("FCGI_MAX_REQS").empty());
  ManagementRecord u = p.client.ReadManagementRecord();
  REQUIRE(u.ok());
  CHECK(u.type == 11);
  CHECK(u.unknown_type == 99);
  CHECK(p.client.protocol_errors().empty());
}

TEST_CASE("Client sends in pieces and the bytes arrive unchanged", "[client]") {
  Pair p;
  RequestSpec spec;
  spec.params = {{"A", "b"}};
  spec.stdin_body = "xyz";
  std::string bytes = RequestBytes(spec);
  REQUIRE(p.client.Send(bytes, 1).ok());
  CHECK(p.AppReceives() == bytes);
  REQUIRE(p.client.Send(bytes.substr(0, 16), 5, Millis(1)).ok());
  CHECK(p.AppReceives() == bytes.substr(0, 16));
}

TEST_CASE("Client connects to unix and tcp listeners, and reports bad addresses", "[client]") {
  char dir_template[] = "/tmp/fcgi-client-test.XXXXXX";
  REQUIRE(mkdtemp(dir_template) != nullptr);
  std::string path = std::string(dir_template) + "/s.sock";
  int ul = socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un un{};
  un.sun_family = AF_UNIX;
  std::strcpy(un.sun_path, path.c_str());
  REQUIRE(bind(ul, reinterpret_cast<sockaddr*>(&un), sizeof(un)) == 0);
  REQUIRE(listen(ul, 4) == 0);
  {
    FcgiTestClient c;
    Status s = c.Connect("unix:" + path);
    INFO(s.ToString());
    CHECK(s.ok());
    CHECK(c.connected());
  }
  close(ul);
  unlink(path.c_str());
  rmdir(dir_template);

  int tl = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in in{};
  in.sin_family = AF_INET;
  in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(bind(tl, reinterpret_cast<sockaddr*>(&in), sizeof(in)) == 0);
  REQUIRE(listen(tl, 4) == 0);
  socklen_t len = sizeof(in);
  getsockname(tl, reinterpret_cast<sockaddr*>(&in), &len);
  {
    FcgiTestClient c;
    CHECK(c.Connect("tcp:127.0.0.1:" + std::to_string(ntohs(in.sin_port))).ok());
  }
  close(tl);

  FcgiTestClient c;
  CHECK(c.Connect("127.0.0.1:80").code() == Status::Code::kInvalidArgument);
  CHECK(c.Connect("tcp:[::1]:99999").code() == Status::Code::kInvalidArgument);
  CHECK(c.Connect("unix:/nonexistent/dir/s.sock").code() == Status::Code::kNotFound);
  CHECK_FALSE(c.connected());
  CHECK_FALSE(c.Send("x").ok());
  FcgiResponse r = RequestOnce("unix:/nonexistent/dir/s.sock", {});
  CHECK(r.failure.find("connect(2) unix:/nonexistent/dir/s.sock") == 0);
}

}  // namespace
}  // namespace fcgi::test
