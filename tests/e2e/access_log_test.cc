// End-to-end: the access log (--access-log, --access-format) behind a real
// nginx, and its reopening on SIGUSR1 (logrotate). Mode-independent: [once].
#include <signal.h>
#include <stdio.h>

#include <catch2/catch.hpp>
#include <string>

#include "tests/e2e/observability_util.h"
#include "tests/support/http_client.h"
#include "tests/support/stacks.h"
#include "tests/support/test_paths.h"

namespace fcgi::test {
namespace {

TEST_CASE("access log: one line per request with its status, bytes, program and mode",
          "[e2e][access][once]") {
  TempDir logs("fcgi-run-access");
  const std::string log = logs.File("access.log");
  NginxStackOptions o;
  o.app.flags = {"--access-log", log, "--access-format", "%m %u %s %b %P %M %p %{HTTP_X_TAG}e",
                 "--max-body",   "4", "--ping-path",     "/ping"};
  NginxStack stack("hello.cgi", o);
  HttpResponse ok = Curl({.url = stack.Url("/hello?x=1"), .headers = {"X-Tag: first"}});
  INFO(ok.error << stack.Diagnostics());
  REQUIRE(ok.status == 200);
  HttpResponse big = Curl({.url = stack.Url("/upload"), .body = "more than four bytes"});
  REQUIRE(big.status == 413);
  REQUIRE(stack.Get("/ping").status == 200);
  const std::string mode = TestMode();
  // "Hello, world!\n": 14 body bytes.
  CHECK(FileContains(log, "GET /hello?x=1 200 14 hello.cgi " + mode + " "));
  CHECK(FileContains(log, " first\n"));
  // The launcher's own 413, before any program ran: no pid, no mode.
  const std::string body413 = "fcgi-run: request body too large\n";
  CHECK(FileContains(log, "POST /upload 413 " + std::to_string(body413.size()) + " - - - -\n"));
  CHECK(FileContains(log, "GET /ping 200 4 - - - -\n"));
  // The pid logged is the program's: a number, one line per request.
  std::string text = ReadFile(log);
  CHECK(std::count(text.begin(), text.end(), '\n') == 3);
  size_t hello = text.find("GET /hello");
  REQUIRE(hello != std::string::npos);
  std::string line = text.substr(hello, text.find('\n', hello) - hello);
  std::string pid = line.substr(line.rfind(mode + " ") + mode.size() + 1);
  pid = pid.substr(0, pid.find(' '));
  CHECK(std::stoi(pid) > 0);
}

TEST_CASE("access log: the default format, and reopened on SIGUSR1", "[e2e][access][once]") {
  TempDir logs("fcgi-run-access");
  const std::string log = logs.File("access.log");
  NginxStackOptions o;
  o.app.flags = {"--access-log", log};
  NginxStack stack("hello.cgi", o);
  REQUIRE(stack.Get("/one").status == 200);
  REQUIRE(FileContains(log, "\"GET /one HTTP/1.1\" 200 14 "));
  std::string first = ReadFile(log);
  CHECK(first.rfind("127.0.0.1 - - [", 0) == 0);  // common log format: remote address, then the time
  // logrotate: rename, then SIGUSR1; the launcher writes to the new file.
  const std::string rotated = logs.File("access.log.1");
  REQUIRE(rename(log.c_str(), rotated.c_str()) == 0);
  stack.app().process().Signal(SIGUSR1);
  REQUIRE(stack.app().LogContains("log reopened (SIGUSR1)"));
  REQUIRE(stack.Get("/two").status == 200);
  CHECK(FileContains(log, "\"GET /two HTTP/1.1\" 200 14 "));
  CHECK(ReadFile(rotated).find("/two") == std::string::npos);
  CHECK(ReadFile(log).find("/one") == std::string::npos);
}

TEST_CASE("access log: a bad --access-format is refused at start-up", "[e2e][access][once]") {
  CommandResult r = RunCommand(
      {FcgiRunBinary(), "--access-log", "/dev/null", "--access-format", "%s %Z", Example("hello.cgi")});
  CHECK(r.ExitCode() != 0);
  CHECK(r.err.find("--access-format") != std::string::npos);
  CHECK(r.err.find("%Z") != std::string::npos);
}

}  // namespace
}  // namespace fcgi::test
