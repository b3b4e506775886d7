// End-to-end: the status page (--status-path) and ping (--ping-path) behind a
// real nginx, the same pages through the HTTP front, and the slow log
// (--slow-threshold, --slow-backtrace). Cases tagged [once] do not depend on
// the mode and run only in the e2e-exec variant (tests/CMakeLists.txt).
#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <future>
#include <regex>
#include <string>
#include <thread>

#include "tests/e2e/observability_util.h"
#include "tests/support/doc_snippet.h"
#include "tests/support/fcgi_run_server.h"
#include "tests/support/fcgi_test_client.h"
#include "tests/support/http_client.h"
#include "tests/support/net_util.h"
#include "tests/support/stacks.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_paths.h"
#include "tests/support/web_servers.h"

namespace fcgi::test {
namespace {

const std::vector<std::string> kPages = {"--status-path", "/fcgi-status", "--ping-path", "/fcgi-ping"};

NginxStackOptions WithPages(std::vector<std::string> more = {}) {
  NginxStackOptions o;
  o.app.flags = kPages;
  o.app.flags.insert(o.app.flags.end(), more.begin(), more.end());
  return o;
}

// Polls the JSON status until `done(fields)` or 10 s; returns the last fields.
template <typename Done>
std::map<std::string, std::string> PollStatus(const NginxStack& stack, const std::vector<std::string>& paths,
                                              Done done) {
  std::map<std::string, std::string> f;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  do {
    HttpResponse r = stack.Get("/fcgi-status?json&full");
    if (r.status == 200) f = JsonFields(r.body, paths);
    if (done(f)) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  } while (std::chrono::steady_clock::now() < deadline);
  return f;
}

TEST_CASE("status: ping answers and the counts match the requests made", "[e2e][status]") {
  // One worker recycled after 2 requests: persistent mode replaces it once in this test.
  NginxStack stack("hello.cgi", WithPages({"--workers", "1", "--max-requests", "2"}));
  HttpResponse ping = stack.Get("/fcgi-ping");
  INFO(ping.error << stack.Diagnostics());
  REQUIRE(ping.status == 200);
  CHECK(ping.body == "pong");
  CHECK(ping.Header("Cache-Control") == "no-store");
  for (int i = 0; i < 3; ++i) REQUIRE(stack.Get("/hello?" + std::to_string(i)).status == 200);
  const std::string mode = TestMode();
  HttpResponse text = stack.Get("/fcgi-status");
  REQUIRE(text.status == 200);
  CHECK(text.Header("Content-Type").rfind("text/plain", 0) == 0);
  // 3 programs, the ping, and this status request itself (counted when it arrived).
  CHECK(text.body.find("requests total:         5\n") != std::string::npos);
  CHECK(text.body.find("requests active:        0\n") != std::string::npos);  // not the status request itself
  CHECK(std::regex_search(text.body, std::regex("\nstart since: +[0-9]+ s\n")));  // with its unit
  CHECK(text.body.find("mode " + mode + ":") != std::string::npos);

  HttpResponse json = stack.Get("/fcgi-status?json");
  REQUIRE(json.status == 200);
  CHECK(json.Header("Content-Type") == "application/json");
  auto f = JsonFields(json.body, {"requests_total", "requests_active", "responses/2xx", "responses/5xx",
                                  "modes/" + mode + "/starts", "workers/0/mode", "workers/0/busy",
                                  "workers/0/parked", "workers/0/idle", "launcher_5xx", "active_requests",
                                  "accepted_connections", "modes/" + mode + "/park_starts",
                                  "modes/persistent/recycles/max_requests", "worker_slots"});
  INFO(json.body);
  REQUIRE_FALSE(f.empty());  // valid JSON
  CHECK(f["requests_total"] == "6");
  CHECK(f["requests_active"] == "0");  // the status request itself is not counted
  CHECK(f["responses/2xx"] == "5");    // 3 programs, the ping, the text status
  CHECK(f["responses/5xx"] == "0");
  CHECK(f["launcher_5xx"] == "0");
  // nginx opens one connection per request (no keep_conn); the harness's readiness probe adds its own.
  CHECK(std::stoi(f["accepted_connections"]) >= 6);
  CHECK(f["modes/" + mode + "/starts"] == "3");  // one program run per request, counted by the runner's start
  CHECK(f["workers/0/mode"] == "\"" + mode + "\"");
  CHECK(f["workers/0/busy"] == "0");
  CHECK(f["worker_slots"] == "1");
  if (mode == "fork") {
    CHECK(f["workers/0/parked"] == "1");
    CHECK(f["modes/fork/park_starts"] == "1");
  }
  if (mode == "persistent") {
    CHECK(f["modes/persistent/recycles/max_requests"] == "1");  // after the 2nd request
    CHECK(f["modes/persistent/park_starts"] == "2");            // the first worker and its replacement
  } else {
    CHECK(f["modes/persistent/recycles/max_requests"] == "MISSING");
  }
  CHECK(f["active_requests"] == "MISSING");  // only with ?full
}

TEST_CASE("status: OpenMetrics scraped through nginx's exact-match location", "[e2e][status][once]") {
  FcgiRunOptions app;
  app.program = Example("hello.cgi");
  app.flags = kPages;
  FcgiRun run(app);
  NginxOptions no;
  no.fcgi_address = run.address();
  no.locations =
      "    location = /fcgi-status { fastcgi_pass fcgi_backend; include /etc/nginx/fastcgi_params; }\n"
      "    location / { fastcgi_pass fcgi_backend; include /etc/nginx/fastcgi_params; }\n";
  Nginx nginx(no);
  REQUIRE(CurlGet(nginx.Url("/hello")).status == 200);
  HttpResponse r = CurlGet(nginx.Url("/fcgi-status?openmetrics"));
  INFO(r.error << r.body << run.Log() << nginx.ErrorLog());
  REQUIRE(r.status == 200);
  CHECK(r.Header("Content-Type") == "application/openmetrics-text; version=1.0.0; charset=utf-8");
  CHECK(OpenMetricsProblem(r.body) == "");
  CHECK(r.body.find("\nfcgi_run_requests_total 2\n") != std::string::npos);
  CHECK(r.body.find("fcgi_run_responses_total{class=\"2xx\"} 1\n") != std::string::npos);
  CHECK(r.body.find("fcgi_run_workers{program=\"" + Example("hello.cgi")) != std::string::npos);
  // The validator itself rejects what is not OpenMetrics.
  CHECK(OpenMetricsProblem("fcgi_run_requests_total 1\n# EOF\n") != "");
  CHECK(OpenMetricsProblem("# TYPE x gauge\nx 1\n") != "");
  // Off unless configured: without --status-path the program answers.
  FcgiRunOptions plain;
  plain.program = Example("hello.cgi");
  FcgiRun run2(plain);
  no.fcgi_address = run2.address();
  Nginx nginx2(no);
  HttpResponse p = CurlGet(nginx2.Url("/fcgi-status"));
  CHECK(p.body == "Hello, world!\n");
}

TEST_CASE("status: ?full shows a running slow request with its pid, and the slow log names it",
          "[e2e][status][slow][once]") {
  TempDir logs("fcgi-run-slow");
  const std::string slow_log = logs.File("slow.log");
  NginxStack stack("sleep.cgi",
                   WithPages({"--slow-threshold", "0.5", "--slow-log", slow_log, "--slow-backtrace"}));
  auto slow = std::async(std::launch::async, [&stack]() { return stack.Get("/sleep?4", 30); });
  auto f = PollStatus(stack, {"active_requests/0/pid", "active_requests/0/uri", "active_requests/0/method"},
                      [](auto& f) {
                        return f.count("active_requests/0/pid") && f["active_requests/0/pid"] != "MISSING" &&
                               f["active_requests/0/pid"] != "-1";
                      });
  INFO(stack.Diagnostics());
  REQUIRE(f["active_requests/0/uri"] == "\"/sleep?4\"");
  CHECK(f["active_requests/0/method"] == "\"GET\"");
  const std::string pid = f["active_requests/0/pid"];
  REQUIRE(std::stoi(pid) > 0);
  CHECK(access(("/proc/" + pid).c_str(), F_OK) == 0);  // a live process
  // The text form too.
  HttpResponse text = stack.Get("/fcgi-status?full");
  CHECK(text.body.find("pid " + pid + "  elapsed ") != std::string::npos);
  // Slow log: one line at the threshold, then gdb's stacks of that pid.
  CHECK(FileContains(slow_log, "slow request: " + Example("sleep.cgi") + " pid " + pid));
  if (access("/usr/bin/gdb", X_OK) == 0) {
    CHECK(FileContains(slow_log, "[pid " + pid + "] #0 ", Seconds(15)));
  } else {
    WARN("gdb not installed: backtrace not checked");
  }
  HttpResponse done = slow.get();
  CHECK(done.status == 200);
  auto after = PollStatus(stack, {"slow_requests", "requests_active"},
                          [](auto& f) { return f["requests_active"] == "0"; });
  CHECK(after["slow_requests"] == "1");
  CHECK(ReadFile(slow_log).find("slow request:", ReadFile(slow_log).find("slow request:") + 1) ==
        std::string::npos);
}

TEST_CASE("status: the HTTP front answers the status and ping pages too", "[e2e][status][http][once]") {
  const int port = FreeTcpPort();
  FcgiRunOptions o;
  o.program = Example("hello.cgi");
  o.listen = "tcp";
  o.flags = {"--http",          "127.0.0.1:" + std::to_string(port),
             "--status-path",   "/st",
             "--ping-path",     "/ping",
             "--ping-response", "alive"};
  FcgiRun run(o);
  const std::string base = "http://127.0.0.1:" + std::to_string(port);
  HttpResponse ping = CurlGet(base + "/ping");
  INFO(ping.error << run.Log());
  REQUIRE(ping.status == 200);
  CHECK(ping.body == "alive");
  REQUIRE(CurlGet(base + "/hello").body == "Hello, world!\n");
  HttpResponse st = CurlGet(base + "/st?json");
  REQUIRE(st.status == 200);
  auto f = JsonFields(st.body, {"requests_total", "accepted_connections"});
  CHECK(f["requests_total"] == "3");
}

// docs/guide/operations.md's nginx locations for the status page and the
// ping, with the socket replaced.
TEST_CASE("status: the documented nginx locations reach the status page and the ping",
          "[e2e][status][docs][once]") {
  FcgiRunOptions app;
  app.program = Example("hello.cgi");
  app.flags = kPages;
  FcgiRun run(app);
  NginxOptions no;
  no.locations = Substitute(DocSnippet("docs/guide/operations.md", "nginx-status-ping"),
                            {{"unix:/run/fcgi-run/app.sock", run.address()}});
  Nginx nginx(no);
  HttpResponse status = CurlGet(nginx.Url("/fcgi-status"));
  INFO(status.error << status.body << run.Log() << nginx.ErrorLog());
  CHECK(status.status == 200);
  CHECK(status.body.find("requests total") != std::string::npos);
  HttpResponse ping = CurlGet(nginx.Url("/fcgi-ping"));
  CHECK(ping.status == 200);
  CHECK(ping.body == "pong");
}

// A non-loopback IPv4 address of this host ("" when it has none).
std::string NonLoopbackAddress() {
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return "";
  std::string found;
  for (ifaddrs* a = list; a != nullptr && found.empty(); a = a->ifa_next) {
    if (a->ifa_addr == nullptr || a->ifa_addr->sa_family != AF_INET || (a->ifa_flags & IFF_LOOPBACK))
      continue;
    char text[INET_ADDRSTRLEN];
    if (inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(a->ifa_addr)->sin_addr, text, sizeof text))
      found = text;
  }
  freeifaddrs(list);
  return found;
}

// The status page lists every running request's URI and query string: only
// the clients --status-allow names see it (default: loopback on the HTTP
// front, which has no web server in front of it), and a program's local
// redirect never reaches it.
TEST_CASE("status: who may read the status page; never through a local redirect",
          "[e2e][status][http][hardening][once]") {
  TempDir dir("fcgi-run-status-access");
  const std::string script = dir.WriteFile(
      "app.cgi",
      "#!/bin/sh\ncase \"$SCRIPT_NAME\" in\n"
      "  /redirect) printf 'Location: /st?full\\r\\n\\r\\n' ;;\n"
      "  *) printf 'Content-Type: text/plain\\r\\n\\r\\nprogram %s\\n' \"$SCRIPT_NAME\" ;;\nesac\n");
  chmod(script.c_str(), 0755);
  const int port = FreeTcpPort();
  FcgiRunOptions o;
  o.program = script;
  o.listen = "tcp";
  o.flags = {"--http", "0.0.0.0:" + std::to_string(port), "--status-path", "/st", "--ping-path", "/ping"};
  // The harness waits for the FastCGI listener; the HTTP one opens right after.
  auto http_ready = [port] {
    return WaitForConnect("tcp:127.0.0.1:" + std::to_string(port), std::chrono::milliseconds(10000));
  };
  SECTION("default: loopback clients of the HTTP front only") {
    FcgiRun run(o);
    REQUIRE(http_ready());
    HttpResponse local = CurlGet("http://127.0.0.1:" + std::to_string(port) + "/st?json");
    INFO(local.error << run.Log());
    CHECK(local.status == 200);
    CHECK(local.body.find("requests_total") != std::string::npos);
    const std::string ip = NonLoopbackAddress();
    if (ip.empty()) {
      WARN("no non-loopback IPv4 address on this host: the remote case is not run");
    } else {
      HttpResponse remote = CurlGet("http://" + ip + ":" + std::to_string(port) + "/st?json&full");
      INFO(remote.error << run.Log());
      CHECK(remote.status == 403);
      CHECK(remote.body.find("requests_total") == std::string::npos);
      CHECK(run.LogContains("status page refused to " + ip));
      // The ping page answers anyone.
      CHECK(CurlGet("http://" + ip + ":" + std::to_string(port) + "/ping").body == "pong");
    }
    // Over FastCGI the web server decides: any REMOTE_ADDR.
    FcgiResponse fcgi = RequestOnce(run.address(), {{"SCRIPT_NAME", "/st"}, {"REMOTE_ADDR", "203.0.113.9"}});
    CHECK(SplitCgiResponse(fcgi.stdout_data).status == 200);
  }
  SECTION("a local redirect to the status page runs the program instead") {
    FcgiRun run(o);
    REQUIRE(http_ready());
    HttpResponse r = CurlGet("http://127.0.0.1:" + std::to_string(port) + "/redirect");
    INFO(r.error << run.Log());
    CHECK(r.status == 200);
    CHECK(r.body == "program /st\n");
  }
  SECTION("--status-allow: the HTTP front's peer and FastCGI's REMOTE_ADDR must match") {
    o.flags.insert(o.flags.end(), {"--status-allow", "10.1.0.0/16, 2001:db8::/32"});
    FcgiRun run(o);
    REQUIRE(http_ready());
    HttpResponse local = CurlGet("http://127.0.0.1:" + std::to_string(port) + "/st");
    INFO(local.error << run.Log());
    CHECK(local.status == 403);
    CHECK(run.LogContains("not in --status-allow"));
    FcgiResponse outside =
        RequestOnce(run.address(), {{"SCRIPT_NAME", "/st"}, {"REMOTE_ADDR", "203.0.113.9"}});
    CHECK(SplitCgiResponse(outside.stdout_data).status == 403);
    FcgiResponse missing = RequestOnce(run.address(), {{"SCRIPT_NAME", "/st"}});
    CHECK(SplitCgiResponse(missing.stdout_data).status == 403);
    FcgiResponse inside = RequestOnce(
        run.address(), {{"SCRIPT_NAME", "/st"}, {"REMOTE_ADDR", "10.1.2.3"}, {"QUERY_STRING", "json"}});
    CHECK(SplitCgiResponse(inside.stdout_data).status == 200);
    CHECK(SplitCgiResponse(inside.stdout_data).body.find("requests_total") != std::string::npos);
  }
}

}  // namespace
}  // namespace fcgi::test
