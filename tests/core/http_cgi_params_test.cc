#include "core/http_cgi_params.h"

#include <catch2/catch.hpp>

#include "core/cgi_environment.h"

namespace fcgi {
namespace {

std::string Param(const NameValuePairs& p, std::string_view name) {
  const std::string* v = FindParam(p, name);
  return v == nullptr ? std::string("<absent>") : *v;
}

HttpRequestLine Get(std::string target) {
  HttpRequestLine r;
  r.method = "GET";
  r.target = std::move(target);
  r.protocol = "HTTP/1.1";
  r.headers = {{"Host", "Example.COM:8080"}, {"User-Agent", "curl/7.88.1"}, {"Accept", "*/*"}};
  r.server_addr = "127.0.0.1";
  r.server_port = "8080";
  r.remote_addr = "127.0.0.1";
  r.remote_port = "45678";
  return r;
}

HttpCgiSettings Single() {
  HttpCgiSettings s;
  s.program_path = "/srv/cgi/env.cgi";
  s.program_dir = "/srv/cgi";
  s.server_software = "fcgi-run/1.0";
  return s;
}

}  // namespace

TEST_CASE("http_cgi_params: a GET in single-program mode gives nginx's fastcgi_params", "[http_cgi_params]") {
  NameValuePairs p;
  REQUIRE(BuildHttpCgiParams(Get("/a/b%20c?x=1&y=%41"), Single(), &p).ok());
  CHECK(Param(p, "REQUEST_METHOD") == "GET");
  CHECK(Param(p, "QUERY_STRING") == "x=1&y=%41");
  CHECK(Param(p, "SCRIPT_NAME") == "/a/b c");
  CHECK(Param(p, "DOCUMENT_URI") == "/a/b c");
  CHECK(Param(p, "REQUEST_URI") == "/a/b%20c?x=1&y=%41");
  CHECK(Param(p, "SCRIPT_FILENAME") == "/srv/cgi/env.cgi");
  CHECK(Param(p, "DOCUMENT_ROOT") == "/srv/cgi");
  CHECK(Param(p, "PATH_INFO") == "<absent>");
  CHECK(Param(p, "SERVER_PROTOCOL") == "HTTP/1.1");
  CHECK(Param(p, "SERVER_SOFTWARE") == "fcgi-run/1.0");
  CHECK(Param(p, "GATEWAY_INTERFACE") == "CGI/1.1");
  CHECK(Param(p, "SERVER_NAME") == "example.com");
  CHECK(Param(p, "HTTP_HOST") == "example.com");
  CHECK(Param(p, "SERVER_PORT") == "8080");
  CHECK(Param(p, "SERVER_ADDR") == "127.0.0.1");
  CHECK(Param(p, "REMOTE_ADDR") == "127.0.0.1");
  CHECK(Param(p, "REMOTE_PORT") == "45678");
  CHECK(Param(p, "REQUEST_SCHEME") == "http");
  CHECK(Param(p, "REDIRECT_STATUS") == "200");
  CHECK(Param(p, "CONTENT_LENGTH").empty());
  CHECK(Param(p, "CONTENT_TYPE").empty());
  CHECK(Param(p, "HTTP_USER_AGENT") == "curl/7.88.1");
  CHECK(Param(p, "HTTP_ACCEPT") == "*/*");
}

TEST_CASE("http_cgi_params: body fields, repeated fields, Proxy and odd names", "[http_cgi_params]") {
  HttpRequestLine r = Get("/post");
  r.method = "POST";
  r.headers.emplace_back("Content-Type", "application/x-www-form-urlencoded");
  r.headers.emplace_back("Content-Length", "11");
  r.headers.emplace_back("Proxy", "http://evil:8080");
  r.headers.emplace_back("X_Under", "dropped");
  r.headers.emplace_back("X-Multi", "a");
  r.headers.emplace_back("x-multi", "b");
  r.headers.emplace_back("Cookie", "a=1");
  r.headers.emplace_back("Cookie", "b=2");
  NameValuePairs p;
  REQUIRE(BuildHttpCgiParams(r, Single(), &p).ok());
  CHECK(Param(p, "CONTENT_TYPE") == "application/x-www-form-urlencoded");
  CHECK(Param(p, "CONTENT_LENGTH") == "11");
  CHECK(Param(p, "HTTP_CONTENT_LENGTH") == "11");
  CHECK(Param(p, "HTTP_PROXY") == "<absent>");
  CHECK(Param(p, "HTTP_X_UNDER") == "<absent>");
  CHECK(Param(p, "HTTP_X_MULTI") == "a, b");
  CHECK(Param(p, "HTTP_COOKIE") == "a=1; b=2");
  int multi = 0;
  for (const auto& [n, v] : p) multi += n == "HTTP_X_MULTI";
  CHECK(multi == 1);
}

TEST_CASE("http_cgi_params: dispatcher mode (--root)", "[http_cgi_params]") {
  HttpCgiSettings s = Single();
  s.document_root = "/srv/www/";
  NameValuePairs p;
  REQUIRE(BuildHttpCgiParams(Get("/dir/app.cgi/extra/path?q"), s, &p).ok());
  CHECK(Param(p, "DOCUMENT_ROOT") == "/srv/www/");
  CHECK(Param(p, "SCRIPT_NAME") == "/dir/app.cgi/extra/path");
  CHECK(Param(p, "SCRIPT_FILENAME") == "/srv/www/dir/app.cgi/extra/path");
}

TEST_CASE("http_cgi_params: no Host header: SERVER_NAME is the local address", "[http_cgi_params]") {
  HttpRequestLine r = Get("/");
  r.protocol = "HTTP/1.0";
  r.headers.clear();
  NameValuePairs p;
  REQUIRE(BuildHttpCgiParams(r, Single(), &p).ok());
  CHECK(Param(p, "SERVER_NAME") == "127.0.0.1");
  CHECK(Param(p, "SERVER_PROTOCOL") == "HTTP/1.0");
}

TEST_CASE("http_cgi_params: invalid targets are refused", "[http_cgi_params]") {
  NameValuePairs p;
  CHECK_FALSE(BuildHttpCgiParams(Get("*"), Single(), &p).ok());
  CHECK_FALSE(BuildHttpCgiParams(Get("relative/path"), Single(), &p).ok());
  CHECK_FALSE(BuildHttpCgiParams(Get("/../etc/passwd"), Single(), &p).ok());
  CHECK_FALSE(BuildHttpCgiParams(Get("/a/%2e%2e/%2e%2e/x"), Single(), &p).ok());
  CHECK_FALSE(BuildHttpCgiParams(Get("/bad%zzescape"), Single(), &p).ok());
  CHECK_FALSE(BuildHttpCgiParams(Get("/nul%00byte"), Single(), &p).ok());
  CHECK_FALSE(BuildHttpCgiParams(Get("/truncated%4"), Single(), &p).ok());
}

TEST_CASE("http_cgi_params: path normalisation is nginx's $uri", "[http_cgi_params]") {
  std::string out;
  REQUIRE(NormalizeRequestPath("/", &out));
  CHECK(out == "/");
  REQUIRE(NormalizeRequestPath("//a///b/", &out));
  CHECK(out == "/a/b/");
  REQUIRE(NormalizeRequestPath("/a/./b/../c", &out));
  CHECK(out == "/a/c");
  REQUIRE(NormalizeRequestPath("/a/b/..", &out));
  CHECK(out == "/a/");
  REQUIRE(NormalizeRequestPath("/a/.", &out));
  CHECK(out == "/a/");
  REQUIRE(NormalizeRequestPath("/%41%2Fb+c", &out));
  CHECK(out == "/A/b+c");
  CHECK_FALSE(NormalizeRequestPath("/..", &out));
  CHECK_FALSE(NormalizeRequestPath("", &out));
}

TEST_CASE("http_cgi_params: request targets split into path and query", "[http_cgi_params]") {
  std::string path, query;
  REQUIRE(SplitRequestTarget("/p?a=1?b", &path, &query));
  CHECK(path == "/p");
  CHECK(query == "a=1?b");
  REQUIRE(SplitRequestTarget("http://host:8080/x/y?z", &path, &query));
  CHECK(path == "/x/y");
  CHECK(query == "z");
  REQUIRE(SplitRequestTarget("http://host", &path, &query));
  CHECK(path == "/");
  CHECK(query.empty());
  REQUIRE(SplitRequestTarget("http://host?q=1", &path, &query));
  CHECK(path == "/");
  CHECK(query == "q=1");
  CHECK_FALSE(SplitRequestTarget("host:80", &path, &query));
}

TEST_CASE("http_cgi_params: host and header names", "[http_cgi_params]") {
  CHECK(HostWithoutPort("Example.com:8080") == "example.com");
  CHECK(HostWithoutPort("[::1]:8080") == "[::1]");
  CHECK(HostWithoutPort("localhost") == "localhost");
  CHECK(HttpHeaderParamName("User-Agent") == "HTTP_USER_AGENT");
  CHECK(HttpHeaderParamName("x-a1") == "HTTP_X_A1");
  CHECK(HttpHeaderParamName("X_Bad").empty());
  CHECK(HttpHeaderParamName("X.Bad").empty());
  CHECK(HttpHeaderParamName("").empty());
}

}  // namespace fcgi
