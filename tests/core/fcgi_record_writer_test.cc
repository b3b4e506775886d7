#include "core/fcgi_record_writer.h"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "core/fcgi_bodies.h"
#include "core/fcgi_name_value.h"
#include "core/fcgi_record_parser.h"

namespace fcgi {
namespace {

struct Parsed {
  RecordHeader header;
  std::string content;
};

// Parses complete records from `bytes`; FAILs on error or trailing bytes.
std::vector<Parsed> ParseRecords(std::string_view bytes) {
  std::vector<Parsed> out;
  RecordParser parser;
  while (!bytes.empty()) {
    size_t consumed = 0;
    Record rec;
    RecordParser::Result r = parser.Parse(bytes, &consumed, &rec);
    if (r == RecordParser::Result::kError) FAIL(parser.error().message());
    if (r == RecordParser::Result::kNeedMore) FAIL("incomplete record at the end");
    out.push_back({rec.header, std::string(rec.content)});
    bytes.remove_prefix(consumed);
  }
  if (!parser.AtRecordBoundary()) FAIL("parser not at a record boundary");
  return out;
}

TEST_CASE("EncodeHeader writes version 1, big-endian fields, zero reserved", "[codec][writer]") {
  char h[8];
  EncodeHeader(h, 7, 0xabcd, 0x0102, 6);
  CHECK(std::string(h, 8) == std::string("\x01\x07\xab\xcd\x01\x02\x06\x00", 8));
}

TEST_CASE("PaddingFor brings content to a multiple of 8", "[codec][writer]") {
  CHECK(PaddingFor(0) == 0);
  CHECK(PaddingFor(1) == 7);
  CHECK(PaddingFor(7) == 1);
  CHECK(PaddingFor(8) == 0);
  CHECK(PaddingFor(65535) == 1);
}

TEST_CASE("AppendRecord pads to 8 with zero bytes", "[codec][writer]") {
  for (size_t len : {size_t{0}, size_t{1}, size_t{5}, size_t{8}, size_t{127}, size_t{128}, size_t{65535}}) {
    std::string out = "prefix";
    REQUIRE(AppendRecord(&out, 6, 1, std::string(len, 'a')));
    INFO("len " << len);
    CHECK((out.size() - 6) % 8 == 0);
    CHECK(out.size() - 6 == kHeaderSize + len + PaddingFor(len));
    CHECK(out.compare(0, 6, "prefix") == 0);
    CHECK(out.find_first_not_of('\0', 6 + kHeaderSize + len) == std::string::npos);
    std::vector<Parsed> p = ParseRecords(std::string_view(out).substr(6));
    REQUIRE(p.size() == 1);
    CHECK(p[0].content == std::string(len, 'a'));
    CHECK(p[0].header.padding_length == PaddingFor(len));
  }
}

TEST_CASE("AppendRecord refuses content over 65535 bytes and appends nothing", "[codec][writer]") {
  std::string out = "kept";
  CHECK(AppendRecord(&out, 6, 1, std::string(65535, 'a')));
  CHECK(out.size() == 4 + 8 + 65535 + PaddingFor(65535));
  const size_t before = out.size();
  CHECK_FALSE(AppendRecord(&out, 6, 1, std::string(65536, 'a')));
  CHECK_FALSE(AppendRecord(&out, 10, 0, std::string(80000, 'a')));
  CHECK(out.size() == before);
}

TEST_CASE("GET_VALUES and GET_VALUES_RESULT keep what fits one record", "[codec][writer]") {
  // 4,000 pairs of 20 bytes: 80,000 bytes, more than a record holds.
  std::vector<std::pair<std::string, std::string>> pairs(4000, {kMaxConns, "10000"});
  std::string out;
  const size_t kept = AppendGetValuesResult(&out, pairs);
  std::vector<Parsed> p = ParseRecords(out);
  REQUIRE(p.size() == 1);
  CHECK(p[0].header.content_length == p[0].content.size());
  CHECK(p[0].content.size() <= 65535);
  CHECK(kept == 65535 / 21);  // 1 + 1 + 14 + 5 bytes each
  NameValuePairs decoded;
  REQUIRE(DecodeNameValues(p[0].content, &decoded).ok());
  CHECK(decoded.size() == kept);
  // Names alone: 4,000 of 16 bytes fit; 5,000 do not.
  std::string query;
  CHECK(AppendGetValues(&query, std::vector<std::string>(4000, kMaxConns)) == 4000);
  query.clear();
  CHECK(AppendGetValues(&query, std::vector<std::string>(5000, kMaxConns)) == 65535 / 16);
  CHECK(ParseRecords(query).size() == 1);
}

TEST_CASE("AppendStreamData splits data longer than 65535 bytes", "[codec][writer]") {
  std::string data(65536, '\0');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i % 251);

