// End-to-end: Apache httpd with mod_fcgid spawning fcgi-run itself (listening
// socket on fd 0, environment PATH + FcgidInitialEnv, one connection per
// request, SIGTERM / SIGTERM / SIGKILL on stop and graceful restart), in both
// forms docs/guide/web-servers.md "Apache mod_fcgid" shows, taken from the page:
// FcgidWrapper for every .cgi (dispatcher mode), FcgidWrapper ... virtual (one
// program), and the options in a config file. Tagged [spawned][once]: run once (in
// the e2e-exec ctest variant); every fcgi-run here gets its --mode explicitly.
#include <catch2/catch.hpp>

#include <chrono>
#include <cstdio>
#include <optional>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "tests/e2e/spawned_util.h"
#include "tests/support/doc_snippet.h"

namespace fcgi::test {
namespace {

using namespace spawned;
using namespace std::chrono_literals;

Served ServedBy(FcgidApache& server, const std::string& root) {
  Served s;
  s.url = [&server](const std::string& path) { return server.Url(path); };
  s.port = server.apache().port();
  s.log = [&server] { return server.ErrorLog(); };
  s.root = root;
  return s;
}

std::string Join(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) out += l + "\n";
  return out;
}

// Every line of Apache's error log is Apache's ("[...") or one of fcgi-run's
// own one-line events ("<date> <time> fcgi-run[pid]: level: ..."): nothing
// fcgi-run wrote spans lines.
void CheckOneLinePerEvent(const std::string& log) {
  std::istringstream in(log);
  std::string line;
  int launcher_lines = 0;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '[') continue;
    INFO("error log line: " << line);
    CHECK(line.find(" fcgi-run[") != std::string::npos);
    CHECK(line.find("]: ") != std::string::npos);
    ++launcher_lines;
  }
  CHECK(launcher_lines > 0);
}

// Seconds since midnight of a fcgi-run log line ("YYYY-MM-DD HH:MM:SS.mmm ..."), -1 if none.
double LineSeconds(const std::string& line) {
  int h = 0, m = 0;
  double sec = 0;
  if (line.size() < 23 || std::sscanf(line.c_str() + 11, "%d:%d:%lf", &h, &m, &sec) != 3) return -1;
  return h * 3600 + m * 60 + sec;
}

// For every fcgi-run that got mod_fcgid's SIGTERM: seconds from that line to
// its "stopped" line (-1 if it never logged one).
std::vector<double> StopDurations(const std::string& log) {
  std::vector<std::string> lines;
  std::istringstream in(log);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  std::vector<double> out;
  for (size_t i = 0; i < lines.size(); ++i) {
    auto at = lines[i].find(" fcgi-run[");
    if (at == std::string::npos ||
        lines[i].find("received SIGTERM: stopping gracefully") == std::string::npos)
      continue;
    std::string who = lines[i].substr(at, lines[i].find("]:", at) - at + 2);  // " fcgi-run[PID]:"
    double duration = -1;
    for (size_t j = i + 1; j < lines.size(); ++j) {
      if (lines[j].find(who) != std::string::npos && lines[j].size() >= 9 &&
          lines[j].compare(lines[j].size() - 9, 9, ": stopped") == 0) {
        duration = LineSeconds(lines[j]) - LineSeconds(lines[i]);
        if (duration < 0) duration += 86400;  // across midnight
        break;
      }
    }
    out.push_back(duration);
  }
  return out;
}

constexpr const char* kPage = "docs/guide/web-servers.md";

// The page's mod_fcgid blocks: the server lines and `block`, with the paths
// replaced (the programs' directory, fcgi-run, and `more`).
std::string DocConfig(const std::string& block, const std::string& root,
                      std::vector<std::pair<std::string, std::string>> more = {}) {
  more.insert(more.begin(), {"/usr/bin/fcgi-run", FcgiRunBinary()});
  if (block != "apache-fcgid-virtual") more.insert(more.begin(), {"/srv/www", root});
  return DocSnippet(kPage, "apache-fcgid-server") + Substitute(DocSnippet(kPage, block), more);
}

// mod_fcgid serving every .cgi of `root` through the page's
// `FcgidWrapper "fcgi-run --root ROOT --mode fork"` block.
FcgidOptions WrapperOptions(const DocumentRoot& root) {
  FcgidOptions o;
  o.document_root = root.path();
  o.config = DocConfig("apache-fcgid-dispatcher", root.path());
  return o;
}

