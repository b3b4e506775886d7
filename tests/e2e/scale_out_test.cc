// End-to-end: scale-out as docs/guide/scale-out.md configures it, with the
// page's nginx blocks and per-host command (addresses and program replaced).
// Three fcgi-run instances on loopback TCP ports (--allow-from, --status-path)
// behind one nginx `upstream` with `keepalive`, `fastcgi_keep_conn on` and
// `fastcgi_next_upstream error timeout`. Under a bounded load (300 GETs from 4
// threads) one instance is SIGKILLed: every request nginx could retry (no
// response header read yet) succeeds on another instance, and the status
// pages (?json, requests_total) show the share each instance served.
// Mode-independent ([once]): the instances run fcgi-run's default mode.
#include <signal.h>

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <regex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "tests/support/doc_snippet.h"
#include "tests/support/fcgi_run_server.h"
#include "tests/support/http_client.h"
#include "tests/support/net_util.h"
#include "tests/support/test_paths.h"
#include "tests/support/web_servers.h"

namespace fcgi::test {
namespace {

constexpr int kInstances = 3;
constexpr int kRequests = 300;
constexpr int kThreads = 4;
constexpr int kKillAfter = 100;  // completed requests before one instance is killed

// requests_total from an instance's status page (asked directly, not through
// nginx, which would pick any instance); -1 if it cannot be read.
long RequestsTotal(const FcgiRun& app, std::string* raw = nullptr) {
  CommandResult r =
      CgiFcgi(app.address(),
              {"REQUEST_METHOD=GET", "SCRIPT_NAME=/fcgi-status", "DOCUMENT_URI=/fcgi-status",
               "REQUEST_URI=/fcgi-status?json", "QUERY_STRING=json", "SERVER_PROTOCOL=HTTP/1.1"},
              "", Seconds(10));
  if (raw != nullptr) *raw = r.out + r.err;
  std::smatch m;
  static const std::regex kTotal("\"requests_total\"\\s*:\\s*([0-9]+)");
  if (!r.Succeeded() || !std::regex_search(r.out, m, kTotal)) return -1;
  return std::stol(m[1].str());
}

size_t Count(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

TEST_CASE("scale-out: three instances behind one nginx upstream, one killed mid-load",
          "[e2e][scale-out][once]") {
  const std::string page = "docs/guide/scale-out.md";
  const std::string command = DocSnippet(page, "scale-out-command");
  std::vector<std::unique_ptr<FcgiRun>> apps;
  std::vector<std::pair<std::string, std::string>> hosts;  // the page's addresses -> ours
  for (int i = 0; i < kInstances; ++i) {
    const std::string address = FreeTcpAddress();  // tcp:127.0.0.1:N
    hosts.emplace_back("10.0.0.1" + std::to_string(i + 1) + ":9000", address.substr(4));
    FcgiRunOptions o;
    o.listen = address;
    std::vector<std::string> words =
        CommandWords(Substitute(command, {{"tcp:10.0.0.11:9000", address},
                                          {"10.0.0.2", "127.0.0.1"},
                                          {"/srv/app.cgi", Example("hello.cgi")}}));
    REQUIRE(words.at(0) == "fcgi-run");
    o.command.assign(words.begin() + 1, words.end());  // the default mode, as deployed
    apps.push_back(std::make_unique<FcgiRun>(o));
  }
  NginxOptions n;
  n.extra_http = Substitute(DocSnippet(page, "nginx-scale-out-upstream"), hosts);
  n.locations =
      Substitute(DocSnippet(page, "nginx-scale-out-location"), {{"/srv/app.cgi", Example("hello.cgi")}});
  Nginx nginx(n);
  INFO("nginx config:\n" << nginx.config());
  REQUIRE(nginx.config().find("fastcgi_keep_conn on;") != std::string::npos);
  REQUIRE(nginx.config().find("keepalive 8;") != std::string::npos);

  std::atomic<int> next{0}, done{0}, failed{0};
  std::mutex failures_mutex;
  std::vector<std::string> failures;
  std::vector<long> before_kill(kInstances, -1);
  std::atomic<bool> killed{false};
  auto worker = [&]() {
    for (int i = next++; i < kRequests; i = next++) {
      HttpResponse r = RawHttpGet(nginx.port(), "/app/?n=" + std::to_string(i), {}, 20);
      if (!r.ok || r.status != 200 || r.body != "Hello, world!\n") {
        ++failed;
        std::lock_guard<std::mutex> lock(failures_mutex);
        failures.push_back(std::to_string(i) + ": " + (r.ok ? r.status_line + " " + r.body : r.error));
      }
      ++done;
    }
  };
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) threads.emplace_back(worker);
  // Mid-load: read every instance's count, then SIGKILL the last instance.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (done < kKillAfter && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  for (int i = 0; i < kInstances; ++i) before_kill[i] = RequestsTotal(*apps[i]);
  apps[kInstances - 1]->process().Signal(SIGKILL);
  killed = true;
  const int done_at_kill = done;
  for (auto& t : threads) t.join();

  std::vector<long> after(kInstances - 1);
  std::string raw;
  for (int i = 0; i < kInstances - 1; ++i) after[i] = RequestsTotal(*apps[i], &raw);
  INFO("status page: " << raw);
  std::string shares;
  for (int i = 0; i < kInstances; ++i) {
    shares += "instance " + std::to_string(i) + ": " + std::to_string(before_kill[i]) + " before the kill";
    if (i < kInstances - 1) shares += ", " + std::to_string(after[i]) + " at the end";
    shares += "\n";
  }
  const std::string error_log = nginx.ErrorLog();
  INFO("requests done when the kill came: " << done_at_kill << "\n"
                                            << shares << "failures:\n"
                                            <<
       [&] {
         std::string s;
         for (auto& f : failures) s += f + "\n";
         return s;
       }() << "nginx error log:\n" << error_log);
  REQUIRE(done == kRequests);
  // Every instance served a share before the kill (round robin), and the two
  // that lived served more after it.
  for (int i = 0; i < kInstances; ++i) CHECK(before_kill[i] > 0);
  for (int i = 0; i < kInstances - 1; ++i) CHECK(after[i] > before_kill[i]);
  // Nothing lost: what the instances counted covers every request (the status
  // requests themselves may be counted too, hence >=).
  CHECK(after[0] + after[1] + before_kill[kInstances - 1] >= kRequests);
  // nginx saw the dead instance (connection refused or reset) and retried.
  CHECK((error_log.find("Connection refused") != std::string::npos ||
         error_log.find("Connection reset") != std::string::npos ||
         error_log.find("prematurely closed") != std::string::npos));
  CHECK(error_log.find("fastcgi://" + NginxFastcgiPass(apps[kInstances - 1]->address())) !=
        std::string::npos);
  // A request nginx cannot retry is one whose response header it had already
  // read from the killed instance ("... while reading upstream"). Only those
  // may fail; every other one was retried on a live instance.
  const size_t not_retryable = Count(error_log, "while reading upstream");
  CHECK(static_cast<size_t>(failed.load()) <= not_retryable);
  WARN("scale-out shares (requests_total per instance):\n"
       << shares << "failed: " << failed << " (not retryable: " << not_retryable << ")");
}

}  // namespace
}  // namespace fcgi::test
