#include "core/connection_state.h"

#include <catch2/catch.hpp>
#include <map>
#include <string>
#include <vector>

#include "core/fcgi_bodies.h"
#include "core/fcgi_name_value.h"
#include "core/fcgi_record_parser.h"
#include "core/fcgi_record_writer.h"

namespace fcgi {
namespace {

// Records every event; optionally ends requests from inside callbacks.
struct Recorder : ConnectionEvents {
  std::vector<std::string> events;
  std::map<uint16_t, NameValuePairs> params;
  std::map<uint16_t, std::string> stdin_data, data;
  ConnectionState* state = nullptr;
  std::string* output = nullptr;
  bool end_on_ready = false;

  void OnRequestReady(uint16_t id, Role role, bool keep_conn, NameValuePairs p) override {
    events.push_back("ready " + std::to_string(id) + " role " + std::to_string(static_cast<int>(role)) +
                     (keep_conn ? " keep" : ""));
    params[id] = std::move(p);
    if (end_on_ready) state->EndRequest(id, 7, ProtocolStatus::kRequestComplete, output);
  }
  void OnStdin(uint16_t id, std::string_view d) override { stdin_data[id] += d; }
  void OnStdinEnd(uint16_t id) override { events.push_back("stdin-end " + std::to_string(id)); }
  void OnData(uint16_t id, std::string_view d) override { data[id] += d; }
  void OnDataEnd(uint16_t id) override { events.push_back("data-end " + std::to_string(id)); }
  void OnAbort(uint16_t id) override { events.push_back("abort " + std::to_string(id)); }
};

struct OutRecord {
  uint8_t type;
  uint16_t id;
  std::string content;
};

std::vector<OutRecord> ParseAll(const std::string& bytes) {
  std::vector<OutRecord> out;
  RecordParser parser;
  std::string_view in(bytes);
  while (!in.empty()) {
    size_t consumed = 0;
    Record r;
    auto res = parser.Parse(in, &consumed, &r);
    in.remove_prefix(consumed);
    REQUIRE(res != RecordParser::Result::kError);
    if (res == RecordParser::Result::kNeedMore) break;
    out.push_back({r.header.type, r.header.request_id, std::string(r.content)});
  }
  return out;
}

std::string Begin(uint16_t id, uint16_t role = 1, uint8_t flags = kFlagKeepConn) {
  std::string s;
  AppendBeginRequestRaw(&s, id, role, flags);
  return s;
}

std::string Params(uint16_t id, const NameValuePairs& pairs) {
  std::string s;
  AppendStreamData(&s, RecordType::kParams, id, EncodeNameValues(pairs));
  AppendStreamEnd(&s, RecordType::kParams, id);
  return s;
}

std::string Stream(RecordType type, uint16_t id, std::string_view data) {
  std::string s;
  AppendStreamData(&s, type, id, data);
  AppendStreamEnd(&s, type, id);
  return s;
}

struct Fixture {
  Recorder rec;
  std::string out;
  ConnectionState state;
  explicit Fixture(ConnectionLimits limits = {}) : state(&rec, limits) {
    rec.state = &state;
    rec.output = &out;
  }
  Status Feed(const std::string& bytes, size_t chunk = 0) {
    if (chunk == 0) return state.Feed(bytes, &out);
    for (size_t i = 0; i < bytes.size(); i += chunk) {
      Status s = state.Feed(std::string_view(bytes).substr(i, chunk), &out);
      if (!s.ok()) return s;
    }
    return Status::Ok();
  }
};

TEST_CASE("a request's params, stdin and end arrive as events whatever the chunking", "[connection_state]") {
  std::string wire = Begin(1) + Params(1, {{"REQUEST_METHOD", "POST"}, {"CONTENT_LENGTH", "5"}}) +
                     Stream(RecordType::kStdin, 1, "hello");
  for (size_t chunk : {0u, 1u, 3u, 7u, 64u}) {
    Fixture f;
    REQUIRE(f.Feed(wire, chunk).ok());
    REQUIRE(f.rec.events == std::vector<std::string>{"ready 1 role 1 keep", "stdin-end 1"});
    REQUIRE(f.rec.params[1] == NameValuePairs{{"REQUEST_METHOD", "POST"}, {"CONTENT_LENGTH", "5"}});
    REQUIRE(f.rec.stdin_data[1] == "hello");
    REQUIRE(f.out.empty());
    REQUIRE(f.state.IsRunning(1));
  }
}

TEST_CASE("EndRequest closes stdout (and stderr if used) then sends END_REQUEST", "[connection_state]") {
  Fixture f;
  REQUIRE(f.Feed(Begin(1, 1, 0) + Params(1, {})).ok());
  REQUIRE(f.state.AppendStdout(1, "Status: 200\r\n\r\nhi", &f.out));
  REQUIRE(f.state.AppendStderr(1, "warn", &f.out));
  REQUIRE(f.state.EndRequest(1, 3, ProtocolStatus::kRequestComplete, &f.out));
  auto recs = ParseAll(f.out);
  REQUIRE(recs.size() == 5);
  CHECK(recs[0].type == 6);
  CHECK(recs[1].type == 7);
  CHECK((recs[2].type == 6 && recs[2].content.empty()));
  CHECK((recs[3].type == 7 && recs[3].content.empty()));
  REQUIRE(recs[4].type == 3);
  EndRequestBody end;
  REQUIRE(DecodeEndRequestBody(recs[4].content, &end).ok());
  CHECK(end.app_status == 3);
  CHECK(end.protocol_status == 0);
  // KEEP_CONN was off: the connection should close now, and nothing more is emitted for id 1.
  CHECK(f.state.ShouldClose());
  std::string more;
  CHECK_FALSE(f.state.AppendStdout(1, "late", &more));
  CHECK_FALSE(f.state.EndRequest(1, 0, ProtocolStatus::kRequestComplete, &more));
  CHECK(more.empty());
}

TEST_CASE("KEEP_CONN keeps the connection and lets id 1 be reused", "[connection_state]") {
  Fixture f;
  for (int round = 0; round < 3; ++round) {
    REQUIRE(f.Feed(Begin(1) + Params(1, {{"N", std::to_string(round)}})).ok());
    REQUIRE(f.state.EndRequest(1, 0, ProtocolStatus::kRequestComplete, &f.out));
    CHECK_FALSE(f.state.ShouldClose());
  }
  CHECK(f.rec.events.size() == 3);
}

TEST_CASE("multiplexed requests keep their streams apart", "[connection_state]") {
  Fixture f;
  std::string wire = Begin(1) + Begin(2);
  std::string p1 = Params(1, {{"A", "1"}}), p2 = Params(2, {{"B", "2"}});
  wire += p2 + p1;
  std::string s;
  AppendStreamData(&s, RecordType::kStdin, 1, "one-");
  AppendStreamData(&s, RecordType::kStdin, 2, "two-");
  AppendStreamData(&s, RecordType::kStdin, 1, "uno");
  AppendStreamEnd(&s, RecordType::kStdin, 2);
  AppendStreamEnd(&s, RecordType::kStdin, 1);
  REQUIRE(f.Feed(wire + s, 5).ok());
  CHECK(f.rec.stdin_data[1] == "one-uno");
  CHECK(f.rec.stdin_data[2] == "two-");
  CHECK(f.state.active_requests() == 2);
}

TEST_CASE("GET_VALUES is answered with the known names only", "[connection_state]") {
  ConnectionLimits limits;
  limits.max_conns = 9;
  limits.max_reqs = 4;
  Fixture f(limits);
  std::string wire;
  AppendGetValues(&wire, {"FCGI_MAX_CONNS", "FCGI_MAX_REQS", "FCGI_MPXS_CONNS", "NO_SUCH_NAME"});
  REQUIRE(f.Feed(wire).ok());
  auto recs = ParseAll(f.out);
  REQUIRE(recs.size() == 1);
  CHECK(recs[0].type == 10);
  CHECK(recs[0].id == 0);
  NameValuePairs got;
  REQUIRE(DecodeNameValues(recs[0].content, &got).ok());
  CHECK(got == NameValuePairs{{"FCGI_MAX_CONNS", "9"}, {"FCGI_MAX_REQS", "4"}, {"FCGI_MPXS_CONNS", "1"}});
}

TEST_CASE("GET_VALUES asking 4,000 names gets each known name once", "[connection_state]") {
  Fixture f;
  std::vector<std::string> names;
  for (int i = 0; i < 4000; ++i) names.push_back(i % 2 == 0 ? "FCGI_MAX_CONNS" : "FCGI_MAX_REQS");
  std::string wire;
  REQUIRE(AppendGetValues(&wire, names) == names.size());
  REQUIRE(f.Feed(wire).ok());
  auto recs = ParseAll(f.out);
  REQUIRE(recs.size() == 1);
  CHECK(recs[0].type == 10);
  NameValuePairs got;
  REQUIRE(DecodeNameValues(recs[0].content, &got).ok());
  REQUIRE(got.size() == 2);
  CHECK(got[0].first == "FCGI_MAX_CONNS");
  CHECK(got[1].first == "FCGI_MAX_REQS");
}

TEST_CASE("unknown management types get UNKNOWN_TYPE; BEGIN_REQUEST with id 0 too", "[connection_state]") {
  Fixture f;
  std::string wire;
  REQUIRE(AppendRecord(&wire, 42, 0, "xyz"));
  wire += Begin(0);
  REQUIRE(f.Feed(wire).ok());
  auto recs = ParseAll(f.out);
  REQUIRE(recs.size() == 2);
  UnknownTypeBody body;
  REQUIRE(recs[0].type == 11);
  REQUIRE(DecodeUnknownTypeBody(recs[0].content, &body).ok());
  CHECK(body.type == 42);
  REQUIRE(DecodeUnknownTypeBody(recs[1].content, &body).ok());
  CHECK(body.type == 1);
  CHECK(f.rec.events.empty());
}

TEST_CASE("unknown role is refused with UNKNOWN_ROLE and its records are ignored", "[connection_state]") {
  Fixture f;
  REQUIRE(f.Feed(Begin(5, 9) + Params(5, {{"A", "b"}})).ok());
  auto recs = ParseAll(f.out);
  REQUIRE(recs.size() == 1);
  EndRequestBody end;
  REQUIRE(DecodeEndRequestBody(recs[0].content, &end).ok());
  CHECK(end.protocol_status == 3);
  CHECK(f.rec.events.empty());
  CHECK(f.state.ignored_records() == 2);  // PARAMS data + PARAMS end for an inactive id
}

TEST_CASE("records for unknown ids, duplicate BEGIN and ABORT of unknown ids are ignored",
          "[connection_state]") {
  Fixture f;
  std::string wire = Begin(1) + Begin(1);
  std::string abort_unknown;
  AppendAbortRequest(&abort_unknown, 77);
  wire += abort_unknown + Stream(RecordType::kStdin, 9, "zzz") + Params(1, {});
  REQUIRE(f.Feed(wire).ok());
  CHECK(f.rec.events == std::vector<std::string>{"ready 1 role 1 keep"});
  CHECK(f.out.empty());
  CHECK(f.state.ignored_records() == 4);
}

TEST_CASE("STDIN before PARAMS ended is a protocol error", "[connection_state]") {
  Fixture f;
  std::string wire = Begin(1);
  AppendStreamData(&wire, RecordType::kStdin, 1, "early");
  Status s = f.Feed(wire);
  REQUIRE_FALSE(s.ok());
  CHECK(s.message().find("STDIN") != std::string::npos);
}

TEST_CASE("a version 2 header is a protocol error", "[connection_state]") {
  Fixture f;
  std::string wire = Begin(1);
  wire[0] = 2;
  CHECK_FALSE(f.Feed(wire).ok());
}

TEST_CASE("ABORT of a request still in PARAMS ends it here; of a running one asks the owner",
          "[connection_state]") {
  Fixture f;
  std::string wire = Begin(1) + Begin(2) + Params(2, {});
  AppendAbortRequest(&wire, 1);
  AppendAbortRequest(&wire, 2);
  REQUIRE(f.Feed(wire).ok());
  CHECK(f.rec.events == std::vector<std::string>{"ready 2 role 1 keep", "abort 2"});
  auto recs = ParseAll(f.out);
  REQUIRE(recs.size() == 2);  // empty STDOUT + END_REQUEST for id 1
  CHECK(recs[1].type == 3);
  CHECK(recs[1].id == 1);
  CHECK_FALSE(f.state.IsActive(1));
  CHECK(f.state.IsActive(2));
}

TEST_CASE("PARAMS over the limit get a 431 response and END_REQUEST, connection survives",
          "[connection_state]") {
  ConnectionLimits limits;
  limits.max_params_bytes = 100;
  Fixture f(limits);
  REQUIRE(f.Feed(Begin(1) + Params(1, {{"BIG", std::string(500, 'x')}}) + Begin(2) + Params(2, {})).ok());
  auto recs = ParseAll(f.out);
  REQUIRE(recs.size() >= 3);
  CHECK(recs[0].type == 6);
  CHECK(recs[0].content.find("Status: 431") == 0);
  CHECK(recs.back().type == 3);
  CHECK(f.rec.events == std::vector<std::string>{"ready 2 role 1 keep"});
}

TEST_CASE("more active requests than the limit are OVERLOADED", "[connection_state]") {
  ConnectionLimits limits;
  limits.max_requests = 2;
  Fixture f(limits);
  REQUIRE(f.Feed(Begin(1) + Begin(2) + Begin(3)).ok());
  auto recs = ParseAll(f.out);
  REQUIRE(recs.size() == 1);
  EndRequestBody end;
  REQUIRE(DecodeEndRequestBody(recs[0].content, &end).ok());
  CHECK(recs[0].id == 3);
  CHECK(end.protocol_status == 2);
}

TEST_CASE("FILTER: DATA events after STDIN", "[connection_state]") {
  Fixture f;
  REQUIRE(f.Feed(Begin(1, 3) + Params(1, {}) + Stream(RecordType::kStdin, 1, "in") +
                 Stream(RecordType::kData, 1, "file-data"))
              .ok());
  CHECK(f.rec.events == std::vector<std::string>{"ready 1 role 3 keep", "stdin-end 1", "data-end 1"});
  CHECK(f.rec.data[1] == "file-data");
}

TEST_CASE("the owner may end a request from inside OnRequestReady", "[connection_state]") {
  Fixture f;
  f.rec.end_on_ready = true;
  REQUIRE(f.Feed(Begin(1) + Params(1, {}) + Stream(RecordType::kStdin, 1, "ignored")).ok());
  CHECK_FALSE(f.state.IsActive(1));
  auto recs = ParseAll(f.out);
  REQUIRE(recs.size() == 2);
  CHECK(recs[1].type == 3);
  CHECK(f.rec.stdin_data[1].empty());
}

TEST_CASE("PeerInputComplete: a request whose empty STDIN came before its end", "[connection_state]") {
  Fixture f;
  CHECK(f.state.PeerInputComplete());  // nothing begun yet
  REQUIRE(f.Feed(Begin(1, 1, 0) + Params(1, {})).ok());
  CHECK_FALSE(f.state.PeerInputComplete());  // running, STDIN still open
  REQUIRE(f.Feed(Stream(RecordType::kStdin, 1, "body")).ok());
  CHECK_FALSE(f.state.PeerInputComplete());  // input complete, but the request is open
  REQUIRE(f.state.EndRequest(1, 0, ProtocolStatus::kRequestComplete, &f.out));
  CHECK(f.state.ShouldClose());
  CHECK(f.state.PeerInputComplete());
}

TEST_CASE("PeerInputComplete: the empty STDIN after END_REQUEST (Apache) completes it",
          "[connection_state]") {
  Fixture f;
  REQUIRE(f.Feed(Begin(1, 1, 0) + Params(1, {{"CONTENT_LENGTH", "2"}})).ok());
  std::string body;
  AppendStreamData(&body, RecordType::kStdin, 1, "hi");
  REQUIRE(f.Feed(body).ok());
  REQUIRE(f.state.EndRequest(1, 0, ProtocolStatus::kRequestComplete, &f.out));
  CHECK(f.state.ShouldClose());
  CHECK_FALSE(f.state.PeerInputComplete());  // the peer still owes the empty STDIN
  std::string end;
  AppendStreamEnd(&end, RecordType::kStdin, 1);
  REQUIRE(f.Feed(end.substr(0, 3)).ok());
  CHECK_FALSE(f.state.PeerInputComplete());  // half a record buffered
  REQUIRE(f.Feed(end.substr(3)).ok());
  CHECK(f.state.PeerInputComplete());
  CHECK(f.state.ignored_records() == 1);
}

TEST_CASE("PeerInputComplete: a request ended from inside OnRequestReady, STDIN in the same read",
          "[connection_state]") {
  Fixture f;
  f.rec.end_on_ready = true;  // an error page answered before the body was read
  REQUIRE(f.Feed(Begin(1, 1, 0) + Params(1, {})).ok());
  CHECK_FALSE(f.state.PeerInputComplete());
  REQUIRE(f.Feed(Stream(RecordType::kStdin, 1, "ignored")).ok());
  CHECK(f.state.PeerInputComplete());
}

TEST_CASE("PeerInputComplete: FILTER needs the empty DATA record too", "[connection_state]") {
  Fixture f;
  REQUIRE(f.Feed(Begin(1, 3, 0) + Params(1, {}) + Stream(RecordType::kStdin, 1, "in")).ok());
  REQUIRE(f.state.EndRequest(1, 0, ProtocolStatus::kRequestComplete, &f.out));
  CHECK_FALSE(f.state.PeerInputComplete());
  REQUIRE(f.Feed(Stream(RecordType::kData, 1, "file")).ok());
  CHECK(f.state.PeerInputComplete());
}

TEST_CASE("PeerInputComplete: an AUTHORIZER without STDIN records stays incomplete", "[connection_state]") {
  Fixture f;
  REQUIRE(f.Feed(Begin(1, 2, 0) + Params(1, {})).ok());  // mod_fcgid sends no STDIN for AUTHORIZER
  REQUIRE(f.state.EndRequest(1, 0, ProtocolStatus::kRequestComplete, &f.out));
  CHECK_FALSE(f.state.PeerInputComplete());
}

TEST_CASE("PeerInputComplete: refused or ended before PARAMS ended, what follows is unknown",
          "[connection_state]") {
  SECTION("unknown role") {
    Fixture f;
    REQUIRE(f.Feed(Begin(1, 9, 0)).ok());
    CHECK(f.state.ShouldClose());
    CHECK_FALSE(f.state.PeerInputComplete());
    REQUIRE(f.Feed(Params(1, {}) + Stream(RecordType::kStdin, 1, "")).ok());
    CHECK_FALSE(f.state.PeerInputComplete());
  }
  SECTION("overloaded") {
    ConnectionLimits limits;
    limits.max_requests = 1;
    Fixture f(limits);
    REQUIRE(f.Feed(Begin(1) + Params(1, {}) + Stream(RecordType::kStdin, 1, "") + Begin(2, 1, 0)).ok());
    REQUIRE(f.state.EndRequest(1, 0, ProtocolStatus::kRequestComplete, &f.out));
    CHECK_FALSE(f.state.PeerInputComplete());
  }
  SECTION("PARAMS over the limit") {
    ConnectionLimits limits;
    limits.max_params_bytes = 100;
    Fixture f(limits);
    REQUIRE(f.Feed(Begin(1, 1, 0) + Params(1, {{"BIG", std::string(500, 'x')}}) +
                   Stream(RecordType::kStdin, 1, ""))
                .ok());
    CHECK(f.state.ShouldClose());
    CHECK_FALSE(f.state.PeerInputComplete());
  }
}

TEST_CASE("PeerInputComplete: a new BEGIN_REQUEST for the id drops its unfinished input",
          "[connection_state]") {
  Fixture f;
  REQUIRE(f.Feed(Begin(1) + Params(1, {})).ok());
  REQUIRE(f.state.EndRequest(1, 0, ProtocolStatus::kRequestComplete, &f.out));
  CHECK_FALSE(f.state.PeerInputComplete());  // STDIN of the first request never came
  REQUIRE(f.Feed(Begin(1) + Params(1, {}) + Stream(RecordType::kStdin, 1, "")).ok());
  REQUIRE(f.state.EndRequest(1, 0, ProtocolStatus::kRequestComplete, &f.out));
  CHECK(f.state.PeerInputComplete());
}

}  // namespace
}  // namespace fcgi
