// End-to-end: direct mode (--mode persistent --direct), where the persistent
// workers accept the FastCGI connections themselves and the launcher only
// supervises them. Most cases use tests/e2e/persistent_programs/direct_probe.c,
// whose default page is "pid=<worker pid>\nvisits=<N>" (N: a global counter),
// so a test can tell which worker served a request and that globals persist.
// Every case passes its mode itself and is tagged [persistent]: the suite runs
// them once, in the "e2e-persistent: " variant. The option conflicts and the
// fallback for scripts are tests/e2e/direct_options_test.cc's.
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <catch2/catch.hpp>

#include <cerrno>
#include <chrono>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/content_util.h"
#include "tests/support/fcgi_run_server.h"
#include "tests/support/fcgi_test_client.h"
#include "tests/support/http_client.h"
#include "tests/support/process.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_paths.h"
#include "tests/support/web_servers.h"

namespace fcgi::test {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

std::string Probe() {
  return std::string(FCGI_RUN_BUILD_DIR) + "/tests/e2e/persistent_programs/direct_probe.cgi";
}

// fcgi-run --mode persistent [--direct] --workers 1 PROGRAM, with more flags.
FcgiRunOptions Options(const std::string& program, std::vector<std::string> flags = {}, bool direct = true) {
  FcgiRunOptions o;
  o.program = program;
  o.pass_mode = false;
  o.workers = 1;
  o.flags = {"--mode", "persistent"};
  if (direct) o.flags.push_back("--direct");
  o.flags.insert(o.flags.end(), flags.begin(), flags.end());
  return o;
}

NameValuePairs Params(const FcgiRun& app, const std::string& query, size_t content_length = 0) {
  NameValuePairs p = {{"SCRIPT_FILENAME", app.program()},
                      {"SCRIPT_NAME", "/probe"},
                      {"REQUEST_METHOD", content_length > 0 ? "POST" : "GET"},
                      {"QUERY_STRING", query},
                      {"GATEWAY_INTERFACE", "CGI/1.1"},
                      {"SERVER_PROTOCOL", "HTTP/1.1"},
                      {"SERVER_NAME", "localhost"},
                      {"SERVER_PORT", "80"},
                      {"REMOTE_ADDR", "127.0.0.1"}};
  if (content_length > 0) p.emplace_back("CONTENT_LENGTH", std::to_string(content_length));
  return p;
}

struct Result {
  FcgiResponse raw;
  CgiResponse cgi;
  pid_t pid = 0;   // "pid=N" in the body
  int visits = 0;  // "visits=N" in the body
};

Result Parse(FcgiResponse raw) {
  Result r;
  r.raw = std::move(raw);
  r.cgi = SplitCgiResponse(r.raw.stdout_data);
  size_t at = r.cgi.body.find("pid=");
  if (at != std::string::npos) r.pid = std::atoi(r.cgi.body.c_str() + at + 4);
  at = r.cgi.body.find("visits=");
  if (at != std::string::npos) r.visits = std::atoi(r.cgi.body.c_str() + at + 7);
  return r;
}

Result Get(const FcgiRun& app, const std::string& query, Millis timeout = Millis(8000)) {
  return Parse(RequestOnce(app.address(), Params(app, query), "", timeout));
}

// Polls `condition` every 20 ms until it holds or `timeout` passes.
template <typename Fn>
bool WaitFor(Fn condition, Seconds timeout) {
  auto deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(timeout);
  while (!condition()) {
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(20ms);
  }
  return true;
}

bool Gone(pid_t pid) { return kill(pid, 0) != 0 && errno == ESRCH; }

#define PERSISTENT_ONLY()                                                            \
  if (TestMode() != "persistent") {                                                  \
    WARN("runs in the e2e-persistent variant only (FCGI_RUN_TEST_MODE=persistent)"); \
    return;                                                                          \
  }

// ---- through nginx ----

TEST_CASE("direct: C hello through nginx", "[e2e][persistent][direct]") {
  PERSISTENT_ONLY();
  FcgiRun app(Options(Example("hello.cgi")));
  NginxOptions n;
  n.fcgi_address = app.address();
  n.script_filename = app.program();
  Nginx nginx(n);
  for (int i = 0; i < 3; ++i) {
    HttpResponse r = CurlGet(nginx.Url("/hello?n=" + std::to_string(i)), 10);
    INFO("request " << i << ": " << r.error << "\nlauncher:\n"
                    << app.Log() << "\nnginx:\n"
                    << nginx.ErrorLog());
    REQUIRE(r.ok);
    CHECK(r.status == 200);
    CHECK(r.Header("Content-Type") == "text/plain");
    CHECK(r.body == "Hello, world!\n");
  }
  CHECK(app.Log().find("not served in persistent mode") == std::string::npos);
}

// nginx keeps its FastCGI connections open (fastcgi_keep_conn on + upstream
// keepalive): the one worker must still serve another client meanwhile, and
// nginx's kept connection afterwards.
TEST_CASE("direct: a connection nginx keeps open does not block other clients", "[e2e][persistent][direct]") {
  PERSISTENT_ONLY();
  FcgiRun app(Options(Probe()));
  NginxOptions n;
  n.fcgi_address = app.address();
  n.script_filename = app.program();
  n.keep_conn = true;
  Nginx nginx(n);
  std::vector<HttpResponse> before;
  for (int i = 0; i < 3; ++i) before.push_back(CurlGet(nginx.Url("/probe"), 10));
  Result other = Get(app, "");  // a second client while nginx holds its idle connection
  HttpResponse after = CurlGet(nginx.Url("/probe"), 10);
  INFO(other.raw.Describe() << after.error << "\nlauncher:\n"
                            << app.Log() << "\nnginx:\n"
                            << nginx.ErrorLog());
  for (const HttpResponse& r : before) CHECK(r.status == 200);
  REQUIRE(other.raw.ok());
  CHECK(other.visits == 4);
  REQUIRE(after.ok);
  CHECK(after.status == 200);
  CHECK(after.body.find("visits=5") != std::string::npos);
}

// The key equivalence: the same program behind the same nginx sees the same
// environment whether the launcher passes the request on (persistent mode) or
// the worker took it itself (direct mode). Both launchers listen, one after the
// other, on the same socket, so nginx's own variables are the same too.
TEST_CASE("direct: the environment equals persistent mode's for the same request",
          "[e2e][persistent][direct]") {
  PERSISTENT_ONLY();
  TempDir dir("fcgi-run-direct-env");
  const std::string address = "unix:" + dir.File("app.sock");
  NginxOptions n;
  n.fcgi_address = address;
  n.script_filename = Probe();
  Nginx nginx(n);
  auto dump = [&](bool direct, std::string* log) {
    FcgiRunOptions o = Options(Probe(), {"--env", "DIRECT_TEST_BASE=base value"}, direct);
    o.listen = address;
    FcgiRun app(o);
    HttpResponse r = Curl({.url = nginx.Url("/some/path?env"),
                           .headers = {"X-Test-Header: yes", "Cookie: a=1; b=2"},
                           .max_time = 10});
    *log = r.error + "\n" + app.Log() + "\nnginx:\n" + nginx.ErrorLog();
    return r;
  };
  std::string plain_log, direct_log;
  HttpResponse plain = dump(false, &plain_log);
  HttpResponse direct = dump(true, &direct_log);
  INFO("persistent:\n" << plain.body << plain_log << "\ndirect:\n" << direct.body << direct_log);
  REQUIRE(plain.status == 200);
  REQUIRE(direct.status == 200);
  auto plain_env = ParseEnvDump(plain.body);
  auto direct_env = ParseEnvDump(direct.body);
  const std::set<std::string> may_differ = {"REMOTE_PORT"};  // curl's source port
  std::string only_plain, only_direct, different;
  for (const auto& [name, value] : plain_env) {
    if (may_differ.count(name) != 0) continue;
    auto it = direct_env.find(name);
    if (it == direct_env.end()) {
      only_plain += name + "=" + value + "\n";
    } else if (it->second != value) {
      different += name + ": persistent '" + value + "', direct '" + it->second + "'\n";
    }
  }
  for (const auto& [name, value] : direct_env) {
    if (may_differ.count(name) == 0 && plain_env.count(name) == 0) only_direct += name + "=" + value + "\n";
  }
  INFO("only in persistent mode:\n"
       << only_plain << "only in direct mode:\n"
       << only_direct << "different:\n"
       << different);
  CHECK(only_plain.empty());
  CHECK(only_direct.empty());
  CHECK(different.empty());
  // And the environment is the CGI one, not something that merely matches.
  CHECK(direct_env["QUERY_STRING"] == "env");
  CHECK(direct_env["HTTP_X_TEST_HEADER"] == "yes");
  CHECK(direct_env["DIRECT_TEST_BASE"] == "base value");
  CHECK(direct_env["GATEWAY_INTERFACE"] == "CGI/1.1");
  CHECK(direct_env["SCRIPT_FILENAME"] == Probe());
  CHECK(direct_env.count("REMOTE_PORT") == 1);
}

TEST_CASE("direct: a 5 MiB POST through nginx arrives intact (SHA-256)", "[e2e][persistent][direct]") {
  PERSISTENT_ONLY();
  FcgiRun app(Options(Example("echo.cgi")));
  NginxOptions n;
  n.fcgi_address = app.address();
  n.script_filename = app.program();
  Nginx nginx(n);
  TempDir data("fcgi-run-direct-body");
  const std::string body = RandomBytes(5 * 1024 * 1024, 21);
  const std::string file = data.WriteFile("body.bin", body);
  HttpResponse r = Curl({.url = nginx.Url("/echo"), .body_file = file, .max_time = 20});
  INFO(r.error << "\nlauncher:\n" << app.Log() << "\nnginx:\n" << nginx.ErrorLog());
  REQUIRE(r.ok);
  CHECK(r.status == 200);
  CHECK(r.body == "length=" + std::to_string(body.size()) + "\nsha256=" + Sha256Hex(body) + "\n");
}

TEST_CASE("direct: a 1 MiB response through nginx arrives intact", "[e2e][persistent][direct]") {
  PERSISTENT_ONLY();
  FcgiRun app(Options(Example("large.cgi")));
  NginxOptions n;
  n.fcgi_address = app.address();
  n.script_filename = app.program();
  Nginx nginx(n);
  constexpr size_t kOneMiB = 1024 * 1024;
  HttpResponse r = CurlGet(nginx.Url("/large?size=" + std::to_string(kOneMiB)), 20);
  INFO(r.error << "\nlauncher:\n" << app.Log() << "\nnginx:\n" << nginx.ErrorLog());
  REQUIRE(r.ok);
  CHECK(r.status == 200);
  REQUIRE(r.body.size() == kOneMiB);
  const std::string expected = LargePattern(kOneMiB);
  INFO("first difference at " << FirstDifference(r.body, expected));
  CHECK(r.body == expected);
}

// ---- raw FastCGI ----

TEST_CASE("direct: END_REQUEST appStatus is the exit status of exit(3) deep in a helper",
          "[e2e][persistent][direct]") {
  PERSISTENT_ONLY();
  FcgiRun app(Options(Probe()));
  Result a = Get(app, "exit3");
  Result b = Get(app, "");
  INFO(a.raw.Describe() << b.raw.Describe() << app.Log());
  REQUIRE(a.raw.ended);
  CHECK(a.raw.protocol_status == static_cast<uint8_t>(ProtocolStatus::kRequestComplete));
  CHECK(a.raw.app_status == 3);
  CHECK(a.cgi.status == 200);
  CHECK(a.cgi.body == "about to exit(3)\n");  // exit() flushed stdio
  REQUIRE(b.raw.ok());
  CHECK(b.raw.app_status == 0);
  CHECK(b.visits == 2);  // the same worker, repaired after the exit
}

TEST_CASE("direct: KEEP_CONN: two requests in a row on one connection", "[e2e][persistent][direct]") {
  PERSISTENT_ONLY();
  FcgiRun app(Options(Probe()));
  FcgiTestClient client;
  REQUIRE(client.Connect(app.address()).ok());
  RequestSpec spec;
  spec.keep_conn = true;
  spec.params = Params(app, "");
  Result a = Parse(client.Request(spec, 8000ms));
  Result b = Parse(client.Request(spec, 8000ms));
  INFO(a.raw.Describe() << b.raw.Describe() << app.Log());
  REQUIRE(a.raw.ok());
  REQUIRE(b.raw.ok());
  CHECK(a.pid > 0);
  CHECK(a.pid == b.pid);
  CHECK(b.visits == a.visits + 1);
  CHECK_FALSE(client.peer_closed());
}

TEST_CASE("direct: GET_VALUES is answered by the worker", "[e2e][persistent][direct]") {
  PERSISTENT_ONLY();
  FcgiRun app(Options(Probe()));
  FcgiTestClient client;
  REQUIRE(client.Connect(app.address()).ok());
  REQUIRE(client.Send(GetValuesBytes({kMaxConns, kMaxReqs, kMpxsConns})).ok());
  ManagementRecord m = client.ReadManagementRecord(8000ms);
  INFO(m.failure << "\nlauncher:\n" << app.Log());
  REQUIRE(m.ok());
  CHECK(m.type == static_cast<uint8_t>(RecordType::kGetValuesResult));
  CHECK(std::atoi(m.Value(kMaxConns).c_str()) > 0);
  CHECK(std::atoi(m.Value(kMaxReqs).c_str()) > 0);
  // A direct worker refuses a second request on a connection: it does not
  // multiplex, which FastCGI 1.0 (4.1) says is FCGI_MPXS_CONNS "0".
  CHECK(m.Value(kMpxsConns) == "0");
  RequestSpec spec;
  spec.params = Params(app, "");
  Result r = Parse(client.Request(spec, 8000ms));
  INFO(r.raw.Describe());
  CHECK(r.raw.ok());
  CHECK(r.pid > 0);
}

TEST_CASE("direct: a second request id on a busy connection is refused, the first still answered",
          "[e2e][persistent][direct]") {
  PERSISTENT_ONLY();
  FcgiRun app(Options(Probe()));
  FcgiTestClient client;
  REQUIRE(client.Connect(app.address()).ok());
  // Request 1 waits for its body, so it is certainly active when request 2 begins.
  std::string first =
      BeginRequestBytes(1, Role::kResponder, true) + ParamsBytes(1, Params(app, "", 5)) + EmptyParamsBytes(1);
  REQUIRE(client.Send(first).ok());
  RequestSpec second;
  second.id = 2;
  second.keep_conn = true;
  second.params = Params(app, "");
  REQUIRE(client.Send(RequestBytes(second)).ok());
  FcgiResponse refused = client.ReadUntilEnd(2, 8000ms);
  REQUIRE(client.Send(StdinBytes(1, "12345") + EmptyStdinBytes(1)).ok());
  Result answered = Parse(client.ReadUntilEnd(1, 8000ms));
  INFO(refused.Describe() << answered.raw.Describe() << app.Log());
  REQUIRE(refused.ended);
  CHECK((refused.protocol_status == static_cast<uint8_t>(ProtocolStatus::kOverloaded) ||
         refused.protocol_status == static_cast<uint8_t>(ProtocolStatus::kCantMpxConn)));
  CHECK(refused.stdout_data.empty());
  REQUIRE(answered.raw.ok());
  CHECK(answered.pid > 0);
  CHECK(answered.visits == 1);  // the refused request never ran main()
}

// The same limits give the same answers as persistent mode through the launcher.
TEST_CASE("direct: --max-body and --max-params answer as the launcher does", "[e2e][persistent][direct]") {
  PERSISTENT_ONLY();
  const std::vector<std::string> limits = {"--max-body", "1000", "--max-params", "4096"};
  std::map<bool, std::pair<int, int>> statuses;  // direct? -> (body status, params status)
  std::string log;
  for (bool direct : {false, true}) {
    FcgiRun app(Options(Probe(), limits, direct));
    Result body = Parse(RequestOnce(app.address(), Params(app, "", 2000), std::string(2000, 'b'), 8000ms));
    NameValuePairs big = Params(app, "");
    big.emplace_back("HTTP_X_BIG", std::string(8000, 'p'));
    Result params = Parse(RequestOnce(app.address(), big, "", 8000ms));
    Result fits = Get(app, "");
    statuses[direct] = {body.raw.ended ? body.cgi.status : -1, params.raw.ended ? params.cgi.status : -1};
    log += (direct ? "--- direct:\n" : "--- persistent:\n") + body.raw.Describe() + params.raw.Describe() +
           fits.raw.Describe() + app.Log();
    CHECK(fits.raw.ok());
    CHECK(fits.visits == 1);  // neither refused request ran the program
  }
  INFO(log);
  CHECK(statuses[false].first == 413);
  CHECK(statuses[false].second == 431);
  CHECK(statuses[true].first == statuses[false].first);
  CHECK(statuses[true].second == statuses[false].second);
}

TEST_CASE("direct: output without a header block gets 502 saying so", "[e2e][persistent][direct]") {
  PERSISTENT_ONLY();
  FcgiRun app(Options(Probe()));
  Result r = Get(app, "noheader");
  Result next = Get(app, "");
  INFO(r.raw.Describe() << next.raw.Describe() << app.Log());
  REQUIRE(r.raw.ended);
  CHECK(r.cgi.status == 502);
  CHECK(r.cgi.body.find("sent an invalid response") != std::string::npos);
  CHECK(next.raw.ok());
  CHECK(next.visits == 2);
}

// Either the connection closes without END_REQUEST (the web server's own 502)
// or the dying worker still answers with the launcher's 502 naming the signal;
// never a hang, never a partial page presented as complete.
TEST_CASE("direct: a crash gets no page from the program; a new worker serves the next request",
          "[e2e][persistent][direct]") {
  PERSISTENT_ONLY();
  FcgiRun app(Options(Probe()));
  Result warm = Get(app, "");
  Result crash = Get(app, "crash");
  Result next = Get(app, "");
  INFO(warm.raw.Describe() << crash.raw.Describe() << next.raw.Describe() << app.Log());
  REQUIRE(warm.raw.ok());
  if (crash.raw.ended) {
    CHECK(crash.cgi.status == 502);
    CHECK(crash.cgi.body.find("SIGSEGV") != std::string::npos);
    CHECK(crash.raw.app_status == 128 + SIGSEGV);
  } else {
    CHECK(crash.raw.stdout_data.empty());
    CHECK_FALSE(crash.raw.failure.empty());  // closed (or reset), not a timeout:
    CHECK(crash.raw.failure.find("timed out") == std::string::npos);
  }
  CHECK(app.LogContains("SIGSEGV"));
  CHECK(app.LogContains("pid " + std::to_string(warm.pid)));
  REQUIRE(next.raw.ok());
  CHECK(next.pid > 0);
  CHECK(next.pid != warm.pid);
  CHECK(next.visits == 1);
}

TEST_CASE("direct: --max-requests 3 recycles the worker after its third request",
          "[e2e][persistent][direct]") {
  PERSISTENT_ONLY();
  FcgiRun app(Options(Probe(), {"--max-requests", "3"}));
  std::vector<Result> r;
  for (int i = 0; i < 7; ++i) r.push_back(Get(app, ""));
  std::string all;
  for (const Result& x : r) all += x.raw.Describe();
  INFO(all << app.Log());
  for (const Result& x : r) REQUIRE(x.raw.ok());
  CHECK(r[0].pid == r[2].pid);
  CHECK(r[2].visits == 3);
  CHECK(r[3].pid != r[2].pid);
  CHECK(r[3].visits == 1);
  CHECK(r[3].pid == r[5].pid);
  CHECK(r[6].pid != r[5].pid);
  CHECK(app.LogContains("recycling persistent worker pid " + std::to_string(r[0].pid) + " after 3 requests"));
  CHECK(app.LogContains("--max-requests 3"));
}

TEST_CASE("direct: --timeout ends a request that runs too long; the next one is served",
          "[e2e][persistent][direct]") {
  PERSISTENT_ONLY();
  FcgiRun app(Options(Probe(), {"--timeout", "1", "--kill-grace", "1"}));
  TempDir dir("fcgi-run-direct-timeout");
  Result warm = Get(app, "");
  NameValuePairs params = Params(app, "sleep=30");
  params.emplace_back("HTTP_X_STARTED_FILE", dir.File("started"));
  FcgiTestClient client;
  REQUIRE(client.Connect(app.address()).ok());
  RequestSpec spec;
  spec.params = params;
  REQUIRE(client.Send(RequestBytes(spec)).ok());
  const auto sent = Clock::now();
  FcgiResponse hung = client.ReadUntilEnd(1, 9000ms);
  const double seconds = std::chrono::duration<double>(Clock::now() - sent).count();
  Result next = Get(app, "");
  INFO(hung.Describe() << next.raw.Describe() << app.Log() << "ended after " << seconds << " s");
  CHECK(access(dir.File("started").c_str(), F_OK) == 0);  // main() did run
  if (hung.ended) {                                       // the dying worker answered with the launcher's 504
    CHECK(SplitCgiResponse(hung.stdout_data).status == 504);
  } else {  // or the connection closed: the web server's own error page
    CHECK(hung.stdout_data.empty());
    CHECK(hung.failure.find("timed out") == std::string::npos);  // closed (or reset)
  }
  // --timeout 1 + the 1 s sweep + --kill-grace 1 + margin for a loaded machine.
  CHECK(seconds < 6.5);
  CHECK(app.LogContains("--timeout"));
  CHECK(app.LogContains("terminating worker pid " + std::to_string(warm.pid)));
  REQUIRE(next.raw.ok());
  CHECK(next.pid != warm.pid);
}

TEST_CASE("direct: --stderr fcgi sends the program's stderr as FCGI_STDERR", "[e2e][persistent][direct]") {
  PERSISTENT_ONLY();
  FcgiRun app(Options(Probe(), {"--stderr", "fcgi"}));
  Result r = Get(app, "stderr");
  INFO(r.raw.Describe() << app.Log());
  REQUIRE(r.raw.ok());
  CHECK(r.cgi.body == "wrote to stderr\n");
  CHECK(r.raw.stderr_data == "direct-probe: to stderr\n");
}

TEST_CASE("direct: --stderr log puts the program's stderr in the launcher's log",
          "[e2e][persistent][direct]") {
  PERSISTENT_ONLY();
  FcgiRun app(Options(Probe(), {"--stderr", "log"}));
  Result pid = Get(app, "");
  Result r = Get(app, "stderr");
  INFO(r.raw.Describe() << app.Log());
  REQUIRE(r.raw.ok());
  CHECK(r.cgi.body == "wrote to stderr\n");
  CHECK(r.raw.stderr_data.empty());
  // The launcher's line (as without --direct), from the worker that ran the request.
  CHECK(app.LogContains("direct_probe.cgi stderr: direct-probe: to stderr"));
  CHECK(app.LogContains("worker pid " + std::to_string(pid.pid) +
                        ": direct_probe.cgi stderr: direct-probe: to stderr"));
}

TEST_CASE("direct: globals persist across requests (persistent workers)", "[e2e][persistent][direct]") {
  PERSISTENT_ONLY();
  FcgiRun app(Options(Probe()));
  std::vector<Result> r;
  for (int i = 0; i < 3; ++i) r.push_back(Get(app, ""));  // one connection each
  INFO(r[0].raw.Describe() << r[2].raw.Describe() << app.Log());
  CHECK(r[0].visits == 1);
  CHECK(r[1].visits == 2);
  CHECK(r[2].visits == 3);
  CHECK(r[0].pid == r[2].pid);
  CHECK(r[0].pid != app.process().pid());  // a worker, not the launcher
}

TEST_CASE("direct: SIGTERM during a request lets it complete, then fcgi-run exits 0",
          "[e2e][persistent][direct]") {
  PERSISTENT_ONLY();
  FcgiRun app(Options(Probe(), {"--shutdown-timeout", "8"}));
  TempDir dir("fcgi-run-direct-stop");
  Result warm = Get(app, "");
  REQUIRE(warm.pid > 0);
  NameValuePairs params = Params(app, "sleep=2");
  params.emplace_back("HTTP_X_STARTED_FILE", dir.File("started"));
  FcgiTestClient client;
  REQUIRE(client.Connect(app.address()).ok());
  RequestSpec spec;
  spec.params = params;
  REQUIRE(client.Send(RequestBytes(spec)).ok());
  REQUIRE(WaitFor([&] { return access(dir.File("started").c_str(), F_OK) == 0; }, Seconds(5)));
  app.process().Signal(SIGTERM);
  Result r = Parse(client.ReadUntilEnd(1, 8000ms));
  std::optional<int> status = app.process().Wait(Seconds(8));
  INFO(r.raw.Describe() << app.Log());
  REQUIRE(r.raw.ok());
  CHECK(r.cgi.body.find("slept") != std::string::npos);
  CHECK(r.pid == warm.pid);
  REQUIRE(status.has_value());
  CHECK(WIFEXITED(*status));
  CHECK(WEXITSTATUS(*status) == 0);
  CHECK(WaitFor([&] { return Gone(warm.pid); }, Seconds(5)));
}

}  // namespace
}  // namespace fcgi::test
