// libFuzzer target for RecordParser (and the fixed bodies and name-value
// decoding reached through it).
//
// Invariants checked (abort() on violation):
//  - Parse() never consumes more than it is given; need-more consumes all;
//    a record's content is exactly content_length bytes;
//  - the records, the error and the final boundary state are the same whether
//    the input is parsed whole or in chunks of sizes derived from the input;
//  - every parsed record re-encoded by the writer parses back to the same
//    type, request id and content; decodable bodies re-encode to equal values.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "core/fcgi_bodies.h"
#include "core/fcgi_name_value.h"
#include "core/fcgi_record_parser.h"
#include "core/fcgi_record_writer.h"

namespace {

void Check(bool condition, const char* what) {
  if (!condition) {
    std::fprintf(stderr, "fcgi_record_parser_fuzzer: invariant violated: %s\n", what);
    std::abort();
  }
}

struct Owned {
  fcgi::RecordHeader header;
  std::string content;
  bool operator==(const Owned& o) const {
    return header.version == o.header.version && header.type == o.header.type &&
           header.request_id == o.header.request_id && header.content_length == o.header.content_length &&
           header.padding_length == o.header.padding_length && header.reserved == o.header.reserved &&
           content == o.content;
  }
};

struct Outcome {
  std::vector<Owned> records;
  bool error = false;
  std::string error_message;
  bool at_boundary = true;
  bool operator==(const Outcome& o) const {
    return records == o.records && error == o.error && error_message == o.error_message &&
           at_boundary == o.at_boundary;
  }
};

// Parses `data` fed in pieces whose sizes come from `next_chunk`.
template <typename NextChunk>
Outcome ParseChunked(std::string_view data, NextChunk next_chunk) {
  Outcome out;
  fcgi::RecordParser parser;
  size_t off = 0;
  while (off < data.size() && !out.error) {
    std::string_view piece = data.substr(off, next_chunk());
    off += piece.size();
    while (true) {
      size_t consumed = 0;
      fcgi::Record rec;
      fcgi::RecordParser::Result r = parser.Parse(piece, &consumed, &rec);
      Check(consumed <= piece.size(), "consumed more than the input");
      if (r == fcgi::RecordParser::Result::kError) {
        Check(!parser.error().ok(), "kError with an OK status");
        out.error = true;
        out.error_message = parser.error().message();
        size_t again = 0;
        Check(parser.Parse(piece, &again, &rec) == fcgi::RecordParser::Result::kError,
              "parser recovered after an error");
        break;
      }
      if (r == fcgi::RecordParser::Result::kNeedMore) {
        Check(consumed == piece.size(), "need-more left input unconsumed");
        break;
      }
      Check(rec.content.size() == rec.header.content_length, "content length mismatch");
      Check(rec.header.version == fcgi::kVersion1, "record with a version other than 1");
      out.records.push_back({rec.header, std::string(rec.content)});
      piece.remove_prefix(consumed);
      if (piece.empty()) break;
    }
  }
  out.at_boundary = parser.AtRecordBoundary();
  return out;
}

void CheckRoundTrip(const Owned& r) {
  std::string encoded;
  (void)fcgi::AppendRecord(&encoded, r.header.type, r.header.request_id, r.content);  // a parsed record fits
  Check(encoded.size() % 8 == 0, "writer did not pad to 8");
  Outcome again = ParseChunked(encoded, [&] { return encoded.size(); });
  Check(!again.error && again.records.size() == 1 && again.at_boundary, "re-encoded record");
  const Owned& back = again.records[0];
  Check(back.header.type == r.header.type && back.header.request_id == r.header.request_id &&
            back.content == r.content,
        "re-encoded record differs");

  switch (static_cast<fcgi::RecordType>(r.header.type)) {
    case fcgi::RecordType::kBeginRequest: {
      fcgi::BeginRequestBody body;
      if (!fcgi::DecodeBeginRequestBody(r.content, &body).ok()) {
        Check(r.content.size() < fcgi::kBeginRequestBodySize, "long BEGIN_REQUEST rejected");
        break;
      }
      std::string re;
      fcgi::AppendBeginRequestRaw(&re, r.header.request_id, body.role, body.flags);
      fcgi::BeginRequestBody body2;
      Check(fcgi::DecodeBeginRequestBody(std::string_view(re).substr(8), &body2).ok() &&
                body2.role == body.role && body2.flags == body.flags,
            "BEGIN_REQUEST body round trip");
      break;
    }
    case fcgi::RecordType::kEndRequest: {
      fcgi::EndRequestBody body;
      if (!fcgi::DecodeEndRequestBody(r.content, &body).ok()) {
        Check(r.content.size() < fcgi::kEndRequestBodySize, "long END_REQUEST rejected");
        break;
      }
      std::string re;
      fcgi::AppendEndRequest(&re, r.header.request_id, body.app_status,
                             static_cast<fcgi::ProtocolStatus>(body.protocol_status));
      fcgi::EndRequestBody body2;
      Check(fcgi::DecodeEndRequestBody(std::string_view(re).substr(8), &body2).ok() &&
                body2.app_status == body.app_status && body2.protocol_status == body.protocol_status,
            "END_REQUEST body round trip");
      break;
    }
    case fcgi::RecordType::kUnknownType: {
      fcgi::UnknownTypeBody body;
      if (!fcgi::DecodeUnknownTypeBody(r.content, &body).ok()) break;
      std::string re;
      fcgi::AppendUnknownType(&re, body.type);
      fcgi::UnknownTypeBody body2;
      Check(
          fcgi::DecodeUnknownTypeBody(std::string_view(re).substr(8), &body2).ok() && body2.type == body.type,
          "UNKNOWN_TYPE body round trip");
      break;
    }
    case fcgi::RecordType::kParams:
    case fcgi::RecordType::kGetValues:
    case fcgi::RecordType::kGetValuesResult: {
      fcgi::NameValuePairs pairs;
      if (!fcgi::DecodeNameValues(r.content, &pairs).ok()) break;
      std::string re = fcgi::EncodeNameValues(pairs);
      Check(re.size() <= r.content.size(), "canonical name-value encoding is longer");
      fcgi::NameValuePairs pairs2;
      Check(fcgi::DecodeNameValues(re, &pairs2).ok() && pairs2 == pairs, "name-value round trip");
      break;
    }
    default:
      break;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);

  Outcome whole = ParseChunked(input, [&] { return input.size(); });

  // Chunk sizes derived from the input itself (1..64, cycling over its bytes
  // with a multiplier so the pattern is not simply the byte values).
  size_t i = 0;
  Outcome derived = ParseChunked(input, [&] {
    size_t b = size == 0 ? 0 : data[(i * 7 + 3) % size];
    ++i;
    return 1 + ((b + i) % 64);
  });
  Check(derived == whole, "chunked parse differs from whole-input parse");

  if (size <= 1024) {
    Outcome bytewise = ParseChunked(input, [] { return size_t{1}; });
    Check(bytewise == whole, "byte-at-a-time parse differs from whole-input parse");
  }

  for (const Owned& r : whole.records) CheckRoundTrip(r);
  return 0;
}