  std::string one;
  AppendStreamData(&one, RecordType::kStdout, 9, std::string_view(data).substr(0, 65535));
  CHECK(ParseRecords(one).size() == 1);

  std::string out;
  AppendStreamData(&out, RecordType::kStdout, 9, data);
  std::vector<Parsed> p = ParseRecords(out);
  REQUIRE(p.size() == 2);
  CHECK(p[0].header.content_length == 65535);
  CHECK(p[1].header.content_length == 1);
  CHECK(p[0].content + p[1].content == data);
  for (const Parsed& r : p) {
    CHECK(r.header.type == static_cast<uint8_t>(RecordType::kStdout));
    CHECK(r.header.request_id == 9);
  }

  std::string big;
  AppendStreamData(&big, RecordType::kStdin, 1, std::string(3 * 65535 + 10, 'b'));
  CHECK(ParseRecords(big).size() == 4);
}

TEST_CASE("AppendStreamData of nothing writes nothing; AppendStreamEnd writes an empty record",
          "[codec][writer]") {
  std::string out;
  AppendStreamData(&out, RecordType::kParams, 1, "");
  CHECK(out.empty());
  AppendStreamEnd(&out, RecordType::kParams, 1);
  CHECK(out == std::string("\x01\x04\x00\x01\x00\x00\x00\x00", 8));
}

TEST_CASE("Every record type 1-11 encodes and parses back", "[codec][writer]") {
  std::string out;
  AppendBeginRequest(&out, 1, Role::kFilter, true);
  AppendAbortRequest(&out, 2);
  AppendEndRequest(&out, 3, 0xdeadbeef, ProtocolStatus::kOverloaded);
  AppendStreamData(&out, RecordType::kParams, 4, EncodeNameValues({{"A", "1"}}));
  AppendStreamData(&out, RecordType::kStdin, 5, "in");
  AppendStreamData(&out, RecordType::kStdout, 6, "out");
  AppendStreamData(&out, RecordType::kStderr, 7, "err");
  AppendStreamData(&out, RecordType::kData, 8, "data");
  AppendGetValues(&out, {kMaxConns, kMpxsConns});
  AppendGetValuesResult(&out, {{kMaxReqs, "10"}});
  AppendUnknownType(&out, 77);

  std::vector<Parsed> p = ParseRecords(out);
  REQUIRE(p.size() == 11);
  for (size_t i = 0; i < p.size(); ++i) {
    INFO("record " << i);
    CHECK(p[i].header.type == i + 1);
    CHECK(p[i].header.version == 1);
    CHECK(p[i].header.reserved == 0);
    CHECK(p[i].header.padding_length == PaddingFor(p[i].content.size()));
  }
  for (size_t i = 0; i < 8; ++i) CHECK(p[i].header.request_id == i + 1);
  for (size_t i = 8; i < 11; ++i) CHECK(p[i].header.request_id == kNullRequestId);

  BeginRequestBody begin;
  REQUIRE(DecodeBeginRequestBody(p[0].content, &begin).ok());
  CHECK(begin.role == static_cast<uint16_t>(Role::kFilter));
  CHECK(begin.keep_conn());
  CHECK(p[1].content.empty());
  EndRequestBody end;
  REQUIRE(DecodeEndRequestBody(p[2].content, &end).ok());
  CHECK(end.app_status == 0xdeadbeef);
  CHECK(end.protocol_status == static_cast<uint8_t>(ProtocolStatus::kOverloaded));
  NameValuePairs params;
  REQUIRE(DecodeNameValues(p[3].content, &params).ok());
  CHECK(params == NameValuePairs{{"A", "1"}});
  CHECK(p[4].content == "in");
  CHECK(p[5].content == "out");
  CHECK(p[6].content == "err");
  CHECK(p[7].content == "data");
  NameValuePairs names;
  REQUIRE(DecodeNameValues(p[8].content, &names).ok());
  CHECK(names == NameValuePairs{{"FCGI_MAX_CONNS", ""}, {"FCGI_MPXS_CONNS", ""}});
  NameValuePairs values;
  REQUIRE(DecodeNameValues(p[9].content, &values).ok());
  CHECK(values == NameValuePairs{{"FCGI_MAX_REQS", "10"}});
  UnknownTypeBody unknown;
  REQUIRE(DecodeUnknownTypeBody(p[10].content, &unknown).ok());
  CHECK(unknown.type == 77);
}

TEST_CASE("GET_VALUES and GET_VALUES_RESULT round trip", "[codec][writer]") {
  std::string query;
  AppendGetValues(&query, {kMaxConns, kMaxReqs, kMpxsConns});
  std::vector<Parsed> q = ParseRecords(query);
  REQUIRE(q.size() == 1);
  NameValuePairs asked;
  REQUIRE(DecodeNameValues(q[0].content, &asked).ok());
  REQUIRE(asked.size() == 3);

  NameValuePairs answer;
  for (const auto& [name, value] : asked) {
    CHECK(value.empty());
    answer.emplace_back(name, name == kMpxsConns ? "1" : "16");
  }
  std::string reply;
  AppendGetValuesResult(&reply, answer);
  std::vector<Parsed> r = ParseRecords(reply);
  REQUIRE(r.size() == 1);
  CHECK(r[0].header.type == static_cast<uint8_t>(RecordType::kGetValuesResult));
  NameValuePairs got;
  REQUIRE(DecodeNameValues(r[0].content, &got).ok());
  CHECK(got == NameValuePairs{{"FCGI_MAX_CONNS", "16"}, {"FCGI_MAX_REQS", "16"}, {"FCGI_MPXS_CONNS", "1"}});
}

TEST_CASE("BEGIN_REQUEST and END_REQUEST bodies have the specified layout", "[codec][writer]") {
  std::string begin;
  AppendBeginRequestRaw(&begin, 0x0102, 0x1234, 0xff);
  CHECK(begin == std::string("\x01\x01\x01\x02\x00\x08\x00\x00"
                             "\x12\x34\xff\x00\x00\x00\x00\x00",
                             16));
  std::string begin2;
  AppendBeginRequest(&begin2, 1, Role::kResponder, false);
  CHECK(begin2.substr(8) == std::string("\x00\x01\x00\x00\x00\x00\x00\x00", 8));
  std::string end;
  AppendEndRequest(&end, 1, 0x01020304, ProtocolStatus::kUnknownRole);
  CHECK(end == std::string("\x01\x03\x00\x01\x00\x08\x00\x00"
                           "\x01\x02\x03\x04\x03\x00\x00\x00",
                           16));
  std::string abort;
  AppendAbortRequest(&abort, 5);
  CHECK(abort == std::string("\x01\x02\x00\x05\x00\x00\x00\x00", 8));
  std::string unknown;
  AppendUnknownType(&unknown, 42);
  CHECK(unknown == std::string("\x01\x0b\x00\x00\x00\x08\x00\x00"
                               "\x2a\x00\x00\x00\x00\x00\x00\x00",
                               16));
}

}  // namespace
}  // namespace fcgi
