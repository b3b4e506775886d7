#include "core/cgi_environment.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <string>

namespace fcgi {
namespace {

std::vector<std::string> Names(const CgiEnvironment& env) {
  std::vector<std::string> names;
  for (const std::string& entry : env.entries) names.push_back(entry.substr(0, entry.find('=')));
  return names;
}

TEST_CASE("BuildCgiEnvironment: params become NAME=VALUE entries in order", "[cgi_env]") {
  NameValuePairs params = {
      {"REQUEST_METHOD", "GET"}, {"SCRIPT_NAME", "/a.cgi"}, {"HTTP_HOST", "example.org"}};
  std::vector<DroppedParam> dropped;
  CgiEnvironment env = BuildCgiEnvironment(params, {}, {}, &dropped);
  CHECK(dropped.empty());
  CHECK(env.entries == std::vector<std::string>{"REQUEST_METHOD=GET", "SCRIPT_NAME=/a.cgi",
                                                "HTTP_HOST=example.org", "GATEWAY_INTERFACE=CGI/1.1",
                                                "QUERY_STRING="});
  REQUIRE(env.Find("SCRIPT_NAME") != nullptr);
  CHECK(std::string(env.Find("SCRIPT_NAME")) == "/a.cgi");
  CHECK(env.Find("SCRIPT") == nullptr);
  CHECK(env.Find("SCRIPT_NAME_X") == nullptr);
  CHECK(env.Find("request_method") == nullptr);  // names are case-sensitive
}

TEST_CASE("BuildCgiEnvironment: GATEWAY_INTERFACE and QUERY_STRING defaults", "[cgi_env]") {
  SECTION("absent -> added") {
    CgiEnvironment env = BuildCgiEnvironment({}, {}, {}, nullptr);
    CHECK(env.entries == std::vector<std::string>{"GATEWAY_INTERFACE=CGI/1.1", "QUERY_STRING="});
  }
  SECTION("present in params -> kept, not duplicated") {
    CgiEnvironment env =
        BuildCgiEnvironment({{"QUERY_STRING", "a=1&b=2"}, {"GATEWAY_INTERFACE", "CGI/1.0"}}, {}, {}, nullptr);
    CHECK(env.entries == std::vector<std::string>{"QUERY_STRING=a=1&b=2", "GATEWAY_INTERFACE=CGI/1.0"});
  }
  SECTION("present in base -> kept") {
    CgiEnvironment env = BuildCgiEnvironment({}, {{"QUERY_STRING", "x"}}, {}, nullptr);
    CHECK(std::string(env.Find("QUERY_STRING")) == "x");
    CHECK(env.entries.size() == 2);
  }
  SECTION("empty QUERY_STRING param stays empty") {
    CgiEnvironment env = BuildCgiEnvironment({{"QUERY_STRING", ""}}, {}, {}, nullptr);
    REQUIRE(env.Find("QUERY_STRING") != nullptr);
    CHECK(std::string(env.Find("QUERY_STRING")).empty());
    CHECK(env.entries.size() == 2);
  }
}

TEST_CASE("BuildCgiEnvironment: base (--env, PATH) wins over params, last duplicate param wins",
          "[cgi_env]") {
  NameValuePairs base = {{"PATH", "/usr/bin:/bin"}, {"SERVER_SOFTWARE", "launcher"}, {"TZ", "UTC"}};
  NameValuePairs params = {
      {"SERVER_SOFTWARE", "nginx"}, {"HTTP_X", "1"}, {"HTTP_X", "2"}, {"PATH", "/evil"}, {"HTTP_X", "3"}};
  std::vector<DroppedParam> dropped;
  CgiEnvironment env = BuildCgiEnvironment(params, base, {}, &dropped);
  // Position is fixed by the first appearance (base first), value by the last param.
  CHECK(env.entries == std::vector<std::string>{"PATH=/usr/bin:/bin", "SERVER_SOFTWARE=launcher", "TZ=UTC",
                                                "HTTP_X=3", "GATEWAY_INTERFACE=CGI/1.1", "QUERY_STRING="});
  REQUIRE(dropped.size() == 2);
  CHECK(dropped[0].name == "SERVER_SOFTWARE");
  CHECK(dropped[0].reason == "set by fcgi-run (--env)");
  CHECK(dropped[0].protected_entry.empty());
  CHECK(dropped[1].name == "PATH");
}

TEST_CASE("BuildCgiEnvironment: order is stable for the same input", "[cgi_env]") {
  NameValuePairs params;
  for (int i = 0; i < 200; ++i) params.emplace_back("HTTP_H" + std::to_string(i), "v");
  CgiEnvironment a = BuildCgiEnvironment(params, {{"B", "1"}}, {}, nullptr);
  CgiEnvironment b = BuildCgiEnvironment(params, {{"B", "1"}}, {}, nullptr);
  CHECK(a.entries == b.entries);
  std::vector<std::string> names = Names(a);
  REQUIRE(names.size() == 203);
  CHECK(names[0] == "B");
  CHECK(names[1] == "HTTP_H0");
  CHECK(names[200] == "HTTP_H199");
}

TEST_CASE("BuildCgiEnvironment: invalid names and values are dropped and reported", "[cgi_env]") {
  NameValuePairs params = {{"", "empty"},
                           {"A=B", "x"},
                           {std::string("NU\0L", 4), "x"},
                           {"GOOD", std::string("va\0lue", 6)},
                           {"OK", "fine"}};
  std::vector<DroppedParam> dropped;
  CgiEnvironment env = BuildCgiEnvironment(params, {}, {}, &dropped);
  CHECK(Names(env) == std::vector<std::string>{"OK", "GATEWAY_INTERFACE", "QUERY_STRING"});
  REQUIRE(dropped.size() == 4);
  CHECK(dropped[0].name.empty());
  CHECK(dropped[0].reason == "empty name");
  CHECK(dropped[1].name == "A=B");
  CHECK(dropped[1].reason == "name contains '='");
  CHECK(dropped[2].name == std::string("NU\0L", 4));
  CHECK(dropped[2].reason == "name contains NUL");
  CHECK(dropped[3].name == "GOOD");
  CHECK(dropped[3].reason == "value contains NUL");
}

TEST_CASE("BuildCgiEnvironment: an invalid param does not remove a valid base value", "[cgi_env]") {
  CgiEnvironment env = BuildCgiEnvironment({{"LANG", std::string("x\0y", 3)}}, {{"LANG", "C"}}, {}, nullptr);
  REQUIRE(env.Find("LANG") != nullptr);
  CHECK(std::string(env.Find("LANG")) == "C");
}

TEST_CASE("BuildCgiEnvironment: HTTP_PROXY is always dropped (httpoxy)", "[cgi_env]") {
  std::vector<DroppedParam> dropped;
  CgiEnvironment env = BuildCgiEnvironment({{"HTTP_PROXY", "http://evil:8080"}},
                                           {{"HTTP_PROXY", "http://base"}}, {}, &dropped);
  CHECK(env.Find("HTTP_PROXY") == nullptr);
  REQUIRE(dropped.size() == 2);
  CHECK(dropped[1].reason == "HTTP_PROXY (httpoxy)");
  // Only the exact name: the lowercase operator setting and similar names stay.
  env = BuildCgiEnvironment({{"HTTP_PROXY_AUTH", "1"}}, {{"http_proxy", "http://p"}}, {}, nullptr);
  CHECK(env.Find("HTTP_PROXY_AUTH") != nullptr);
  CHECK(env.Find("http_proxy") != nullptr);
}

TEST_CASE("BuildRequestEnvironment: overrides replace params, FCGI_ROLE follows the role", "[cgi_env]") {
  NameValuePairs params = {
      {"SCRIPT_FILENAME", "/from/the/web/server"}, {"REQUEST_METHOD", "GET"}, {"SCRIPT_FILENAME", "/again"}};
  NameValuePairs overrides = {{"SCRIPT_FILENAME", "/srv/app.cgi"}};
  NameValuePairs base = {{"LANG", "C.UTF-8"}};
  std::vector<DroppedParam> dropped;
  CgiEnvironment env = BuildRequestEnvironment(params, overrides, base, {}, Role::kResponder, &dropped);
  REQUIRE(env.Find("SCRIPT_FILENAME") != nullptr);
  CHECK(std::string(env.Find("SCRIPT_FILENAME")) == "/srv/app.cgi");
  CHECK(std::count(env.entries.begin(), env.entries.end(), "SCRIPT_FILENAME=/srv/app.cgi") == 1);
  CHECK(std::string(env.Find("LANG")) == "C.UTF-8");
  CHECK(std::string(env.Find("FCGI_ROLE")) == "RESPONDER");
  CHECK(env.entries.back() == "FCGI_ROLE=RESPONDER");

  CHECK(std::string(
            BuildRequestEnvironment(params, {}, {}, {}, Role::kAuthorizer, &dropped).Find("FCGI_ROLE")) ==
        "AUTHORIZER");
  CHECK(std::string(BuildRequestEnvironment(params, {}, {}, {}, Role::kFilter, &dropped).Find("FCGI_ROLE")) ==
        "FILTER");
  CHECK(std::string(BuildRequestEnvironment(params, {}, {}, {}, Role::kResponder, &dropped)
                        .Find("SCRIPT_FILENAME")) == "/again");
  // A FCGI_ROLE param is dropped: the role is BEGIN_REQUEST's.
  NameValuePairs with_role = {{"FCGI_ROLE", "AUTHORIZER"}};
  dropped.clear();
  CgiEnvironment kept = BuildRequestEnvironment(with_role, {}, {}, {}, Role::kResponder, &dropped);
  CHECK(std::string(kept.Find("FCGI_ROLE")) == "RESPONDER");
  CHECK(std::count_if(kept.entries.begin(), kept.entries.end(),
                      [](const std::string& e) { return e.rfind("FCGI_ROLE=", 0) == 0; }) == 1);
  REQUIRE(dropped.size() == 1);
  CHECK(dropped[0].name == "FCGI_ROLE");
}

TEST_CASE("ProtectedVariable: glibc's secure-execution list, LD_*, shells and interpreters", "[cgi_env]") {
  // glibc 2.36 sysdeps/generic/unsecvars.h, every name.
  for (const char* name :
       {"GCONV_PATH",       "GETCONF_DIR",     "GLIBC_TUNABLES",  "HOSTALIASES",   "LD_AUDIT",
        "LD_DEBUG",         "LD_DEBUG_OUTPUT", "LD_DYNAMIC_WEAK", "LD_HWCAP_MASK", "LD_LIBRARY_PATH",
        "LD_ORIGIN_PATH",   "LD_PRELOAD",      "LD_PROFILE",      "LD_SHOW_AUXV",  "LD_USE_LOAD_BIAS",
        "LOCALDOMAIN",      "LOCPATH",         "MALLOC_TRACE",    "NIS_PATH",      "NLSPATH",
        "RESOLV_HOST_CONF", "RES_OPTIONS",     "TMPDIR",          "TZDIR"}) {
    INFO(name);
    CHECK(ProtectedVariable(name) != nullptr);
  }
  // The names, and the prefix entries.
  for (const char* name : {"LD_BIND_NOW",
                           "MALLOC_ARENA_MAX",
                           "BASH_ENV",
                           "ENV",
                           "BASH_FUNC_x%%",
                           "SHELLOPTS",
                           "PS4",
                           "PERL5OPT",
                           "PERL5LIB",
                           "PYTHONPATH",
                           "PYTHONSTARTUP",
                           "PYTHONWARNINGS",
                           "NODE_OPTIONS",
                           "RUBYOPT",
                           "PHPRC",
                           "JAVA_TOOL_OPTIONS",
                           "LUA_INIT",
                           "OPENSSL_CONF",
                           "GIT_CONFIG_PARAMETERS",
                           "GIT_CONFIG_KEY_0"}) {
    INFO(name);
    CHECK(ProtectedVariable(name) != nullptr);
  }
  CHECK(std::string(ProtectedVariable("LD_PRELOAD")) == "LD_*");
  CHECK(std::string(ProtectedVariable("BASH_FUNC_ls%%")) == "BASH_FUNC_*");
  CHECK(std::string(ProtectedVariable("PERL5OPT")) == "PERL5OPT");
  // Ordinary variables: CGI meta-variables, headers, application settings.
  for (const char* name : {"HTTP_HOST", "HTTP_LD_PRELOAD", "QUERY_STRING", "SCRIPT_FILENAME", "CGIT_CONFIG",
                           "NODE_ENV", "GIT_PROJECT_ROOT", "GIT_HTTP_EXPORT_ALL", "PATH_INFO", "REMOTE_ADDR",
                           "LD", "ld_preload", "XPYTHONPATH", "ENVIRONMENT", "PERL5OPTX", "TZ", "LANG"}) {
    INFO(name);
    CHECK(ProtectedVariable(name) == nullptr);
  }
}

TEST_CASE("BuildCgiEnvironment: protected params are dropped unless passed; base may set them", "[cgi_env]") {
  NameValuePairs params = {{"LD_PRELOAD", "/tmp/evil.so"},
                           {"PERL5LIB", "/srv/lib"},
                           {"BASH_FUNC_x%%", "() { :; }"},
                           {"CGIT_CONFIG", "/etc/cgitrc"},
                           {"LD_LIBRARY_PATH", "/tmp/evil"}};
  NameValuePairs base = {{"LD_LIBRARY_PATH", "/opt/app/lib"}};
  std::vector<DroppedParam> dropped;
  CgiEnvironment env = BuildCgiEnvironment(params, base, {"PERL5LIB"}, &dropped);
  CHECK(env.entries == std::vector<std::string>{"LD_LIBRARY_PATH=/opt/app/lib", "PERL5LIB=/srv/lib",
                                                "CGIT_CONFIG=/etc/cgitrc", "GATEWAY_INTERFACE=CGI/1.1",
                                                "QUERY_STRING="});
  REQUIRE(dropped.size() == 3);
  CHECK(dropped[0].name == "LD_PRELOAD");
  CHECK(dropped[0].protected_entry == "LD_*");
  CHECK(dropped[0].reason == "protected variable (LD_*)");
  CHECK(dropped[1].name == "BASH_FUNC_x%%");
  CHECK(dropped[1].protected_entry == "BASH_FUNC_*");
  CHECK(dropped[2].name == "LD_LIBRARY_PATH");
  CHECK(dropped[2].reason == "set by fcgi-run (--env)");
  // --pass-env takes exact names: PERL5LIB does not let PERL5OPT through.
  env = BuildCgiEnvironment({{"PERL5OPT", "-Mx"}}, {}, {"PERL5LIB"}, nullptr);
  CHECK(env.Find("PERL5OPT") == nullptr);
}

TEST_CASE("FindParam returns the last occurrence", "[cgi_env]") {
  NameValuePairs params = {{"A", "1"}, {"B", "2"}, {"A", "3"}};
  REQUIRE(FindParam(params, "A") != nullptr);
  CHECK(*FindParam(params, "A") == "3");
  CHECK(*FindParam(params, "B") == "2");
  CHECK(FindParam(params, "C") == nullptr);
  CHECK(FindParam(params, "a") == nullptr);
}

TEST_CASE("ParseContentLength", "[cgi_env]") {
  std::optional<uint64_t> len = 7;
  SECTION("absent -> nullopt") {
    CHECK(ParseContentLength({{"OTHER", "5"}}, &len).ok());
    CHECK_FALSE(len.has_value());
  }
  SECTION("empty (nginx chunked, no buffering) -> nullopt") {
    CHECK(ParseContentLength({{"CONTENT_LENGTH", ""}}, &len).ok());
    CHECK_FALSE(len.has_value());
  }
  SECTION("plain decimal") {
    CHECK(ParseContentLength({{"CONTENT_LENGTH", "0"}}, &len).ok());
    CHECK(len == uint64_t{0});
    CHECK(ParseContentLength({{"CONTENT_LENGTH", "12345"}}, &len).ok());
    CHECK(len == uint64_t{12345});
    CHECK(ParseContentLength({{"CONTENT_LENGTH", "007"}}, &len).ok());
    CHECK(len == uint64_t{7});
    CHECK(ParseContentLength({{"CONTENT_LENGTH", "18446744073709551615"}}, &len).ok());
    CHECK(len == uint64_t{18446744073709551615u});
  }
  SECTION("last occurrence counts") {
    CHECK(ParseContentLength({{"CONTENT_LENGTH", "x"}, {"CONTENT_LENGTH", "4"}}, &len).ok());
    CHECK(len == uint64_t{4});
  }
  SECTION("not a plain decimal number -> error, out reset") {
    for (const char* bad : {"-1", "+1", " 1", "1 ", "0x10", "1e3", "1.0", "abc", "1,000"}) {
      INFO(bad);
      Status s = ParseContentLength({{"CONTENT_LENGTH", bad}}, &len);
      CHECK_FALSE(s.ok());
      CHECK(s.code() == Status::Code::kProtocolError);
      CHECK(s.message().find("CONTENT_LENGTH") != std::string::npos);
      CHECK_FALSE(len.has_value());
    }
  }
  SECTION("overflow -> error") {
    Status s = ParseContentLength({{"CONTENT_LENGTH", "18446744073709551616"}}, &len);
    CHECK_FALSE(s.ok());
    CHECK(s.message() == "CONTENT_LENGTH \"18446744073709551616\" is too large");
    CHECK_FALSE(ParseContentLength({{"CONTENT_LENGTH", "99999999999999999999999"}}, &len).ok());
  }
  SECTION("odd bytes are escaped in the message") {
    Status s = ParseContentLength({{"CONTENT_LENGTH", std::string("1\n\0", 3)}}, &len);
    CHECK(s.message() == "CONTENT_LENGTH \"1\\x0a\\x00\" is not a decimal number");
  }
}

TEST_CASE("EscapeForLog", "[cgi_env]") {
  CHECK(EscapeForLog("") == "");
  CHECK(EscapeForLog("Hello world ~!") == "Hello world ~!");
  CHECK(EscapeForLog("a\"b\\c") == "a\\\"b\\\\c");
  CHECK(EscapeForLog("tab\there\r\n") == "tab\\x09here\\x0d\\x0a");
  CHECK(EscapeForLog(std::string("\0\x7f\xff", 3)) == "\\x00\\x7f\\xff");
  CHECK(EscapeForLog("caf\xc3\xa9") == "caf\\xc3\\xa9");
  SECTION("truncation") {
    CHECK(EscapeForLog("abcdef", 6) == "abcdef");
    CHECK(EscapeForLog("abcdefg", 6) == "abcdef...");
    CHECK(EscapeForLog("abc", 0) == "...");
    // An escape sequence is never cut: "ab\x00" needs 6 characters.
    CHECK(EscapeForLog(std::string("ab\0", 3), 5) == "ab...");
    CHECK(EscapeForLog(std::string("ab\0", 3), 6) == "ab\\x00");
    CHECK(EscapeForLog(std::string(1000, 'x')).size() == 83);
  }
}

}  // namespace
}  // namespace fcgi