TEST_CASE("spawned: Apache mod_fcgid runs every .cgi through FcgidWrapper fcgi-run --root",
          "[e2e][spawned][once][fcgid]") {
  DocumentRoot root(ServedPrograms());
  FcgidApache server(WrapperOptions(root));
  Served s = ServedBy(server, root.path());
  CheckAll(s);
  // mod_fcgid gives fcgi-run PATH and FcgidInitialEnv only; it serves anyway.
  CHECK(server.ErrorLog().find("mod_fcgid: server localhost:" + FcgiRunBinary()) != std::string::npos);
  CheckOneLinePerEvent(server.ErrorLog());
}

TEST_CASE("spawned: Apache mod_fcgid, the documented FcgidWrapper virtual block",
          "[e2e][spawned][once][fcgid]") {
  DocumentRoot root({ProbeProgram()});
  FcgidOptions o;
  o.document_root = root.path();
  o.config = DocConfig("apache-fcgid-virtual", root.path(), {{"/srv/app.cgi", root.File("probe.cgi")}});
  FcgidApache server(o);
  std::vector<std::string> ppids;
  for (int i = 0; i < 3; ++i) {
    HttpResponse r = CurlGet(server.Url("/app/any/path?env&n=" + std::to_string(i)), 20);
    INFO(r.error << r.body << "\n--- error log:\n" << server.ErrorLog() << "\n--- config:\n" << o.config);
    REQUIRE(r.ok);
    REQUIRE(r.status == 200);
    auto fields = ParseEnvDump(r.body);
    CHECK(fields["query"] == "env&n=" + std::to_string(i));
    ppids.push_back(fields["ppid"]);
  }
  CHECK(MostCommonCount(ppids) >= 2);  // one parked probe.cgi serves the requests
}

TEST_CASE("spawned: Apache mod_fcgid FcgidWrapper virtual serves one program",
          "[e2e][spawned][once][fcgid]") {
  DocumentRoot root({ProbeProgram()});
  FcgidOptions o;
  o.document_root = root.path();
  o.wrapper = FcgiRunBinary() + " --mode fork --env PROBE_SETTING " + root.File("probe.cgi");
  o.is_virtual = true;
  o.initial_env = {"PROBE_SETTING from-fcgid"};
  FcgidApache server(o);
  std::vector<std::string> ppids;
  for (int i = 0; i < 4; ++i) {
    HttpResponse r = CurlGet(server.Url("/app/any/path?env&n=" + std::to_string(i)), 20);
    INFO(r.error << r.body << "\n--- error log:\n" << server.ErrorLog());
    REQUIRE(r.ok);
    REQUIRE(r.status == 200);
    auto fields = ParseEnvDump(r.body);
    CHECK(fields["query"] == "env&n=" + std::to_string(i));
    CHECK(fields["counter"] == "1");
    CHECK(fields["PROBE_SETTING"] == "from-fcgid");  // FcgidInitialEnv, passed on with --env
    ppids.push_back(fields["ppid"]);
  }
  CHECK(MostCommonCount(ppids) >= 3);  // one parked probe.cgi serves the requests
}

// The wrapper's options from a config file: named with --config on the
// wrapper (the page's block), or in FCGI_RUN_CONFIG through FcgidInitialEnv
// (mod_fcgid passes only PATH and FcgidInitialEnv; docs/guide/operations.md
// "Config file").
TEST_CASE("spawned: Apache mod_fcgid FcgidWrapper fcgi-run with its options in a config file",
          "[e2e][spawned][once][fcgid][config]") {
  DocumentRoot root(ServedPrograms());
  TempDir config_dir("fcgi-run-fcgid-config");
  std::string config = config_dir.WriteFile("app.conf", "root = " + root.path() + "\nmode = fork\n");
  SECTION("--config on the wrapper, as documented") {
    FcgidOptions o;
    o.document_root = root.path();
    o.config = DocConfig("apache-fcgid-config", root.path(), {{"/etc/fcgi-run/www.conf", config}});
    FcgidApache server(o);
    Served s = ServedBy(server, root.path());
    CheckHello(s);
    CheckParkedProcessPersists(s);
    CHECK(server.ErrorLog().find("(mode fork,") != std::string::npos);
  }
  SECTION("FCGI_RUN_CONFIG in FcgidInitialEnv") {
    FcgidOptions o;
    o.document_root = root.path();
    o.wrapper = FcgiRunBinary();
    o.initial_env = {"FCGI_RUN_CONFIG " + config};
    FcgidApache server(o);
    Served s = ServedBy(server, root.path());
    CheckHello(s);
    CHECK(server.ErrorLog().find("(mode fork,") != std::string::npos);
  }
}

