#include "core/fcgi_record_parser.h"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "core/fcgi_record_writer.h"

namespace fcgi {
namespace {

struct OwnedRecord {
  RecordHeader header;
  std::string content;
  bool operator==(const OwnedRecord& o) const {
    return header.version == o.header.version && header.type == o.header.type &&
           header.request_id == o.header.request_id && header.content_length == o.header.content_length &&
           header.padding_length == o.header.padding_length && header.reserved == o.header.reserved &&
           content == o.content;
  }
};

struct ParseOutcome {
  std::vector<OwnedRecord> records;
  bool error = false;
  std::string error_message;
  bool at_boundary = false;
};

// Feeds `bytes` to one parser in pieces of `chunk` bytes (0 = all at once).
// Contract violations (consumed too much, need-more with input left) FAIL.
ParseOutcome ParseAll(std::string_view bytes, size_t chunk = 0) {
  ParseOutcome out;
  RecordParser parser;
  size_t step = chunk == 0 ? bytes.size() : chunk;
  for (size_t off = 0; off < bytes.size();) {
    std::string_view piece = bytes.substr(off, step);
    off += piece.size();
    while (true) {
      size_t consumed = 0;
      Record rec;
      RecordParser::Result r = parser.Parse(piece, &consumed, &rec);
      if (consumed > piece.size()) FAIL("consumed " << consumed << " of " << piece.size());
      if (r == RecordParser::Result::kError) {
        out.error = true;
        out.error_message = parser.error().message();
        return out;
      }
      if (r == RecordParser::Result::kNeedMore) {
        if (consumed != piece.size()) FAIL("need-more left " << piece.size() - consumed);
        break;
      }
      if (rec.content.size() != rec.header.content_length) FAIL("content size mismatch");
      out.records.push_back({rec.header, std::string(rec.content)});
      piece.remove_prefix(consumed);
      if (piece.empty()) break;
    }
  }
  out.at_boundary = parser.AtRecordBoundary();
  return out;
}

std::string RawHeader(uint8_t version, uint8_t type, uint16_t id, uint16_t len, uint8_t pad,
                      uint8_t reserved) {
  std::string h(8, '\0');
  h[0] = static_cast<char>(version);
  h[1] = static_cast<char>(type);
  h[2] = static_cast<char>(id >> 8);
  h[3] = static_cast<char>(id & 0xff);
  h[4] = static_cast<char>(len >> 8);
  h[5] = static_cast<char>(len & 0xff);
  h[6] = static_cast<char>(pad);
  h[7] = static_cast<char>(reserved);
  return h;
}

TEST_CASE("DecodeHeader reads every field big-endian", "[codec][parser]") {
  RecordHeader h = DecodeHeader(RawHeader(1, 5, 0x1234, 0xfedc, 0xab, 0x77));
  CHECK(h.version == 1);
  CHECK(h.type == 5);
  CHECK(h.request_id == 0x1234);
  CHECK(h.content_length == 0xfedc);
  CHECK(h.padding_length == 0xab);
  CHECK(h.reserved == 0x77);
}

TEST_CASE("Parser returns records of content length 0, 127, 128, 65535", "[codec][parser]") {
  for (size_t len : {size_t{0}, size_t{127}, size_t{128}, size_t{65535}}) {
    std::string content(len, 'x');
    for (size_t i = 0; i < len; ++i) content[i] = static_cast<char>(i * 7 + 3);
    std::string bytes;
    REQUIRE(AppendRecord(&bytes, 6, 42, content));
    for (size_t chunk : {size_t{0}, size_t{1}, size_t{7}, size_t{8}, size_t{4096}}) {
      ParseOutcome p = ParseAll(bytes, chunk);
      INFO("len " << len << " chunk " << chunk);
      REQUIRE_FALSE(p.error);
      REQUIRE(p.records.size() == 1);
      CHECK(p.records[0].header.type == 6);
      CHECK(p.records[0].header.request_id == 42);
      CHECK(p.records[0].content == content);
      CHECK(p.at_boundary);
    }
  }
}

TEST_CASE("Parser skips padding of 0 and 255 bytes, also arriving in later chunks", "[codec][parser]") {
  for (uint8_t pad : {uint8_t{0}, uint8_t{1}, uint8_t{255}}) {
    std::string bytes = RawHeader(1, 5, 1, 3, pad, 0) + "abc" + std::string(pad, '\xee');
    bytes += RawHeader(1, 5, 1, 0, pad, 0) + std::string(pad, '\xdd');
    for (size_t chunk : {size_t{0}, size_t{1}, size_t{3}, size_t{11}, size_t{200}}) {
      INFO("pad " << int(pad) << " chunk " << chunk);
      ParseOutcome p = ParseAll(bytes, chunk);
      REQUIRE_FALSE(p.error);
      REQUIRE(p.records.size() == 2);
      CHECK(p.records[0].content == "abc");
      CHECK(p.records[0].header.padding_length == pad);
      CHECK(p.records[1].content.empty());
      CHECK(p.at_boundary);
    }
  }
}

TEST_CASE("Parser: padding split from its record is skipped by the next call", "[codec][parser]") {
  RecordParser parser;
  std::string first = RawHeader(1, 6, 3, 2, 4, 0) + "hi";
  size_t consumed = 0;
  Record rec;
  REQUIRE(parser.Parse(first, &consumed, &rec) == RecordParser::Result::kRecord);
  CHECK(consumed == first.size());
  CHECK(rec.content == "hi");
  CHECK_FALSE(parser.AtRecordBoundary());  // 4 padding bytes still owed
  std::string second = std::string(4, '\x55') + RawHeader(1, 7, 3, 1, 0, 0) + "z";
  REQUIRE(parser.Parse(second, &consumed, &rec) == RecordParser::Result::kRecord);
  CHECK(consumed == second.size());
  CHECK(rec.header.type == 7);
  CHECK(rec.content == "z");
  CHECK(parser.AtRecordBoundary());
}

TEST_CASE("Parser is zero-copy when the content is in the input", "[codec][parser]") {
  std::string bytes;
  REQUIRE(AppendRecord(&bytes, 5, 1, "hello world"));
  RecordParser parser;
  size_t consumed = 0;
  Record rec;
  REQUIRE(parser.Parse(bytes, &consumed, &rec) == RecordParser::Result::kRecord);
  CHECK(rec.content.data() == bytes.data() + kHeaderSize);
  CHECK(consumed == bytes.size());
}

TEST_CASE("Parser buffers content that spans calls", "[codec][parser]") {
  std::string bytes;
  REQUIRE(AppendRecord(&bytes, 5, 1, "hello world"));
  RecordParser parser;
  size_t consumed = 0;
  Record rec;
  std::string_view all(bytes);
  REQUIRE(parser.Parse(all.substr(0, 12), &consumed, &rec) == RecordParser::Result::kNeedMore);
  CHECK(consumed == 12);
  CHECK_FALSE(parser.AtRecordBoundary());
  std::string rest(all.substr(12));
  REQUIRE(parser.Parse(rest, &consumed, &rec) == RecordParser::Result::kRecord);
  CHECK(rec.content == "hello world");
  // Content lives in the parser, not in `rest`.
  bool points_into_rest = rec.content.data() >= rest.data() && rec.content.data() < rest.data() + rest.size();
  CHECK_FALSE(points_into_rest);
}

TEST_CASE("Parser returns one record per call and reports what it consumed", "[codec][parser]") {
  std::string bytes;
  REQUIRE(AppendRecord(&bytes, 4, 1, "abc"));  // 8 + 3 + 5 padding = 16
  REQUIRE(AppendRecord(&bytes, 5, 2, ""));     // 8
  RecordParser parser;
  size_t consumed = 0;
  Record rec;
  REQUIRE(parser.Parse(bytes, &consumed, &rec) == RecordParser::Result::kRecord);
  CHECK(consumed == 16);
  std::string_view rest = std::string_view(bytes).substr(consumed);
  REQUIRE(parser.Parse(rest, &consumed, &rec) == RecordParser::Result::kRecord);
  CHECK(consumed == 8);
  CHECK(rec.header.request_id == 2);
  REQUIRE(parser.Parse("", &consumed, &rec) == RecordParser::Result::kNeedMore);
  CHECK(consumed == 0);
}

TEST_CASE("Parser: truncated header is need-more, not a record", "[codec][parser]") {
  std::string header = RawHeader(1, 5, 1, 0, 0, 0);
  for (size_t n = 0; n < kHeaderSize; ++n) {
    RecordParser parser;
    size_t consumed = 99;
    Record rec;
    CHECK(parser.Parse(std::string_view(header).substr(0, n), &consumed, &rec) ==
          RecordParser::Result::kNeedMore);
    CHECK(consumed == n);
    CHECK(parser.AtRecordBoundary() == (n == 0));
  }
}

TEST_CASE("Parser rejects version 2 with a clear Status, and stays failed", "[codec][parser]") {
  std::string bytes = RawHeader(2, 5, 1, 0, 0, 0) + RawHeader(1, 5, 1, 0, 0, 0);
  for (size_t chunk : {size_t{0}, size_t{1}}) {
    ParseOutcome p = ParseAll(bytes, chunk);
    CHECK(p.error);
    CHECK(p.records.empty());
    CHECK(p.error_message == "FastCGI version 2 in record header (expected 1)");
  }
  RecordParser parser;
  size_t consumed = 0;
  Record rec;
  REQUIRE(parser.Parse(bytes, &consumed, &rec) == RecordParser::Result::kError);
  CHECK(parser.error().code() == Status::Code::kProtocolError);
  CHECK(parser.Parse(RawHeader(1, 5, 1, 0, 0, 0), &consumed, &rec) == RecordParser::Result::kError);
  ParseOutcome zero = ParseAll(RawHeader(0, 5, 1, 0, 0, 0));
  CHECK(zero.error_message == "FastCGI version 0 in record header (expected 1)");
}

TEST_CASE("Parser accepts non-zero reserved bytes and unknown types", "[codec][parser]") {
  std::string bytes = RawHeader(1, 5, 1, 1, 0, 0xff) + "q" + RawHeader(1, 200, 0, 0, 0, 0x01);
  ParseOutcome p = ParseAll(bytes, 1);
  REQUIRE_FALSE(p.error);
  REQUIRE(p.records.size() == 2);
  CHECK(p.records[0].header.reserved == 0xff);
  CHECK(p.records[0].content == "q");
  CHECK(p.records[1].header.type == 200);
}

TEST_CASE("Parser: the same records whatever the chunking", "[codec][parser]") {
  std::string bytes;
  AppendBeginRequest(&bytes, 1, Role::kResponder, true);
  AppendStreamData(&bytes, RecordType::kParams, 1, std::string(300, 'p'));
  AppendStreamEnd(&bytes, RecordType::kParams, 1);
  bytes += RawHeader(1, 5, 1, 5, 255, 9) + "stdin" + std::string(255, '\0');
  AppendStreamData(&bytes, RecordType::kStdin, 1, std::string(70000, 's'));
  AppendStreamEnd(&bytes, RecordType::kStdin, 1);
  ParseOutcome whole = ParseAll(bytes);
  REQUIRE_FALSE(whole.error);
  REQUIRE(whole.records.size() == 7);
  for (size_t chunk : {size_t{1}, size_t{2}, size_t{3}, size_t{5}, size_t{8}, size_t{9}, size_t{13},
                       size_t{255}, size_t{256}, size_t{4093}, size_t{65536}}) {
    INFO("chunk " << chunk);
    ParseOutcome p = ParseAll(bytes, chunk);
    REQUIRE_FALSE(p.error);
    CHECK(p.records == whole.records);
    CHECK(p.at_boundary);
  }
}

}  // namespace
}  // namespace fcgi
