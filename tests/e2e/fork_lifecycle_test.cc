// End-to-end, fork mode part 2: the parked process's life. It dies (SIGKILL)
// under traffic and is restarted; it dies just before a request reaches it;
// SIGHUP replaces it, also during a restart's backoff; a new program file
// renamed over the old one replaces it. In every case a request loses at most
// what was already running in the dead process, and nothing hangs.
// Part 1 (what a request sees, pre-flight) is fork_mode_test.cc; helpers in
// fork_mode_util.h. Every test forces --mode fork and is tagged [fork].
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

TEST_CASE("fork: killing the parked process loses at most the requests it was serving",
          "[e2e][fork][restart]") {
  constexpr int kClients = 4;
  FcgiRun app(ForkApp(ForkProgram("probe.cgi"), {"--workers", std::to_string(kClients)}));
  const pid_t first = WaitForParked(app);
  REQUIRE(first > 0);
  struct Outcome {
    bool ok = false;           // 200 with a good page
    bool bad_gateway = false;  // ended with a 502
    bool after_kill = false;   // started after the launcher saw the parked process die
    std::string what;
  };
  std::atomic<bool> killed{false};
  std::atomic<bool> stop{false};
  std::vector<std::vector<Outcome>> outcomes(kClients);
  std::vector<std::thread> threads;
  for (int c = 0; c < kClients; ++c) {
    threads.emplace_back([&, c] {
      auto end = Clock::now() + 6s;  // bound, whatever happens
      for (int i = 0; i < 400 && !stop && Clock::now() < end; ++i) {
        Outcome o;
        o.after_kill = killed;
        std::string query = "c=" + std::to_string(c) + "&i=" + std::to_string(i) + "&sleep=20";
        FcgiResponse r = RequestOnce(app.address(), ProbeParams(app.program(), query), "", Millis(8000));
        CgiResponse cgi = SplitCgiResponse(r.stdout_data);
        ProbePage page = ParseProbe(cgi.body);
        o.ok = r.ok() && cgi.status == 200 && page.Get("query") == query && page.Get("counter") == "1";
        o.bad_gateway = r.ended && cgi.status == 502;
        if (!o.ok) o.what = r.Describe();
        outcomes[static_cast<size_t>(c)].push_back(o);
      }
    });
  }
  std::this_thread::sleep_for(700ms);
  REQUIRE(kill(first, SIGKILL) == 0);
  // Requests handed to the parked process between kill(2) and the launcher
  // seeing it die (its control socket still open) are in flight and may fail;
  // those that start once the launcher knows must wait for the restart.
  CHECK(app.LogContains("restarting the parked program"));
  killed = true;
  // Traffic goes on through the restart (backoff, then a new HELLO).
  pid_t second = WaitForParked(app, 2);
  std::this_thread::sleep_for(700ms);
  stop = true;
  for (auto& t : threads) t.join();

  std::string log = app.Log();
  INFO("launcher:\n" << log);
  REQUIRE(second > 0);
  CHECK(second != first);
  int failed = 0, failed_after_kill = 0, ok_after_restart = 0;
  for (const auto& list : outcomes) {
    REQUIRE_FALSE(list.empty());
    for (const Outcome& o : list) {
      if (o.ok) {
        if (o.after_kill) ++ok_after_restart;
        continue;
      }
      ++failed;
      if (o.after_kill) ++failed_after_kill;
      INFO(o.what);
      CHECK(o.bad_gateway);  // a clean 502, never a hang or a broken connection
    }
    CHECK(list.back().ok);  // every client's last request succeeded
  }
  CHECK(failed <= kClients);      // at most the requests in flight at the kill
  CHECK(failed_after_kill == 0);  // requests that arrive during the restart wait for it
  CHECK(ok_after_restart >= kClients);
  CHECK(log.find("restarting the parked program") != std::string::npos);
  CHECK(log.find("in exec mode") == std::string::npos);
  // Served by the new parked process now.
  CHECK(Probe(app, "after").Pid("ppid") == second);
}

