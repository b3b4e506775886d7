// Helpers of the spawned-by-the-web-server tests (spawned_*_test.cc): the
// document root every server serves (copies of the examples and of the
// fork-mode probe), the fcgi-run command line the servers run, and the checks
// every server passes (hello, CGI environment, 5 MiB POST, streaming, a crash,
// the parked process serving several requests). Header-only; test code only.
//
// These tests set --mode themselves and are tagged [spawned][once]: ctest runs
// them in one e2e variant only (tests/CMakeLists.txt: [once] = e2e-exec).
#ifndef FCGI_RUN_TESTS_E2E_SPAWNED_UTIL_H_
#define FCGI_RUN_TESTS_E2E_SPAWNED_UTIL_H_

#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/content_util.h"
#include "tests/support/http_client.h"
#include "tests/support/spawning_servers.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_paths.h"

namespace fcgi::test::spawned {

inline std::string ProbeProgram() {
  return std::string(FCGI_RUN_BUILD_DIR) + "/tests/e2e/fork_programs/probe.cgi";
}

// hello.cgi, env.cgi, echo.cgi, stream.cgi, crash.cgi, sleep.cgi, probe.cgi.
inline std::vector<std::string> ServedPrograms() {
  return {Example("hello.cgi"), Example("env.cgi"),   Example("echo.cgi"), Example("stream.cgi"),
          Example("crash.cgi"), Example("sleep.cgi"), ProbeProgram()};
}

// "<fcgi-run> --root <root> --mode <mode>": the dispatcher every server spawns.
inline std::string DispatcherCommand(const std::string& root, const std::string& mode = "fork") {
  return FcgiRunBinary() + " --root " + root + " --mode " + mode;
}

// What the checks need of a server.
struct Served {
  std::function<std::string(const std::string&)> url;  // path -> URL
  int port = 0;
  std::function<std::string()> log;  // the server's error log (fcgi-run's stderr is in it)
  std::string root;                  // document root
};

// Polls `done` every 20 ms for at most `timeout`.
inline bool WaitUntil(const std::function<bool()>& done, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return true;
}

// How often the most frequent value occurs in `values`.
inline int MostCommonCount(const std::vector<std::string>& values) {
  int best = 0;
  for (const std::string& v : values) {
    int n = 0;
    for (const std::string& w : values) n += v == w ? 1 : 0;
    best = std::max(best, n);
  }
  return best;
}

inline void CheckHello(const Served& s, const std::string& path = "/hello.cgi") {
  HttpResponse r = CurlGet(s.url(path), 20);
  INFO("GET " << path << ": " << r.error << r.status_line << "\n"
              << r.body << "\n--- server log:\n"
              << s.log());
  REQUIRE(r.ok);
  CHECK(r.status == 200);
  CHECK(r.body == "Hello, world!\n");
}

// env.cgi with a query, PATH_INFO and a header: the meta-variables are right.
inline void CheckEnvironment(const Served& s) {
  CurlRequest request;
  request.url = s.url("/env.cgi/extra/path?x=1&y=2");
  request.headers = {"X-Test-Header: yes", "Proxy: http://evil.example:3128/"};
  HttpResponse r = Curl(request);
  INFO(r.error << r.body << "\n--- server log:\n" << s.log());
  REQUIRE(r.ok);
  REQUIRE(r.status == 200);
  auto env = ParseEnvDump(r.body);
  CHECK(env["GATEWAY_INTERFACE"] == "CGI/1.1");
  CHECK(env["REQUEST_METHOD"] == "GET");
  CHECK(env["SCRIPT_NAME"] == "/env.cgi");
  CHECK(env["SCRIPT_FILENAME"] == s.root + "/env.cgi");
  CHECK(env["PATH_INFO"] == "/extra/path");
  CHECK(env["QUERY_STRING"] == "x=1&y=2");
  CHECK(env["HTTP_X_TEST_HEADER"] == "yes");
  CHECK(env.count("HTTP_PROXY") == 0);
  CHECK(env["CWD"] == s.root);
  CHECK(env["FDS"] == "0 1 2");
}

inline void CheckLargePost(const Served& s) {
  TempDir data("fcgi-run-body");
  std::string body = RandomBytes(5 * 1024 * 1024 + 1, 47);
  CurlRequest request;
  request.url = s.url("/echo.cgi");
  request.body_file = data.WriteFile("body.bin", body);
  request.headers = {"Content-Type: application/octet-stream"};
  HttpResponse r = Curl(request);
  INFO(r.error << r.status_line << "\n" << r.body.substr(0, 500) << "\n--- server log:\n" << s.log());
  REQUIRE(r.ok);
  CHECK(r.status == 200);
  CHECK(r.body == "length=" + std::to_string(body.size()) + "\nsha256=" + Sha256Hex(body) + "\n");
}

inline void CheckStreaming(const Served& s) {
  HttpResponse r = RawHttpGet(s.port, "/stream.cgi", {}, 20);
  INFO(r.error << r.body << "\n--- server log:\n" << s.log());
  REQUIRE(r.ok);
  REQUIRE(r.status == 200);
  CHECK(r.body == "line 1\nline 2\nline 3\nline 4\nline 5\n");
  double first = r.ArrivalOf("line 1");
  double last = r.ArrivalOf("line 5");
  INFO("line 1 at " << first << " s, line 5 at " << last << " s");
  CHECK(first >= 0);
  CHECK(last - first >= 0.5);  // ~800 ms apart in the program: not buffered to the end
}

// crash.cgi dies of SIGSEGV before any output: fcgi-run's own 502 reaches the client.
inline void CheckCrash(const Served& s) {
  HttpResponse r = CurlGet(s.url("/crash.cgi"), 20);
  INFO(r.error << r.status_line << "\n" << r.body << "\n--- server log:\n" << s.log());
  REQUIRE(r.ok);
  CHECK(r.status == 502);
  CHECK(r.body.find("SIGSEGV") != std::string::npos);
}

// Fork mode: probe.cgi is parked once; several requests are forks of that one
// process (same parent pid), each a process of its own.
inline void CheckParkedProcessPersists(const Served& s) {
  std::vector<std::string> ppids, pids;
  for (int i = 0; i < 4; ++i) {
    HttpResponse r = CurlGet(s.url("/probe.cgi?n=" + std::to_string(i)), 20);
    INFO("request " << i << ": " << r.error << r.body << "\n--- server log:\n" << s.log());
    REQUIRE(r.ok);
    REQUIRE(r.status == 200);
    auto fields = ParseEnvDump(r.body);
    ppids.push_back(fields["ppid"]);
    pids.push_back(fields["pid"]);
    CHECK(fields["counter"] == "1");  // fresh globals in every request
  }
  INFO("ppids " << ppids[0] << " " << ppids[1] << " " << ppids[2] << " " << ppids[3] << "; pids " << pids[1]
                << " " << pids[2] << " " << pids[3]);
  // One parked process is the parent of (nearly) every request: the first
  // request may be the one that parks it, and mod_fcgid may start a second
  // fcgi-run when a request arrives before it took the previous one back.
  CHECK(MostCommonCount(ppids) >= 3);
  CHECK(MostCommonCount(pids) == 1);  // each request is a process of its own
  for (size_t i = 0; i < pids.size(); ++i) CHECK(pids[i] != ppids[i]);
}

inline void CheckAll(const Served& s) {
  CheckHello(s);
  CheckEnvironment(s);
  CheckLargePost(s);
  CheckStreaming(s);
  CheckCrash(s);
  CheckParkedProcessPersists(s);
}

}  // namespace fcgi::test::spawned

#endif  // FCGI_RUN_TESTS_E2E_SPAWNED_UTIL_H_
