#include "core/access_format.h"

#include <catch2/catch.hpp>

namespace fcgi {
namespace {

AccessRecord Sample() {
  AccessRecord r;
  r.end_unix = 1000000000;  // 2001-09-09 01:46:40 UTC
  r.utc_offset_seconds = 0;
  r.method = "GET";
  r.uri = "/app?x=1";
  r.query = "x=1";
  r.remote_addr = "127.0.0.1";
  r.protocol = "HTTP/1.1";
  r.status = 200;
  r.body_bytes = 14;
  r.response_bytes = 40;
  r.duration_us = 12345;
  r.pid = 4242;
  r.program = "hello.cgi";
  r.mode = "fork";
  return r;
}

std::string Render(const std::string& format, const AccessRecord& r) {
  AccessFormat f;
  Status s = AccessFormat::Parse(format, &f);
  REQUIRE(s.ok());
  return f.Render(r);
}

TEST_CASE("access format: the default is a common-log-style line", "[access]") {
  CHECK(Render(kDefaultAccessFormat, Sample()) ==
        "127.0.0.1 - - [09/Sep/2001:01:46:40 +0000] \"GET /app?x=1 HTTP/1.1\" 200 14 12 hello.cgi fork 4242");
}

TEST_CASE("access format: every token", "[access]") {
  AccessRecord r = Sample();
  CHECK(Render("%m|%u|%q|%s|%b|%B|%d|%D|%p|%P|%M|%r|%H|%%", r) ==
        "GET|/app?x=1|x=1|200|14|40|12|12345|4242|hello.cgi|fork|127.0.0.1|HTTP/1.1|%");
  r.utc_offset_seconds = -(5 * 3600 + 30 * 60);
  CHECK(Render("%t", r) == "08/Sep/2001:20:16:40 -0530");
  CHECK(Render("%T", r) == "2001-09-08T20:16:40-0530");
  NameValuePairs params = {{"HTTP_USER_AGENT", "curl/7.88"}};
  r.params = &params;
  CHECK(Render("%{HTTP_USER_AGENT}e %{HTTP_REFERER}e", r) == "curl/7.88 -");
  AccessFormat f;
  REQUIRE(AccessFormat::Parse("%{X}e", &f).ok());
  CHECK(f.uses_params());
  REQUIRE(AccessFormat::Parse("%s", &f).ok());
  CHECK_FALSE(f.uses_params());
}

TEST_CASE("access format: no pid, empty values and hostile values", "[access]") {
  AccessRecord r = Sample();
  r.pid = -1;
  r.mode.clear();
  r.query.clear();
  CHECK(Render("%p %M %q", r) == "- - -");
  r.uri = "/a\"b\\c\nd\x01";
  CHECK(Render("%u", r) == "/a\\x22b\\x5Cc\\x0Ad\\x01");  // one line, quotable
}

TEST_CASE("access format: unknown tokens and a lone % are errors", "[access]") {
  AccessFormat f;
  Status s = AccessFormat::Parse("%s %z", &f);
  CHECK_FALSE(s.ok());
  CHECK(s.message().find("%z") != std::string::npos);
  CHECK_FALSE(AccessFormat::Parse("100%", &f).ok());
  CHECK_FALSE(AccessFormat::Parse("%{NAME}", &f).ok());
  CHECK_FALSE(AccessFormat::Parse("%{}e", &f).ok());
  CHECK_FALSE(AccessFormat::Parse("%{NAME", &f).ok());
  CHECK(AccessFormat::Parse("plain text", &f).ok());
  CHECK(f.Render(Sample()) == "plain text");
}

}  // namespace
}  // namespace fcgi
