// End-to-end checks of fcgi-run's hardening against a hostile FastCGI client,
// HTTP client or program: what a request may put in a program's environment,
// how large that environment may be in every mode, the ids a program runs
// with, and the launcher's own limits (record sizes, stderr backpressure,
// memory after a burst, the status page's audience). Each case drives the
// real binary; the user guide's security chapter names them.
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "core/fcgi_record_parser.h"
#include "tests/e2e/process_control_util.h"
#include "tests/support/content_util.h"
#include "tests/support/fcgi_run_server.h"
#include "tests/support/fcgi_test_client.h"
#include "tests/support/net_util.h"
#include "tests/support/process.h"
#include "tests/support/request_params.h"
#include "tests/support/test_paths.h"

namespace fcgi::test {
namespace {

using pc::TestProgram;

NameValuePairs EnvironParams(const std::string& query = "") {
  return RequestParams(TestProgram("environ.cgi"), "/environ.cgi", query);
}

FcgiRunOptions EnvironApp(std::vector<std::string> flags = {}) {
  FcgiRunOptions o;
  o.program = TestProgram("environ.cgi");
  o.flags = std::move(flags);
  return o;
}

size_t Count(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

// ---- 1. what a request may put in the environment --------------------------

// Variables that would change how the loader, libc, a shell or an interpreter
// starts the program: none may come from a request.
const NameValuePairs kProtectedParams = {
    {"LD_PRELOAD", "/nonexistent/fcgi-run-evil.so"},
    {"LD_LIBRARY_PATH", "/tmp/evil"},
    {"LD_AUDIT", "/nonexistent/fcgi-run-audit.so"},
    {"GCONV_PATH", "/tmp/evil"},
    {"GLIBC_TUNABLES", "glibc.malloc.check=3"},
    {"BASH_ENV", "/tmp/evil.sh"},
    {"ENV", "/tmp/evil.sh"},
    {"BASH_FUNC_x%%", "() { echo pwned; }"},
    {"PERL5OPT", "-Mevil"},
    {"PERL5LIB", "/tmp/evil"},
    {"PYTHONPATH", "/tmp/evil"},
    {"PYTHONSTARTUP", "/tmp/evil.py"},
    {"NODE_OPTIONS", "--require /tmp/evil.js"},
    {"RUBYOPT", "-revil"},
};

TEST_CASE("hardening: params never set loader, libc or interpreter variables", "[e2e][hardening][env]") {
  FcgiRun app(EnvironApp({"--env", "APP_MODE=operator"}));
  NameValuePairs params = EnvironParams();
  params.insert(params.end(), kProtectedParams.begin(), kProtectedParams.end());
  params.insert(params.end(), {{"HTTP_X_TEST", "header"},
                               {"CGIT_CONFIG", "/etc/cgitrc"},
                               {"APP_MODE", "client"},
                               {"FCGI_ROLE", "AUTHORIZER"}});
  for (int round = 0; round < 2; ++round) {
    FcgiResponse r = RequestOnce(app.address(), params);
    INFO(r.Describe() << "\nlauncher:\n" << app.Log());
    REQUIRE(r.ok());
    std::map<std::string, std::string> env = ParseEnvDump(SplitCgiResponse(r.stdout_data).body);
    for (const auto& [name, value] : kProtectedParams) {
      INFO(name);
      CHECK(env.count(name) == 0);
    }
    // The loader never saw LD_PRELOAD (it complains on stderr about a missing object).
    CHECK(r.stderr_data.find("LD_PRELOAD") == std::string::npos);
    // Ordinary params pass; --env and the request's role win over params.
    CHECK(env["HTTP_X_TEST"] == "header");
    CHECK(env["CGIT_CONFIG"] == "/etc/cgitrc");
    CHECK(env["APP_MODE"] == "operator");
    CHECK(env["FCGI_ROLE"] == "RESPONDER");
  }
  // Each dropped name is logged once, at warning, however many requests send it.
  CHECK(app.LogContains("LD_PRELOAD"));
  const std::string log = app.Log();
  INFO(log);
  CHECK(Count(log, "dropped param LD_PRELOAD") == 1);
  CHECK(Count(log, "dropped param LD_LIBRARY_PATH") == 1);
  CHECK(Count(log, "dropped param PERL5OPT") == 1);
  const size_t at = log.find("dropped param LD_PRELOAD");
  REQUIRE(at != std::string::npos);
  const size_t line = log.rfind('\n', at) + 1;  // npos + 1 = 0 for the first line
  CHECK(log.substr(line, at - line).find(": warning: ") != std::string::npos);
}

TEST_CASE("hardening: --pass-env lets one protected name through", "[e2e][hardening][env]") {
  FcgiRun app(EnvironApp({"--pass-env", "PERL5LIB"}));
  NameValuePairs params = EnvironParams();
  params.insert(params.end(), {{"PERL5LIB", "/srv/app/lib"}, {"PERL5OPT", "-Mevil"}});
  FcgiResponse r = RequestOnce(app.address(), params);
  INFO(r.Describe() << "\nlauncher:\n" << app.Log());
  REQUIRE(r.ok());
  std::map<std::string, std::string> env = ParseEnvDump(SplitCgiResponse(r.stdout_data).body);
  CHECK(env["PERL5LIB"] == "/srv/app/lib");
  CHECK(env.count("PERL5OPT") == 0);
}

// ---- 2, 3. the ids a program runs with ------------------------------------------

// A copy of environ.cgi owned by root and set-uid, in a directory anyone may enter.
struct SetuidProgram {
  TempDir dir{"fcgi-run-setuid"};
  std::string path = dir.File("setuid-environ.cgi");
  SetuidProgram() {
    dir.WriteFile("setuid-environ.cgi", ReadFile(TestProgram("environ.cgi")));
    if (chown(path.c_str(), 0, 0) != 0 || chmod(path.c_str(), 04755) != 0) {
      throw std::runtime_error("cannot make " + path + " set-uid root");
    }
  }
};

std::string IdsLine(const FcgiRun& app, const std::string& program) {
  FcgiResponse r = RequestOnce(app.address(), RequestParams(program, "/ids.cgi", "count"));
  INFO(r.Describe() << "\nlauncher:\n" << app.Log());
  REQUIRE(r.ok());
  std::string body = SplitCgiResponse(r.stdout_data).body;
  return body.substr(0, body.find('\n'));
}

TEST_CASE("hardening: a set-uid program keeps the ids fcgi-run gave it", "[e2e][hardening][privileges]") {
  if (geteuid() != 0) {
    WARN("needs root: not run");
    return;
  }
  SetuidProgram setuid;
  FcgiRunOptions o;
  o.program = setuid.path;
  o.socket_mode = "0666";
  o.flags = {"--user", "nobody"};
  {
    FcgiRun app(o);
    CHECK(IdsLine(app, setuid.path) == "uid=65534 euid=65534 gid=65534 egid=65534");
  }
  // Installations whose programs need set-id helpers say so.
  o.flags.push_back("--allow-setid-programs");
  FcgiRun app(o);
  CHECK(IdsLine(app, setuid.path) == "uid=65534 euid=0 gid=65534 egid=65534");
  CHECK(app.LogContains("--allow-setid-programs"));
}

TEST_CASE("hardening: --user and --program-user refuse group root unless --allow-root",
          "[e2e][hardening][privileges][once]") {
  if (geteuid() != 0) {
    WARN("needs root: not run");
    return;
  }
  for (const std::vector<std::string>& flags : std::vector<std::vector<std::string>>{
           {"--user", "nobody:root"}, {"--user", "nobody:0"}, {"--program-user", "nobody:root"}}) {
    std::vector<std::string> argv = {FcgiRunBinary(), "--listen",
                                     "tcp:127.0.0.1:" + std::to_string(FreeTcpPort())};
    argv.insert(argv.end(), flags.begin(), flags.end());
    argv.push_back(TestProgram("environ.cgi"));
    CommandResult r = RunCommand(argv, "", Seconds(10));
    INFO(flags[0] << " " << flags[1] << "\n" << r.err);
    CHECK_FALSE(r.Succeeded());
    CHECK(r.err.find(flags[0] + " " + flags[1] + ": group 0 (root)") != std::string::npos);
    CHECK(r.err.find("--allow-root") != std::string::npos);
  }
  // Said explicitly, it is allowed.
  SetuidProgram copy;  // any program nobody may run
  chmod(copy.path.c_str(), 0755);
  FcgiRunOptions o;
  o.program = copy.path;
  o.socket_mode = "0666";
  o.flags = {"--user", "nobody:root", "--allow-root"};
  FcgiRun app(o);
  CHECK(IdsLine(app, copy.path) == "uid=65534 euid=65534 gid=0 egid=0");
}

// ---- 5. no record over 65,535 bytes -----------------------------------------------

TEST_CASE("hardening: GET_VALUES with 4,000 names gets one well-formed answer",
          "[e2e][hardening][mgmt][once]") {
  FcgiRun app(EnvironApp());
  FcgiTestClient client;
  REQUIRE(client.Connect(app.address()).ok());
  // 4,000 known names: 62,000 bytes asked, 78,000 bytes if each got its answer.
  std::vector<std::string> names;
  for (int i = 0; i < 4000; ++i) names.push_back(i % 2 == 0 ? kMaxConns : kMaxReqs);
  REQUIRE(client.Send(GetValuesBytes(names)).ok());
  ManagementRecord m = client.ReadManagementRecord();
  INFO(m.failure << "\nlauncher:\n" << app.Log());
  REQUIRE(m.ok());
  CHECK(m.type == static_cast<uint8_t>(RecordType::kGetValuesResult));
  CHECK(m.content.size() <= kMaxContentLength);
  CHECK(std::atoi(m.Value(kMaxConns).c_str()) > 0);
  CHECK(std::atoi(m.Value(kMaxReqs).c_str()) > 0);
  CHECK(m.values.size() == 2);
  // The record stream is still in step: a request on the same connection works.
  RequestSpec spec;
  spec.params = EnvironParams("count");
  FcgiResponse r = client.Request(spec);
  INFO(r.Describe());
  CHECK(r.ok());
  CHECK(client.protocol_errors().empty());
}

// ---- 6. stderr is held back like stdout ------------------------------------------

TEST_CASE("hardening: FCGI_STDERR to a client that does not read: fcgi-run stays in bounded memory",
          "[e2e][hardening][stderr][once]") {
  // 128 MiB of stderr, then a line of stdout.
  constexpr long kStderrBytes = 128l << 20;
  TempDir dir("fcgi-run-stderr-flood");
  const std::string script = dir.WriteFile(
      "flood.cgi", "#!/bin/sh\nprintf 'Content-Type: text/plain\\r\\n\\r\\n'\nhead -c " +
                       std::to_string(kStderrBytes) + " /dev/zero | tr '\\0' e >&2\necho done\n");
  chmod(script.c_str(), 0755);
  FcgiRunOptions o;
  o.program = script;
  FcgiRun app(o);
  const pid_t launcher = app.process().pid();
  FcgiTestClient client(Millis(120000));
  REQUIRE(client.Connect(app.address()).ok());
  RequestSpec spec;
  spec.params = RequestParams(script, "/flood.cgi", "");
  // The request goes out; nothing is read for 5 s (or until fcgi-run's
  // memory has grown past the bound, as it did when stderr was not held back).
  const long start_kib = RssKib(launcher);
  REQUIRE(client.Send(RequestBytes(spec)).ok());
  long peak_kib = start_kib;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (std::chrono::steady_clock::now() < deadline && peak_kib - start_kib < 64 * 1024) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    peak_kib = std::max(peak_kib, RssKib(launcher));
  }
  INFO("fcgi-run VmRSS " << start_kib << " KiB at the start, peak " << peak_kib << " KiB\n" << app.Log());
  CHECK(peak_kib - start_kib < 64 * 1024);
  // Then everything arrives, in order.
  FcgiResponse r = client.ReadUntilEnd(1);
  INFO(r.Describe());
  REQUIRE(r.ok());
  CHECK(static_cast<long>(r.stderr_data.size()) == kStderrBytes);
  CHECK(SplitCgiResponse(r.stdout_data).body == "done\n");
}

// A web server that writes the whole request before it reads anything (as
// mod_fcgid does) while the program fills stderr before it reads its body:
// stderr waits for the web server, so the body must not (it is spooled).
TEST_CASE("hardening: stderr held back does not deadlock a web server that sends the whole body first",
          "[e2e][hardening][stderr][once]") {
  constexpr size_t kBody = 8u << 20;
  TempDir dir("fcgi-run-stderr-first");
  const std::string script =
      dir.WriteFile("stderr-first.cgi",
                    "#!/bin/sh\nhead -c 1048576 /dev/zero | tr '\\0' e >&2\nn=$(wc -c)\n"
                    "printf 'Content-Type: text/plain\\r\\n\\r\\nread %s\\n' \"$n\"\n");
  chmod(script.c_str(), 0755);
  FcgiRunOptions o;
  o.program = script;
  FcgiRun app(o);
  UniqueFd fd = ConnectTo(app.address());
  REQUIRE(fd.valid());
  timeval tv{30, 0};
  setsockopt(fd.get(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  RequestSpec spec;
  spec.params = RequestParams(script, "/stderr-first.cgi", "", static_cast<long>(kBody));
  spec.stdin_body = std::string(kBody, 'b');
  INFO(app.Log());
  REQUIRE(SendAll(fd.get(), RequestBytes(spec)));  // the whole request, nothing read meanwhile
  std::string received;
  char buf[65536];
  for (ssize_t n; (n = read(fd.get(), buf, sizeof buf)) > 0;) received.append(buf, static_cast<size_t>(n));
  RecordParser parser;
  std::string out, err;
  bool ended = false;
  for (std::string_view rest = received; !rest.empty();) {
    size_t used = 0;
    Record record;
    RecordParser::Result result = parser.Parse(rest, &used, &record);
    rest.remove_prefix(used);
    if (result != RecordParser::Result::kRecord) break;
    if (record.header.type == static_cast<uint8_t>(RecordType::kStdout)) out.append(record.content);
    if (record.header.type == static_cast<uint8_t>(RecordType::kStderr)) err.append(record.content);
    if (record.header.type == static_cast<uint8_t>(RecordType::kEndRequest)) ended = true;
  }
  CHECK(ended);
  CHECK(err.size() == 1u << 20);
  CHECK(SplitCgiResponse(out).body == "read " + std::to_string(kBody) + "\n");
}

// ---- 7. the environment's size is the same limit in every mode ---------------

TEST_CASE("hardening: a large environment is served in every mode", "[e2e][hardening][env]") {
  FcgiRun app(EnvironApp());
  SECTION("100 cookie-sized params (200 KB)") {
    NameValuePairs params = EnvironParams("count");
    for (int i = 0; i < 100; ++i)
      params.emplace_back("HTTP_X_COOKIE_" + std::to_string(i), std::string(2000, 'c'));
    FcgiResponse r = RequestOnce(app.address(), params, "", Millis(20000));
    INFO(r.Describe() << "\nlauncher:\n" << app.Log());
    REQUIRE(r.ok());
    CgiResponse cgi = SplitCgiResponse(r.stdout_data);
    CHECK(cgi.status == 200);
    std::map<std::string, std::string> env = ParseEnvDump(cgi.body);
    CHECK(std::stoul(env["entries"]) >= 100);
    CHECK(std::stoul(env["entries"].substr(env["entries"].find("bytes=") + 6)) > 200000);
  }
  SECTION("5,000 small params") {
    NameValuePairs params = EnvironParams("count");
    for (int i = 0; i < 5000; ++i) params.emplace_back("HTTP_X_" + std::to_string(i), "v");
    FcgiResponse r = RequestOnce(app.address(), params, "", Millis(20000));
    INFO(r.Describe() << "\nlauncher:\n" << app.Log());
    REQUIRE(r.ok());
    CgiResponse cgi = SplitCgiResponse(r.stdout_data);
    CHECK(cgi.status == 200);
    CHECK(std::stoul(ParseEnvDump(cgi.body)["entries"]) >= 5000);
  }
}

// ---- 8. memory returns after a burst -------------------------------------------------
// (Both memory cases have "bounded memory" in their names: `make sanitize-test`
// leaves them out, since ASan's allocator neither trims nor keeps RSS small.)

TEST_CASE("hardening: bounded memory: the heap shrinks back after a burst of multiplexed requests",
          "[e2e][hardening][memory][once]") {
  constexpr int kConnections = 56;
  constexpr int kRequestsEach = 1000;
  FcgiRunOptions o;
  o.program = Example("hello.cgi");
  FcgiRun app(o);
  const pid_t launcher = app.process().pid();
  REQUIRE(RequestOnce(app.address(), RequestParams(Example("hello.cgi"), "/hello.cgi", "")).ok());
  const long start_kib = ProcStatusKib(launcher, "RssAnon");
  // Every connection sends all its requests before any response is read:
  // most are refused (past --queue: OVERLOADED), all are parsed and answered.
  std::vector<std::unique_ptr<FcgiTestClient>> clients;
  std::vector<uint16_t> ids;
  std::string burst;
  for (int i = 1; i <= kRequestsEach; ++i) {
    RequestSpec spec;
    spec.id = static_cast<uint16_t>(i);
    spec.keep_conn = true;
    spec.params = RequestParams(Example("hello.cgi"), "/hello.cgi", "n=" + std::to_string(i));
    burst += RequestBytes(spec);
    ids.push_back(static_cast<uint16_t>(i));
  }
  for (int c = 0; c < kConnections; ++c) {
    clients.push_back(std::make_unique<FcgiTestClient>(Millis(120000)));
    REQUIRE(clients.back()->Connect(app.address()).ok());
    REQUIRE(clients.back()->Send(burst).ok());
  }
  long peak_kib = 0;
  for (auto& client : clients) {
    std::vector<FcgiResponse> rs = client->ReadUntilAllEnded(ids);
    for (const FcgiResponse& r : rs) REQUIRE(r.ended);
    peak_kib = std::max(peak_kib, ProcStatusKib(launcher, "RssAnon"));
  }
  clients.clear();
  // Idle again: the heap goes back near where it started (polled: the
  // launcher notices the closed connections and returns memory as it idles).
  long now_kib = ProcStatusKib(launcher, "RssAnon");
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (now_kib - start_kib >= 8 * 1024 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    now_kib = ProcStatusKib(launcher, "RssAnon");
  }
  INFO("RssAnon " << start_kib << " KiB before, " << peak_kib << " KiB during, " << now_kib << " KiB after");
  CHECK(now_kib - start_kib < 8 * 1024);
}

}  // namespace
}  // namespace fcgi::test
