#include "core/check_request.h"

#include <algorithm>
#include <catch2/catch.hpp>

namespace fcgi {
namespace {

bool Has(const std::vector<std::string>& env, const std::string& entry) {
  return std::find(env.begin(), env.end(), entry) != env.end();
}

TEST_CASE("check request: variables, comments, then the body byte for byte", "[check]") {
  CheckRequest r;
  REQUIRE(
      ParseCheckRequest("post.txt", "# a form\nREQUEST_METHOD=POST\r\nQUERY_STRING=a=1&b=2\n\nx=1\n\ny\n", &r)
          .ok());
  REQUIRE(r.variables.size() == 2);
  CHECK(r.variables[0] == std::make_pair(std::string("REQUEST_METHOD"), std::string("POST")));
  CHECK(r.variables[1].second == "a=1&b=2");
  CHECK(r.body == "x=1\n\ny\n");
}

TEST_CASE("check request: no empty line means no body", "[check]") {
  CheckRequest r;
  REQUIRE(ParseCheckRequest("get.txt", "QUERY_STRING=q", &r).ok());
  CHECK(r.body.empty());
  CHECK(r.variables.size() == 1);
}

TEST_CASE("check request: a line without NAME= is an error naming the file and line", "[check]") {
  CheckRequest r;
  Status s = ParseCheckRequest("bad.txt", "QUERY_STRING=q\njust words\n", &r);
  CHECK_FALSE(s.ok());
  CHECK(s.message().find("bad.txt line 2") != std::string::npos);
  CHECK_FALSE(ParseCheckRequest("bad.txt", "=value\n", &r).ok());
}

TEST_CASE("check request: environment defaults, overrides and CONTENT_LENGTH", "[check]") {
  CheckRequest r;
  REQUIRE(ParseCheckRequest("p", "QUERY_STRING=x=1\nPATH=/mine\n\nbody!", &r).ok());
  auto env = CheckRequestEnvironment(r, "/srv/app.cgi", {"PATH=/usr/bin", "LANG=C"});
  CHECK(Has(env, "QUERY_STRING=x=1"));
  CHECK(Has(env, "REQUEST_METHOD=POST"));
  CHECK(Has(env, "CONTENT_LENGTH=5"));
  CHECK(Has(env, "SCRIPT_NAME=/app.cgi"));
  CHECK(Has(env, "PATH=/mine"));  // the file wins over extra
  CHECK_FALSE(Has(env, "PATH=/usr/bin"));
  CHECK(Has(env, "LANG=C"));
  auto get = CheckRequestEnvironment(DefaultCheckRequest(), "/srv/app.cgi", {});
  CHECK(Has(get, "REQUEST_METHOD=GET"));
  CHECK(Has(get, "QUERY_STRING="));
  CHECK(std::none_of(get.begin(), get.end(),
                     [](const std::string& e) { return e.rfind("CONTENT_LENGTH=", 0) == 0; }));
}

}  // namespace
}  // namespace fcgi
