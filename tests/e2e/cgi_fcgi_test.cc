// End-to-end: fcgi-run driven by cgi-fcgi (libfcgi's command-line client),
// which sends its own environment as the FastCGI params. Also the launcher's
// environment policy: only PATH and --env pass from the launcher to programs.
#include <catch2/catch.hpp>

#include <string>

#include "tests/support/content_util.h"
#include "tests/support/fcgi_run_server.h"
#include "tests/support/test_paths.h"

namespace fcgi::test {
namespace {

FcgiRunOptions AppFor(const std::string& example, const std::string& listen = "unix") {
  FcgiRunOptions options;
  options.program = Example(example);
  options.listen = listen;
  return options;
}

std::vector<std::string> CgiParams(const std::string& example, const std::string& method = "GET") {
  return {"SCRIPT_FILENAME=" + Example(example),
          "SCRIPT_NAME=/" + example,
          "REQUEST_METHOD=" + method,
          "SERVER_PROTOCOL=HTTP/1.1",
          "SERVER_NAME=localhost",
          "SERVER_PORT=80",
          "REMOTE_ADDR=127.0.0.1"};
}

TEST_CASE("cgi-fcgi: hello over unix and TCP", "[e2e][cgi-fcgi]") {
  const std::string listen = GENERATE(as<std::string>(), "unix", "tcp");  // cgi-fcgi has no IPv6
  FcgiRun app(AppFor("hello.cgi", listen));
  CommandResult r = CgiFcgi(app.address(), CgiParams("hello.cgi"), "", Seconds(20));
  INFO(listen << " " << DescribeWaitStatus(r.status) << "\nout:\n"
              << r.out << "\nerr:\n"
              << r.err << "\nlauncher:\n"
              << app.Log());
  REQUIRE(r.Succeeded());
  CgiOutput out = ParseCgiOutput(r.out);
  REQUIRE(out.ok);
  CHECK(out.Header("Content-Type") == "text/plain");
  CHECK(out.body == "Hello, world!\n");
}

TEST_CASE("cgi-fcgi: a 1 MiB POST body reaches the program intact", "[e2e][cgi-fcgi]") {
  FcgiRun app(AppFor("echo.cgi"));
  std::string body = RandomBytes(1024 * 1024 + 17, 23);
  auto params = CgiParams("echo.cgi", "POST");
  params.push_back("CONTENT_LENGTH=" + std::to_string(body.size()));
  params.push_back("CONTENT_TYPE=application/octet-stream");
  CommandResult r = CgiFcgi(app.address(), params, body, Seconds(30));
  INFO(DescribeWaitStatus(r.status) << "\nout:\n"
                                    << r.out << "\nerr:\n"
                                    << r.err << "\nlauncher:\n"
                                    << app.Log());
  REQUIRE(r.Succeeded());
  CgiOutput out = ParseCgiOutput(r.out);
  CHECK(out.body == "length=" + std::to_string(body.size()) + "\nsha256=" + Sha256Hex(body) + "\n");
}

TEST_CASE("launcher environment: only PATH and --env reach the program", "[e2e][cgi-fcgi][env]") {
  FcgiRunOptions options = AppFor("env.cgi");
  options.launcher_env = {"SECRET_FROM_LAUNCHER=leak", "KEEP_ME=kept"};
  options.flags = {"--env", "KEEP_ME", "--env", "SET_ME=value"};
  FcgiRun app(options);
  auto params = CgiParams("env.cgi");  // deliberately no QUERY_STRING, no GATEWAY_INTERFACE
  params.push_back("HTTP_PROXY=http://evil.example:3128/");  // httpoxy straight from a client
  params.push_back("HTTP_X_CUSTOM=abc");
  CommandResult r = CgiFcgi(app.address(), params, "", Seconds(20));
  INFO(DescribeWaitStatus(r.status) << "\nout:\n"
                                    << r.out << "\nerr:\n"
                                    << r.err << "\nlauncher:\n"
                                    << app.Log());
  REQUIRE(r.Succeeded());
  auto env = ParseEnvDump(ParseCgiOutput(r.out).body);
  CHECK(env.count("PATH") == 1);
  CHECK(env["KEEP_ME"] == "kept");
  CHECK(env["SET_ME"] == "value");
  CHECK(env.count("SECRET_FROM_LAUNCHER") == 0);
  CHECK(env.count("LANG") == 0);  // in the launcher's environment, not passed
  CHECK(env["GATEWAY_INTERFACE"] == "CGI/1.1");
  REQUIRE(env.count("QUERY_STRING") == 1);
  CHECK(env["QUERY_STRING"].empty());
  CHECK(env.count("HTTP_PROXY") == 0);
  CHECK(env["HTTP_X_CUSTOM"] == "abc");
  CHECK(env["REQUEST_METHOD"] == "GET");
  CHECK(env["CWD"] == ExamplesDir());
  CHECK(env["FDS"] == "0 1 2");
}

}  // namespace
}  // namespace fcgi::test