// The launcher learns of the parked process's death asynchronously (pidfd,
// EOF on the control channel). A request it starts before then finds the
// channel closed: nothing was started for it, so it must wait for the restart
// rather than get a 502. Made deterministic by stopping the launcher (SIGSTOP)
// while the request completes and the parked process dies, in that order, so
// that the request is the first event it sees on SIGCONT.
TEST_CASE("fork: a request started before the launcher noticed the parked process died waits for the restart",
          "[e2e][fork][restart]") {
  FcgiRun app(ForkApp(ForkProgram("probe.cgi")));
  const pid_t first = WaitForParked(app);
  REQUIRE(first > 0);
  const pid_t launcher = app.process().pid();
  FcgiTestClient client;
  REQUIRE(client.Connect(app.address()).ok());
  REQUIRE(client.Send(BeginRequestBytes(1) + ParamsBytes(1, ProbeParams(app.program(), "raced"))).ok());
  std::this_thread::sleep_for(200ms);  // the launcher has the connection and the partial params
  app.process().Signal(SIGSTOP);
  REQUIRE(WaitFor([&] { return pc::ProcessState(launcher) == 'T'; }, 2000ms));
  REQUIRE(client.Send(EmptyParamsBytes(1) + EmptyStdinBytes(1)).ok());
  REQUIRE(kill(first, SIGKILL) == 0);
  const bool zombie = WaitFor([&] { return pc::ProcessState(first) == 'Z'; }, 2000ms);
  app.process().Signal(SIGCONT);
  REQUIRE(zombie);  // dead, its end of the control channel closed, not reaped yet
  FcgiResponse r = client.ReadUntilEnd(1, Millis(10000));
  INFO(r.Describe() << "\nlauncher:\n" << app.Log());
  REQUIRE(r.ok());
  CgiResponse cgi = SplitCgiResponse(r.stdout_data);
  CHECK(cgi.status == 200);
  ProbePage page = ParseProbe(cgi.body);
  CHECK(page.Get("query") == "raced");
  auto parked = ParkedPids(app.Log());
  REQUIRE(parked.size() == 2);
  CHECK(page.Pid("ppid") == parked[1]);
}

TEST_CASE("fork: SIGHUP replaces the parked process without dropping a request in flight",
          "[e2e][fork][recycle]") {
  FcgiRun app(ForkApp(ForkProgram("probe.cgi")));
  const pid_t first = WaitForParked(app);
  REQUIRE(first > 0);
  FcgiTestClient slow;
  REQUIRE(slow.Connect(app.address()).ok());
  REQUIRE(slow.Send(RequestBytes([&] {
                RequestSpec s;
                s.params = ProbeParams(app.program(), "slow&sleep=1500");
                return s;
              }()))
              .ok());
  // The slow request is running (a child of the parked process) ...
  REQUIRE(WaitFor([&] { return !pc::ChildrenOf(first).empty(); }, 3000ms));
  // ... when the launcher gets SIGHUP.
  app.process().Signal(SIGHUP);
  const pid_t second = WaitForParked(app, 2);
  INFO("launcher:\n" << app.Log());
  REQUIRE(second > 0);
  CHECK(second != first);
  ProbePage next = Probe(app, "next");
  CHECK(next.Pid("ppid") == second);
  FcgiResponse r = slow.ReadUntilEnd(1, Millis(10000));
  INFO(r.Describe());
  REQUIRE(r.ok());
  ProbePage page = ParseProbe(SplitCgiResponse(r.stdout_data).body);
  CHECK(page.Get("query") == "slow&sleep=1500");
  CHECK(page.Pid("ppid") == first);
  // The old parked process drained and left.
  CHECK(WaitFor([&] { return pc::NotRunning(first); }, 3000ms));
  CHECK(app.LogContains("replacing the parked " + app.program() + ": SIGHUP"));
}

// SIGHUP while a restart is pending (the parked process died, the backoff
// timer runs): the process SIGHUP starts is the one that stays; the pending
// restart must not start yet another and throw away the first with the
// requests it serves.
TEST_CASE("fork: SIGHUP during the restart backoff keeps the new parked process and its requests",
          "[e2e][fork][recycle][restart]") {
  FcgiRun app(ForkApp(ForkProgram("probe.cgi")));
  const pid_t first = WaitForParked(app);
  REQUIRE(first > 0);
  REQUIRE(kill(first, SIGKILL) == 0);
  REQUIRE(WaitFor([&] { return app.LogContains("restarting the parked program in"); }, 3000ms));
  app.process().Signal(SIGHUP);  // within the 200 ms backoff
  const pid_t second = WaitForParked(app, 2);
  REQUIRE(second > 0);
  FcgiTestClient slow;
  REQUIRE(slow.Connect(app.address()).ok());
  RequestSpec spec;
  spec.params = ProbeParams(app.program(), "slow&sleep=1000");
  REQUIRE(slow.Send(RequestBytes(spec)).ok());
  FcgiResponse r = slow.ReadUntilEnd(1, Millis(5000));
  std::string log = app.Log();
  INFO(r.Describe() << "\nlauncher:\n" << log);
  REQUIRE(r.ok());
  CHECK(SplitCgiResponse(r.stdout_data).status == 200);
  CHECK(ParseProbe(SplitCgiResponse(r.stdout_data).body).Pid("ppid") == second);
  CHECK(ParkedPids(log).size() == 2);  // no third start from the stale backoff timer
  CHECK_FALSE(pc::NotRunning(second));
}