// A slow request, then `apache2 -k <verb>`: fcgi-run gets mod_fcgid's
// SIGTERM (and a second one a second later), aborts the request, exits 0.
void SlowRequestThen(FcgidApache& server, const std::string& root, const std::string& verb) {
  // probe.cgi parked by a first request, then a request that sleeps 30 s: a
  // second process of probe.cgi (the fork serving it).
  REQUIRE(CurlGet(server.Url("/probe.cgi"), 10).status == 200);
  // curl as a child process (no thread in the test): its output goes to a file.
  TempDir out("fcgi-run-slow");
  ProcessOptions curl;
  curl.argv = {"curl", "-sS", "-i", "--max-time", "25", server.Url("/probe.cgi?sleep=30000")};
  curl.env = MinimalEnv();
  curl.stdout_path = out.File("response");
  curl.stderr_path = out.File("curl.err");
  auto start = std::chrono::steady_clock::now();
  Process client(curl);
  bool started = WaitUntil([&] { return ProcessesMatching(root + "/probe.cgi").size() >= 2; }, 10000ms);
  CHECK(started);
  std::vector<std::string> before = ProcessesMatching(root);
  CHECK(!before.empty());
  CommandResult c = server.Control(verb);
  INFO("apache2 -k " << verb << ": " << c.out << c.err);
  CHECK(c.Succeeded());
  // Every process of the old generation (fcgi-run, the parked and the running
  // program) is gone within mod_fcgid's window (SIGKILL at 8 s) and a margin.
  bool gone = WaitUntil(
      [&] {
        for (const std::string& p : ProcessesMatching(root)) {
          for (const std::string& b : before) {
            if (p == b) return false;
          }
        }
        return true;
      },
      12000ms);
  std::optional<int> curl_status = client.Wait(Seconds(25));
  double slow_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  CHECK(curl_status.has_value());
  INFO("left over:\n" << Join(ProcessesMatching(root)) << "--- error log:\n" << server.ErrorLog());
  CHECK(gone);
  CHECK(server.apache().WaitForErrorLog("received SIGTERM: stopping gracefully", 5s));
  CHECK(server.apache().WaitForErrorLog("terminated by calling exit(), return code: 0", 5s));
  CHECK(slow_seconds < 20);  // the request did not run its 30 s
}

// [fork], not [once]: it needs libcompat (a parked process), which the ASan
// run of the exec variant (make sanitize-test) does not build.
TEST_CASE("spawned: Apache mod_fcgid graceful restart and stop during a slow request leave no process",
          "[e2e][spawned][fork][fcgid][shutdown]") {
  DocumentRoot root(ServedPrograms());
  FcgidApache server(WrapperOptions(root));
  Served s = ServedBy(server, root.path());
  CheckHello(s);

  SlowRequestThen(server, root.path(), "graceful");
  // After the graceful restart a new fcgi-run serves.
  REQUIRE(WaitUntil([&] { return CurlGet(server.Url("/hello.cgi"), 10).status == 200; }, 10000ms));
  CheckHello(s);

  SlowRequestThen(server, root.path(), "stop");
  bool all_gone = WaitUntil([&] { return ProcessesMatching(root.path()).empty(); }, 10000ms);
  INFO("left over after stop:\n"
       << Join(ProcessesMatching(root.path())) << "--- error log:\n"
       << server.ErrorLog());
  CHECK(all_gone);
  const std::string apache_dir = server.apache().dir().path();
  bool apache_gone = WaitUntil([&] { return ProcessesMatching(apache_dir).empty(); }, 10000ms);
  INFO("Apache processes left:\n" << Join(ProcessesMatching(apache_dir)));
  CHECK(apache_gone);  // Apache itself stopped
  CheckOneLinePerEvent(server.ErrorLog());
  // Both generations (graceful, stop) finished within mod_fcgid's window: SIGKILL comes at 8 s.
  std::vector<double> durations = StopDurations(server.ErrorLog());
  CHECK(durations.size() >= 2);
  for (double d : durations) {
    INFO("SIGTERM to stopped: " << d << " s");
    CHECK(d >= 0);
    CHECK(d < 8);
  }
}

}  // namespace
}  // namespace fcgi::test
