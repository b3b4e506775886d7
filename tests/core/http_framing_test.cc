#include "core/http_framing.h"

#include <catch2/catch.hpp>
#include <string>

namespace fcgi {
namespace {

int StatusFor(const HttpHeaderFields& headers, int minor_version = 1) {
  int status = 0;
  return CheckRequestFraming(headers, minor_version, &status).ok() ? 0 : status;
}

TEST_CASE("CheckRequestFraming: only a lone chunked coding frames a body", "[http_framing]") {
  CHECK(StatusFor({}) == 0);
  CHECK(StatusFor({{"Host", "x"}, {"Content-Length", "5"}}) == 0);
  CHECK(StatusFor({{"Transfer-Encoding", "chunked"}}) == 0);
  CHECK(StatusFor({{"transfer-encoding", " Chunked "}}) == 0);
  // Not ending in chunked: the length is unknown (RFC 9112 6.3): 400.
  for (const char* te : {"xchunked", "gzip", "identity", "chunked, identity", "chunked;q=1", "", " , "}) {
    INFO(te);
    CHECK(StatusFor({{"Transfer-Encoding", te}}) == 400);
  }
  // chunked twice, in one field or two.
  CHECK(StatusFor({{"Transfer-Encoding", "chunked, chunked"}}) == 400);
  CHECK(StatusFor({{"Transfer-Encoding", "chunked"}, {"Transfer-Encoding", "chunked"}}) == 400);
  // A coding before chunked, which fcgi-run would not decode: 501.
  CHECK(StatusFor({{"Transfer-Encoding", "gzip, chunked"}}) == 501);
  CHECK(StatusFor({{"Transfer-Encoding", "gzip"}, {"Transfer-Encoding", "chunked"}}) == 501);
  // HTTP/1.0 knows no Transfer-Encoding (RFC 9112 6.1): 400.
  CHECK(StatusFor({{"Transfer-Encoding", "chunked"}}, 0) == 400);
  CHECK(StatusFor({{"Content-Length", "5"}}, 0) == 0);
  // The message names the field's value, escaped.
  int status = 0;
  Status s = CheckRequestFraming({{"Transfer-Encoding", "gzip\x01"}}, 1, &status);
  CHECK(s.message() ==
        "Transfer-Encoding \"gzip\\x01\" does not end in chunked: the body's length is unknown");
}

TEST_CASE("PendingLinesValid: a bare LF is no line end", "[http_framing]") {
  CHECK(PendingLinesValid(""));
  CHECK(PendingLinesValid("\r\n5;ext=1"));
  CHECK(PendingLinesValid("0\r\nX-Trailer: 1\r\n"));
  CHECK(PendingLinesValid("GET / HTTP/1.1\r\nHost: x\r"));
  CHECK_FALSE(PendingLinesValid("5\nhello\n0\n\n"));
  CHECK_FALSE(PendingLinesValid("\n"));
  CHECK_FALSE(PendingLinesValid("0\r\n\n"));
  CHECK_FALSE(PendingLinesValid("GET / HTTP/1.1\nHost: x\n\n"));
}

}  // namespace
}  // namespace fcgi
