#include "core/fcgi_bodies.h"

#include <catch2/catch.hpp>

#include <string>

#include "core/fcgi_record_writer.h"

namespace fcgi {
namespace {

// The content of the single record in `encoded` (skips the 8-byte header).
std::string ContentOf(const std::string& encoded, size_t length) {
  return encoded.substr(kHeaderSize, length);
}

TEST_CASE("BEGIN_REQUEST body decodes role and flags", "[codec][bodies]") {
  std::string rec;
  AppendBeginRequest(&rec, 1, Role::kAuthorizer, true);
  BeginRequestBody body;
  REQUIRE(DecodeBeginRequestBody(ContentOf(rec, 8), &body).ok());
  CHECK(body.role == 2);
  CHECK(body.flags == kFlagKeepConn);
  CHECK(body.keep_conn());

  rec.clear();
  AppendBeginRequestRaw(&rec, 1, 0xbeef, 0xfe);  // unknown role; flags without KEEP_CONN
  REQUIRE(DecodeBeginRequestBody(ContentOf(rec, 8), &body).ok());
  CHECK(body.role == 0xbeef);
  CHECK(body.flags == 0xfe);
  CHECK_FALSE(body.keep_conn());
}

TEST_CASE("END_REQUEST body decodes appStatus and protocolStatus", "[codec][bodies]") {
  std::string rec;
  AppendEndRequest(&rec, 1, 0xffffffffu, ProtocolStatus::kCantMpxConn);
  EndRequestBody body;
  REQUIRE(DecodeEndRequestBody(ContentOf(rec, 8), &body).ok());
  CHECK(body.app_status == 0xffffffffu);
  CHECK(body.protocol_status == 1);

  rec.clear();
  AppendEndRequest(&rec, 1, 3, ProtocolStatus::kRequestComplete);
  REQUIRE(DecodeEndRequestBody(ContentOf(rec, 8), &body).ok());
  CHECK(body.app_status == 3);
  CHECK(body.protocol_status == 0);
}

TEST_CASE("UNKNOWN_TYPE body decodes the type", "[codec][bodies]") {
  std::string rec;
  AppendUnknownType(&rec, 0xc8);
  UnknownTypeBody body;
  REQUIRE(DecodeUnknownTypeBody(ContentOf(rec, 8), &body).ok());
  CHECK(body.type == 0xc8);
}

TEST_CASE("Short bodies are protocol errors naming the record", "[codec][bodies]") {
  std::string seven(7, '\x01');
  BeginRequestBody begin;
  Status s = DecodeBeginRequestBody(seven, &begin);
  CHECK(s.code() == Status::Code::kProtocolError);
  CHECK(s.message() == "BEGIN_REQUEST body is 7 bytes (expected 8)");

  EndRequestBody end;
  s = DecodeEndRequestBody("", &end);
  CHECK(s.code() == Status::Code::kProtocolError);
  CHECK(s.message() == "END_REQUEST body is 0 bytes (expected 8)");

  UnknownTypeBody unknown;
  s = DecodeUnknownTypeBody("\x05", &unknown);
  CHECK(s.code() == Status::Code::kProtocolError);
  CHECK(s.message() == "UNKNOWN_TYPE body is 1 bytes (expected 8)");
}

TEST_CASE("Longer bodies are accepted; the extra bytes are ignored", "[codec][bodies]") {
  std::string content(
      "\x00\x03\x01\x00\x00\x00\x00\x00"
      "extra",
      13);
  BeginRequestBody begin;
  REQUIRE(DecodeBeginRequestBody(content, &begin).ok());
  CHECK(begin.role == static_cast<uint16_t>(Role::kFilter));
  CHECK(begin.keep_conn());
}

}  // namespace
}  // namespace fcgi
