#include "core/cgi_to_http.h"

#include <catch2/catch.hpp>

namespace fcgi {

TEST_CASE("cgi_to_http: document response keeps Status, drops hop-by-hop fields", "[cgi_to_http]") {
  CgiHttpHead h;
  REQUIRE(ParseCgiHead("Status: 404 Nope\r\nContent-Type: text/plain\r\nConnection: close\r\n"
                       "Transfer-Encoding: chunked\r\nX-A: 1\r\n\r\n",
                       &h)
              .ok());
  CHECK(h.kind == CgiHttpHead::Kind::kDocument);
  CHECK(h.status == 404);
  CHECK(h.reason == "Nope");
  REQUIRE(h.headers.size() == 2);
  CHECK(h.headers[0].first == "Content-Type");
  CHECK(h.headers[1].first == "X-A");
  CHECK_FALSE(h.content_length.has_value());
}

TEST_CASE("cgi_to_http: default status and reason", "[cgi_to_http]") {
  CgiHttpHead h;
  REQUIRE(ParseCgiHead("Content-Type: text/html\n\n", &h).ok());
  CHECK(h.status == 200);
  CHECK(h.reason == "OK");
  REQUIRE(ParseCgiHead("Status: 201\r\n\r\n", &h).ok());
  CHECK(h.status == 201);
  CHECK(h.reason == "Created");
}

TEST_CASE("cgi_to_http: redirects", "[cgi_to_http]") {
  CgiHttpHead h;
  REQUIRE(ParseCgiHead("Location: https://example.com/x\r\n\r\n", &h).ok());
  CHECK(h.kind == CgiHttpHead::Kind::kClientRedirect);
  CHECK(h.status == 302);
  REQUIRE(ParseCgiHead("Location: /other?a=1\r\n\r\n", &h).ok());
  CHECK(h.kind == CgiHttpHead::Kind::kLocalRedirect);
  CHECK(h.local_location == "/other?a=1");
  // An explicit Status makes it a document response with a Location field.
  REQUIRE(ParseCgiHead("Status: 301 Moved\r\nLocation: /other\r\n\r\n", &h).ok());
  CHECK(h.kind == CgiHttpHead::Kind::kDocument);
  CHECK(h.status == 301);
  // Protocol-relative "//host/x" is not a local path.
  REQUIRE(ParseCgiHead("Location: //evil/x\r\n\r\n", &h).ok());
  CHECK(h.kind == CgiHttpHead::Kind::kDocument);
}

TEST_CASE("cgi_to_http: Content-Length", "[cgi_to_http]") {
  CgiHttpHead h;
  REQUIRE(ParseCgiHead("Content-Length: 1234\r\n\r\n", &h).ok());
  REQUIRE(h.content_length.has_value());
  CHECK(*h.content_length == 1234);
  CHECK(h.headers.empty());
  REQUIRE(ParseCgiHead("Content-Length: 12x\r\n\r\n", &h).ok());
  CHECK_FALSE(h.content_length.has_value());
  REQUIRE(ParseCgiHead("Content-Length: 1\r\nContent-Length: 2\r\n\r\n", &h).ok());
  CHECK_FALSE(h.content_length.has_value());
}

TEST_CASE("cgi_to_http: malformed blocks", "[cgi_to_http]") {
  CgiHttpHead h;
  CHECK_FALSE(ParseCgiHead("Content-Type: text/plain\r\n", &h).ok());
  CHECK_FALSE(ParseCgiHead("no colon\r\n\r\n", &h).ok());
  CHECK_FALSE(ParseCgiHead("Status: abc\r\n\r\n", &h).ok());
}

TEST_CASE("cgi_to_http: framing", "[cgi_to_http]") {
  CgiHttpHead h;
  REQUIRE(ParseCgiHead("Content-Type: text/plain\r\n\r\n", &h).ok());
  HttpFraming f = ChooseFraming(h, "GET", 1, true);
  CHECK(f.send_body);
  CHECK(f.chunked);
  CHECK_FALSE(f.close);
  f = ChooseFraming(h, "GET", 0, true);
  CHECK_FALSE(f.chunked);
  CHECK(f.close);
  f = ChooseFraming(h, "HEAD", 1, true);
  CHECK_FALSE(f.send_body);
  CHECK_FALSE(f.chunked);
  CHECK_FALSE(f.close);
  h.content_length = 10;
  f = ChooseFraming(h, "GET", 1, false);
  CHECK_FALSE(f.chunked);
  CHECK(f.close);
  h.status = 304;
  CHECK_FALSE(ChooseFraming(h, "GET", 1, true).send_body);
}

TEST_CASE("cgi_to_http: serialized head", "[cgi_to_http]") {
  CgiHttpHead h;
  REQUIRE(ParseCgiHead("Status: 404 Not Here\r\nContent-Type: text/plain\r\n\r\n", &h).ok());
  HttpFraming f = ChooseFraming(h, "GET", 1, true);
  CHECK(SerializeHttpHead(h, f, 1, "fcgi-run") ==
        "HTTP/1.1 404 Not Here\r\nServer: fcgi-run\r\nContent-Type: text/plain\r\n"
        "Transfer-Encoding: chunked\r\n\r\n");
  h.content_length = 5;
  f = ChooseFraming(h, "GET", 0, false);
  CHECK(
      SerializeHttpHead(h, f, 0, "") ==
      "HTTP/1.0 404 Not Here\r\nContent-Type: text/plain\r\nContent-Length: 5\r\nConnection: close\r\n\r\n");
  f = ChooseFraming(h, "GET", 0, true);
  CHECK(SerializeHttpHead(h, f, 0, "") ==
        "HTTP/1.0 404 Not Here\r\nContent-Type: text/plain\r\nContent-Length: 5\r\nConnection: "
        "keep-alive\r\n\r\n");
}

TEST_CASE("cgi_to_http: chunk framing", "[cgi_to_http]") {
  CHECK(ChunkPrefix(0x1a) == "1a\r\n");
  CHECK(ChunkPrefix(65536) == "10000\r\n");
  CHECK(kLastChunk == "0\r\n\r\n");
}

}  // namespace fcgi
