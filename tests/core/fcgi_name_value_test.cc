#include "core/fcgi_name_value.h"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "core/fcgi_record_parser.h"
#include "core/fcgi_record_writer.h"

namespace fcgi {
namespace {

std::string Bytes(std::initializer_list<int> v) {
  std::string s;
  for (int b : v) s.push_back(static_cast<char>(b));
  return s;
}

TEST_CASE("Name-value lengths: 1 byte up to 127, 4 bytes from 128", "[codec][namevalue]") {
  std::string out;
  AppendNameValue(&out, "", "");
  CHECK(out == Bytes({0, 0}));

  out.clear();
  AppendNameValue(&out, std::string(127, 'n'), "v");
  CHECK(out.substr(0, 2) == Bytes({127, 1}));
  CHECK(out.size() == 2 + 127 + 1);

  out.clear();
  AppendNameValue(&out, "n", std::string(128, 'v'));
  CHECK(out.substr(0, 5) == Bytes({1, 0x80, 0, 0, 128}));
  CHECK(out.size() == 5 + 1 + 128);

  out.clear();
  AppendNameValue(&out, std::string(65536, 'n'), std::string(65535, 'v'));
  CHECK(out.substr(0, 8) == Bytes({0x80, 0x01, 0x00, 0x00, 0x80, 0x00, 0xff, 0xff}));
}

TEST_CASE("Name-value pairs of every length class round trip", "[codec][namevalue]") {
  NameValuePairs pairs;
  for (size_t len : {size_t{0}, size_t{1}, size_t{127}, size_t{128}, size_t{65535}, size_t{65536}}) {
    pairs.emplace_back(std::string(len, 'N'), std::string(len, 'V'));
    pairs.emplace_back("K" + std::to_string(len), std::string(len, '\0'));
  }
  std::string encoded = EncodeNameValues(pairs);
  NameValuePairs decoded;
  REQUIRE(DecodeNameValues(encoded, &decoded).ok());
  CHECK(decoded == pairs);
}

TEST_CASE("DecodeNameValue: need-more until the whole pair is there", "[codec][namevalue]") {
  std::string encoded;
  AppendNameValue(&encoded, "SCRIPT_NAME", std::string(200, 's'));
  for (size_t n = 0; n < encoded.size(); ++n) {
    size_t consumed = 0;
    std::string_view name, value;
    if (DecodeNameValue(std::string_view(encoded).substr(0, n), &consumed, &name, &value) !=
        DecodeResult::kNeedMore) {
      FAIL("prefix of " << n << " bytes decoded");
    }
  }
  size_t consumed = 0;
  std::string_view name, value;
  std::string with_extra = encoded + "xyz";
  REQUIRE(DecodeNameValue(with_extra, &consumed, &name, &value) == DecodeResult::kOk);
  CHECK(consumed == encoded.size());
  CHECK(name == "SCRIPT_NAME");
  CHECK(value == std::string(200, 's'));
  CHECK(name.data() == with_extra.data() + 5);  // points into the input
}

TEST_CASE("DecodeNameValues: a pair length running past the content is an error", "[codec][namevalue]") {
  NameValuePairs out;
  Status s = DecodeNameValues(Bytes({1, 5, 'A', 'b', 'c'}), &out);
  CHECK(s.code() == Status::Code::kProtocolError);
  CHECK(s.message().find("runs past the end") != std::string::npos);
  out.clear();
  CHECK_FALSE(DecodeNameValues(Bytes({0x80, 0, 0}), &out).ok());  // cut inside a 4-byte length
  out.clear();
  CHECK_FALSE(DecodeNameValues(Bytes({0xff, 0xff, 0xff, 0xff, 0}), &out).ok());
  out.clear();
  CHECK(DecodeNameValues("", &out).ok());
  CHECK(out.empty());
}

TEST_CASE("Stream decoder: the same pairs however the stream is split", "[codec][namevalue]") {
  NameValuePairs pairs = {{"REQUEST_METHOD", "POST"},
                          {"QUERY_STRING", ""},
                          {"HTTP_X_LONG", std::string(300, 'L')},
                          {std::string(130, 'n'), "v"},
                          {"", ""},
                          {"CONTENT_LENGTH", "5"}};
  const std::string stream = EncodeNameValues(pairs);
  // Property: for every split point (and every pair of split points on a
  // coarser grid), the decoded pairs equal the originals.
  size_t tried = 0;
  for (size_t a = 0; a <= stream.size(); ++a, ++tried) {
    NameValueStreamDecoder d;
    Status s1 = d.Feed(std::string_view(stream).substr(0, a));
    Status s2 = d.Feed(std::string_view(stream).substr(a));
    Status s3 = d.Finish();
    if (!s1.ok() || !s2.ok() || !s3.ok() || d.pairs() != pairs) FAIL("split at " << a);
  }
  for (size_t a = 0; a <= stream.size(); a += 7) {
    for (size_t b = a; b <= stream.size(); b += 11, ++tried) {
      NameValueStreamDecoder d;
      bool ok = d.Feed(std::string_view(stream).substr(0, a)).ok() &&
                d.Feed(std::string_view(stream).substr(a, b - a)).ok() &&
                d.Feed(std::string_view(stream).substr(b)).ok() && d.Finish().ok();
      if (!ok || d.pairs() != pairs) FAIL("split at " << a << ", " << b);
    }
  }
  CHECK(tried > 2 * stream.size());  // every split above decoded identically
}

TEST_CASE("Stream decoder across PARAMS records and 1-byte chunks", "[codec][namevalue]") {
  NameValuePairs pairs = {{"A", std::string(70000, 'a')}, {"B", "b"}};
  std::string stream = EncodeNameValues(pairs);
  std::string records;
  AppendStreamData(&records, RecordType::kParams, 1, stream);  // 2 records
  AppendStreamEnd(&records, RecordType::kParams, 1);

  for (size_t chunk : {size_t{1}, size_t{3}, size_t{1000}, records.size()}) {
    RecordParser parser;
    NameValueStreamDecoder decoder;
    size_t params_records = 0;
    bool ended = false;
    for (size_t off = 0; off < records.size(); off += chunk) {
      std::string_view piece = std::string_view(records).substr(off, chunk);
      while (!piece.empty()) {
        size_t consumed = 0;
        Record rec;
        RecordParser::Result r = parser.Parse(piece, &consumed, &rec);
        piece.remove_prefix(consumed);
        if (r != RecordParser::Result::kRecord) break;
        ++params_records;
        if (rec.content.empty()) {
          ended = true;
        } else if (!decoder.Feed(rec.content).ok()) {
          FAIL("feed failed");
        }
      }
    }
    INFO("chunk " << chunk);
    CHECK(params_records == 3);
    CHECK(ended);
    CHECK(decoder.Finish().ok());
    CHECK(decoder.pairs() == pairs);
    CHECK(decoder.total_bytes() == stream.size());
  }
}

TEST_CASE("Stream decoder: a partial pair at the end is an error", "[codec][namevalue]") {
  NameValueStreamDecoder d;
  REQUIRE(d.Feed(Bytes({3, 3, 'a', 'b'})).ok());
  Status s = d.Finish();
  CHECK(s.code() == Status::Code::kProtocolError);
  CHECK(s.message().find("4 bytes left over") != std::string::npos);
}

TEST_CASE("Stream decoder: oversize params are an error value, and it stays failed", "[codec][namevalue]") {
  SECTION("total bytes over the limit") {
    NameValueStreamDecoder d(100);
    std::string pair;
    AppendNameValue(&pair, "N", std::string(40, 'v'));  // 43 bytes
    REQUIRE(d.Feed(pair).ok());
    REQUIRE(d.Feed(pair).ok());
    CHECK(d.total_bytes() == 86);
    Status s = d.Feed(pair);
    CHECK(s.code() == Status::Code::kLimitExceeded);
    CHECK(s.message().find("100") != std::string::npos);
    CHECK(d.total_bytes() == 86);  // the rejected chunk was not taken
    CHECK(d.Feed("").code() == Status::Code::kLimitExceeded);
    CHECK(d.Finish().code() == Status::Code::kLimitExceeded);
    CHECK(d.pairs().size() == 2);
  }
  SECTION("exactly at the limit is fine") {
    NameValueStreamDecoder d(43);
    std::string pair;
    AppendNameValue(&pair, "N", std::string(40, 'v'));
    CHECK(d.Feed(pair).ok());
    CHECK(d.Finish().ok());
  }
  SECTION("a declared length beyond the limit fails before the bytes arrive") {
    NameValueStreamDecoder d(1000);
    // Name length 1, value length 2^31-1: only the 6 length/name bytes are sent.
    Status s = d.Feed(Bytes({1, 0xff, 0xff, 0xff, 0xff, 'X'}));
    CHECK(s.code() == Status::Code::kLimitExceeded);
    CHECK(d.Finish().code() == Status::Code::kLimitExceeded);
  }
  SECTION("the default limit is 1 MiB") {
    NameValueStreamDecoder d;
    std::string big;  // one pair of exactly 1 MiB: 1 + 4 length bytes, name "N"
    AppendNameValue(&big, "N", std::string(kDefaultMaxParamsBytes - 6, 'v'));
    REQUIRE(big.size() == kDefaultMaxParamsBytes);
    CHECK(d.Feed(big).ok());
    CHECK(d.Feed(Bytes({0})).code() == Status::Code::kLimitExceeded);
  }
}

TEST_CASE("TakePairs moves the decoded pairs out", "[codec][namevalue]") {
  NameValueStreamDecoder d;
  REQUIRE(d.Feed(EncodeNameValues({{"X", "1"}, {"Y", "2"}})).ok());
  NameValuePairs taken = d.TakePairs();
  CHECK(taken == NameValuePairs{{"X", "1"}, {"Y", "2"}});
}

}  // namespace
}  // namespace fcgi