TEST_CASE("fork: a new program file renamed over the old one is served from the next request",
          "[e2e][fork][recycle]") {
  TempDir dir("fcgi-run-replace");
  const std::string program = dir.File("app.cgi");
  std::filesystem::copy_file(ForkProgram("version1.cgi"), program);
  FcgiRun app(ForkApp(program));
  const pid_t first = WaitForParked(app);
  REQUIRE(first > 0);
  auto get = [&] {
    FcgiResponse r = RequestOnce(app.address(), ProbeParams(program, ""));
    INFO(r.Describe() << "\nlauncher:\n" << app.Log());
    CHECK(r.ok());
    return SplitCgiResponse(r.stdout_data).body;
  };
  CHECK(get().find("version=1 ") == 0);
  CHECK(get().find("ppid=" + std::to_string(first) + "\n") != std::string::npos);
  // Deploy version 2 the atomic way: write a new file, rename it over.
  const std::string staged = dir.File("app.cgi.new");
  std::filesystem::copy_file(ForkProgram("version2.cgi"), staged);
  REQUIRE(std::rename(staged.c_str(), program.c_str()) == 0);
  std::string body = get();
  INFO("launcher:\n" << app.Log());
  CHECK(body.find("version=2 ") == 0);
  auto parked = ParkedPids(app.Log());
  REQUIRE(parked.size() == 2);
  CHECK(body.find("ppid=" + std::to_string(parked[1]) + "\n") != std::string::npos);
  CHECK(app.LogContains("program file changed on disk"));
  CHECK(WaitFor([&] { return pc::NotRunning(first); }, 3000ms));
  CHECK(get().find("version=2 ") == 0);
}

// The pre-flight holds for a replacement too: a static binary renamed over
// the program is never started to be parked (it would ignore the shim and run
// main() once, for nobody, then time out waiting for HELLO, --park-retries
// times, while requests wait): the next request is served in exec mode at once.
TEST_CASE("fork: a static binary renamed over the program is served in exec mode at once",
          "[e2e][fork][recycle][preflight]") {
  TempDir dir("fcgi-run-replace");
  const std::string program = dir.File("app.cgi");
  std::filesystem::copy_file(ForkProgram("version1.cgi"), program);
  FcgiRun app(ForkApp(program));
  const pid_t first = WaitForParked(app);
  REQUIRE(first > 0);
  FcgiResponse r1 = RequestOnce(app.address(), ProbeParams(program, ""));
  REQUIRE(r1.ok());
  CHECK(SplitCgiResponse(r1.stdout_data).body.find("version=1 ") == 0);
  const std::string staged = dir.File("app.cgi.new");
  std::filesystem::copy_file(ForkProgram("probe_static.cgi"), staged);
  REQUIRE(std::rename(staged.c_str(), program.c_str()) == 0);
  auto start = Clock::now();
  FcgiResponse r2 = RequestOnce(app.address(), ProbeParams(program, "static-now"), "", Millis(15000));
  double seconds = pc::SecondsSince(start);
  std::string log = app.Log();
  INFO(r2.Describe() << "\nlauncher:\n" << log);
  REQUIRE(r2.ok());
  ProbePage page = ParseProbe(SplitCgiResponse(r2.stdout_data).body);
  CHECK(page.Get("query") == "static-now");
  CHECK(page.Pid("ppid") == app.process().pid());  // exec mode: the launcher's own child
  CHECK(seconds < 1.5);
  CHECK(log.find("app.cgi: static binary (no PT_INTERP); serving " + program + " in exec mode") !=
        std::string::npos);
  CHECK(log.find("no HELLO") == std::string::npos);
  CHECK(log.find("ended: exit code") == std::string::npos);  // main() never ran for nobody
  CHECK(ParkedPids(log).size() == 1);
  CHECK(WaitFor([&] { return pc::NotRunning(first); }, 3000ms));
}

}  // namespace
}  // namespace fcgi::test
