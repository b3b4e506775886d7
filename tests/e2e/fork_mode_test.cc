// End-to-end: what is specific to fork mode (--mode fork: the program parked
// at main() by libcompat and forked per request), part 1: what each request
// sees (its own environment and stdin, fresh globals, a clean environment for
// its children), which programs are parked and which are served in exec mode
// (static, set-uid, a thread at main(); scripts park their interpreter), and
// real interpreters behind nginx. Part 2, the parked process's life (death,
// SIGHUP, a new program file), is fork_lifecycle_test.cc.
//
// Every test forces --mode fork itself (the e2e binary also runs under
// FCGI_RUN_TEST_MODE=exec) and is tagged [fork]. The programs are in
// tests/e2e/fork_programs/; probe.cgi prints its counter, pids, query, body
// and environment (see probe.c).
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "tests/e2e/fork_mode_util.h"
#include "tests/e2e/process_control_util.h"
#include "tests/support/content_util.h"
#include "tests/support/fcgi_run_server.h"
#include "tests/support/fcgi_test_client.h"
#include "tests/support/http_client.h"
#include "tests/support/stacks.h"
#include "tests/support/test_paths.h"

namespace fcgi::test {
namespace {

using namespace std::chrono_literals;
using namespace forkmode;
using pc::Clock;
using pc::WaitFor;

TEST_CASE("fork: concurrent requests each see their own environment and stdin", "[e2e][fork][mpx]") {
  const std::string how = GENERATE(as<std::string>(), "multiplexed", "separate connections");
  constexpr int kRequests = 8;
  constexpr int kSleepMs = 500;
  FcgiRun app(ForkApp(ForkProgram("probe.cgi"), {"--workers", std::to_string(kRequests)}));
  const std::string program = app.program();
  const pid_t parked = WaitForParked(app);
  REQUIRE(parked > 0);

  std::vector<RequestSpec> specs;
  for (int k = 1; k <= kRequests; ++k) {
    RequestSpec spec;
    spec.id = static_cast<uint16_t>(k);
    spec.keep_conn = how == "multiplexed";
    spec.stdin_body = "body-" + std::to_string(k) + "-" + std::string(static_cast<size_t>(k) * 1000, 'a' + k);
    spec.params =
        ProbeParams(program, "id=" + std::to_string(k) + "&sleep=" + std::to_string(kSleepMs) + "&env",
                    static_cast<long>(spec.stdin_body.size()));
    spec.params.emplace_back("HTTP_X_PROBE", "request-" + std::to_string(k));
    spec.stdin_split = {700};  // bodies arrive in several records, interleaved below
    specs.push_back(spec);
  }
  auto start = Clock::now();
  std::vector<FcgiResponse> responses;
  if (how == "multiplexed") {
    FcgiTestClient client;
    REQUIRE(client.Connect(app.address()).ok());
    std::string bytes;
    for (const auto& s : specs) bytes += BeginRequestBytes(s.id, Role::kResponder, true);
    for (const auto& s : specs) bytes += ParamsBytes(s.id, s.params) + EmptyParamsBytes(s.id);
    for (const auto& s : specs) bytes += StdinBytes(s.id, std::string_view(s.stdin_body).substr(0, 700));
    for (auto it = specs.rbegin(); it != specs.rend(); ++it) {
      bytes += StdinBytes(it->id, std::string_view(it->stdin_body).substr(700)) + EmptyStdinBytes(it->id);
    }
    REQUIRE(client.Send(bytes).ok());
    std::vector<uint16_t> ids;
    for (const auto& s : specs) ids.push_back(s.id);
    responses = client.ReadUntilAllEnded(ids, Millis(15000));
  } else {
    std::vector<std::unique_ptr<FcgiTestClient>> clients;
    for (const auto& s : specs) {
      auto client = std::make_unique<FcgiTestClient>();
      REQUIRE(client->Connect(app.address()).ok());
      REQUIRE(client->Send(RequestBytes(s)).ok());
      clients.push_back(std::move(client));
    }
    for (size_t i = 0; i < specs.size(); ++i)
      responses.push_back(clients[i]->ReadUntilEnd(specs[i].id, Millis(15000)));
  }
  double seconds = pc::SecondsSince(start);
  std::set<pid_t> pids;
  for (int k = 1; k <= kRequests; ++k) {
    const FcgiResponse& r = responses[static_cast<size_t>(k - 1)];
    INFO(how << ", request " << k << ": " << r.Describe() << "\nlauncher:\n" << app.Log());
    REQUIRE(r.ok());
    ProbePage page = ParseProbe(SplitCgiResponse(r.stdout_data).body);
    const RequestSpec& spec = specs[static_cast<size_t>(k - 1)];
    CHECK(page.Get("counter") == "1");
    CHECK(page.Get("method") == "POST");
    CHECK(page.Get("query") == "id=" + std::to_string(k) + "&sleep=" + std::to_string(kSleepMs) + "&env");
    CHECK(page.Get("body_length") == std::to_string(spec.stdin_body.size()));
    CHECK(page.Get("body") == spec.stdin_body);
    REQUIRE(page.has_env);
    CHECK(page.env["HTTP_X_PROBE"] == "request-" + std::to_string(k));
    CHECK(page.env["CONTENT_LENGTH"] == std::to_string(spec.stdin_body.size()));
    CHECK(page.Pid("ppid") == parked);
    pids.insert(page.Pid("pid"));
  }
  CHECK(pids.size() == static_cast<size_t>(kRequests));  // one process per request
  // They ran at once: one after the other would take 8 x 0.5 s.
  CHECK(seconds < 0.5 * kRequests * kSleepMs / 1000.0 + 0.5);
}

TEST_CASE("fork: fresh state per request (a global counter is 1 every time), one parked process",
          "[e2e][fork]") {
  FcgiRun app(ForkApp(ForkProgram("probe.cgi")));
  const pid_t parked = WaitForParked(app);
  REQUIRE(parked > 0);
  // The parked process is the launcher's child, and outlives every request.
  CHECK(pc::ParentOf(parked) == app.process().pid());
  std::set<pid_t> request_pids;
  for (int i = 0; i < 6; ++i) {
    ProbePage page = Probe(app, "n=" + std::to_string(i));
    INFO("request " << i << "\nlauncher:\n" << app.Log());
    CHECK(page.Get("counter") == "1");
    CHECK(page.Get("constructed") == "1");  // the constructor ran once, before the park
    CHECK(page.Pid("ppid") == parked);
    CHECK(page.Pid("pid") != parked);
    request_pids.insert(page.Pid("pid"));
  }
  CHECK(request_pids.size() == 6);
  CHECK(pc::ProcessState(parked) != 0);
  CHECK_FALSE(pc::NotRunning(parked));
  CHECK(ParkedPids(app.Log()).size() == 1);  // never re-parked
}

TEST_CASE("fork: static and set-uid binaries are served in exec mode, saying why; a script is parked",
          "[e2e][fork][preflight]") {
  SECTION("static binary") {
    FcgiRun app(ForkApp(ForkProgram("probe_static.cgi")));
    ProbePage page = Probe(app, "static");
    std::string log = app.Log();
    INFO("launcher:\n" << log);
    CHECK(page.Get("counter") == "1");
    CHECK(page.Get("query") == "static");
    CHECK(page.Pid("ppid") == app.process().pid());  // started by the launcher itself
    CHECK(log.find("probe_static.cgi: static binary (no PT_INTERP)") != std::string::npos);
    CHECK(Count(log, "in exec mode") == 1);
    CHECK(ParkedPids(log).empty());
  }
  SECTION("set-uid binary") {
    TempDir dir("fcgi-run-setuid");
    const std::string copy = dir.File("probe-setuid.cgi");
    std::filesystem::copy_file(ForkProgram("probe.cgi"), copy);
    REQUIRE(chmod(copy.c_str(), 04755) == 0);
    FcgiRun app(ForkApp(copy));
    ProbePage page = Probe(app, "setuid");
    std::string log = app.Log();
    INFO("launcher:\n" << log);
    CHECK(page.Get("counter") == "1");
    CHECK(page.Get("query") == "setuid");
    CHECK(page.Pid("ppid") == app.process().pid());
    CHECK(page.Get("ld_preload") == "(unset)");
    CHECK(log.find("probe-setuid.cgi: set-uid") != std::string::npos);
    CHECK(Count(log, "in exec mode") == 1);
    CHECK(ParkedPids(log).empty());
  }
  SECTION("shell script: /bin/sh is parked") {
    FcgiRun app(ForkApp(ForkProgram("probe.sh")));
    const pid_t parked = WaitForParked(app);
    REQUIRE(parked > 0);
    for (int i = 0; i < 3; ++i) {
      FcgiResponse r = RequestOnce(app.address(), ProbeParams(app.program(), "script-" + std::to_string(i)));
      CgiResponse cgi = SplitCgiResponse(r.stdout_data);
      INFO(r.Describe() << "\nlauncher:\n" << app.Log());
      REQUIRE(r.ok());
      CHECK(cgi.status == 200);
      CHECK(cgi.body.find("ppid=" + std::to_string(parked) + "\n") != std::string::npos);
      CHECK(cgi.body.find("\nquery=script-" + std::to_string(i) + "\nld_preload=(unset)\n") !=
            std::string::npos);
    }
    std::string log = app.Log();
    CHECK(log.find("probe.sh parked at main() as pid " + std::to_string(parked)) != std::string::npos);
    CHECK(log.find("in exec mode") == std::string::npos);
  }
}

TEST_CASE("fork: the program's children get neither LD_PRELOAD nor FCGI_RUN_* variables",
          "[e2e][fork][env]") {
  FcgiRun app(ForkApp(ForkProgram("probe.cgi")));
  REQUIRE(WaitForParked(app) > 0);
  ProbePage page = Probe(app, "env");
  INFO("launcher:\n" << app.Log());
  CHECK(page.Get("ld_preload") == "(unset)");
  REQUIRE(page.has_env);
  CHECK(page.env["QUERY_STRING"] == "env");  // the dump is really the child's environment
  CHECK(page.env.count("PATH") == 1);
  for (const auto& [name, value] : page.env) {
    INFO(name << "=" << value);
    CHECK(name != "LD_PRELOAD");
    CHECK(name != "LD_BIND_NOW");
    CHECK(name.rfind("FCGI_RUN_", 0) == std::string::npos);
  }
}

TEST_CASE("fork: a program that cannot park (a thread started by a constructor) falls back to exec",
          "[e2e][fork][preflight]") {
  FcgiRun app(ForkApp(ForkProgram("thread_ctor.cgi"), {"--park-retries", "2"}));
  // Requests sent right away wait through the retries and are then served.
  for (int i = 0; i < 4; ++i) {
    FcgiResponse r = RequestOnce(app.address(), ProbeParams(app.program(), ""));
    INFO("request " << i << ": " << r.Describe() << "\nlauncher:\n" << app.Log());
    REQUIRE(r.ok());
    CgiResponse cgi = SplitCgiResponse(r.stdout_data);
    CHECK(cgi.status == 200);
    CHECK(cgi.body == "threads=2\n");  // exec mode: the constructor's thread is there
  }
  std::string log = app.Log();
  INFO("launcher:\n" << log);
  CHECK(log.find("the program runs 2 threads at main(): forking would lose them") != std::string::npos);
  CHECK(log.find("(2 failures in a row); serving " + app.program() + " in exec mode") != std::string::npos);
  CHECK(Count(log, "in exec mode") == 1);
  CHECK(ParkedPids(log).empty());
}

// Real interpreters behind nginx, parked: Perl with CGI.pm, Python.
TEST_CASE("fork: Perl CGI.pm form POST and multipart upload, Python CGI, through nginx",
          "[e2e][fork][nginx][scripts]") {
  NginxStackOptions options;
  options.app.pass_mode = false;
  options.app.flags = {"--mode", "fork"};
  SECTION("form.cgi POST") {
    NginxStack stack("form.cgi", options);
    for (std::string color : {"blue+green", "red"}) {
      HttpResponse r = Curl({.url = stack.Url("/form"),
                             .headers = {"Content-Type: application/x-www-form-urlencoded"},
                             .body = "name=Ada&color=" + color});
      INFO(r.error << r.body << stack.Diagnostics());
      REQUIRE(r.ok);
      CHECK(r.status == 200);
      std::string shown = color == "red" ? "red" : "blue green";
      CHECK(r.body.find("<ul>\n<li>color=" + shown + "</li>\n<li>name=Ada</li>\n</ul>") != std::string::npos);
    }
    INFO(stack.Diagnostics());
    CHECK(ParkedPids(stack.app().Log()).size() == 1);
    CHECK(stack.app().Log().find("in exec mode") == std::string::npos);
  }
  SECTION("upload.cgi multipart") {
    NginxStack stack("upload.cgi", options);
    TempDir data("fcgi-run-upload");
    for (size_t size : {200000u, 70001u}) {
      std::string file = data.WriteFile("photo-" + std::to_string(size) + ".bin", RandomBytes(size, 5));
      HttpResponse r = Curl({.url = stack.Url("/upload"), .extra_args = {"-F", "file=@" + file}});
      INFO(r.error << r.body << stack.Diagnostics());
      REQUIRE(r.ok);
      CHECK(r.status == 200);
      CHECK(r.body == "filename=photo-" + std::to_string(size) + ".bin\nsize=" + std::to_string(size) + "\n");
    }
    INFO(stack.Diagnostics());
    CHECK(ParkedPids(stack.app().Log()).size() == 1);
    CHECK(stack.app().Log().find("in exec mode") == std::string::npos);
  }
  SECTION("hello.py") {
    NginxStack stack("hello.py", options);
    for (std::string q : {"x=1", "y=2"}) {
      HttpResponse r = stack.Get("/py?" + q);
      INFO(r.error << r.body << stack.Diagnostics());
      REQUIRE(r.ok);
      CHECK(r.status == 200);
      CHECK(r.body.find("Hello from Python\nGATEWAY_INTERFACE=CGI/1.1\nREQUEST_METHOD=GET\nQUERY_STRING=" +
                        q + "\n") == 0);
    }
    INFO(stack.Diagnostics());
    CHECK(ParkedPids(stack.app().Log()).size() == 1);
    CHECK(stack.app().Log().find("in exec mode") == std::string::npos);
  }
}

}  // namespace
}  // namespace fcgi::test
