// End-to-end, fork mode part 3: a request handed to the parked process (its
// RUN sent) when that process dies before it answered STARTED. Nothing of the
// program ran for the request, so the launcher gives it to the replacement
// parked process (once) instead of a 502, with its whole body; a request whose
// program did start still gets the 502 naming the signal; if parking gives up,
// the request runs in exec mode. Made deterministic by
// stopping the parked process (SIGSTOP) so that the RUN waits unread in its
// control socket, then killing it; plus a bounded stress loop of kills under
// traffic. The gap between the parked process's fork(2) of a request's child
// and its STARTED is reached with ptrace(2) (PTRACE_O_TRACEFORK stops the
// parked process right after the fork): a child must not begin main() before
// its STARTED is sent, or the launcher would run a POST twice. Part 1 is
// fork_mode_test.cc, part 2 fork_lifecycle_test.cc.
#include <signal.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <unistd.h>
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "tests/e2e/fork_mode_util.h"
#include "tests/e2e/process_control_util.h"
#include "tests/support/fcgi_run_server.h"
#include "tests/support/fcgi_test_client.h"
#include "tests/support/temp_dir.h"

namespace fcgi::test {
namespace {

using namespace std::chrono_literals;
using namespace forkmode;
using pc::Clock;
using pc::WaitFor;

const char kStatusPath[] = "/fcgi-status";

// The launcher's status page with its table of active requests.
std::string StatusPage(const FcgiRun& app) {
  NameValuePairs params = {{"SCRIPT_NAME", kStatusPath},
                           {"DOCUMENT_URI", kStatusPath},
                           {"REQUEST_URI", std::string(kStatusPath) + "?full"},
                           {"QUERY_STRING", "full"},
                           {"REQUEST_METHOD", "GET"}};
  return RequestOnce(app.address(), params).stdout_data;
}

// A body the probe echoes back (it reads at most 64 KiB), easy to check.
std::string PatternBody(size_t size) {
  std::string body(size, 'x');
  for (size_t i = 0; i < size; ++i) body[i] = static_cast<char>('a' + (i * 7 + i / 26) % 26);
  return body;
}

// Sends a POST of `body` (query "lost") to `app` (with kStatusPath) while its
// parked process is stopped, waits until the launcher has taken the request
// (its RUN sent, unread), kills the parked process; returns the response.
FcgiResponse LoseRunWithParked(const FcgiRun& app, const std::string& body) {
  const pid_t first = WaitForParked(app);
  REQUIRE(first > 0);
  // The parked process stops reading its control socket: the RUN the launcher
  // sends for the request below stays there, unread, with its three fds.
  REQUIRE(kill(first, SIGSTOP) == 0);
  REQUIRE(WaitFor([&] { return pc::ProcessState(first) == 'T'; }, 2000ms));
  FcgiTestClient client;
  REQUIRE(client.Connect(app.address()).ok());
  RequestSpec spec;
  spec.params = ProbeParams(app.program(), "lost", static_cast<long>(body.size()));
  spec.stdin_body = body;
  REQUIRE(client.Send(RequestBytes(spec)).ok());
  // The launcher takes the request (its program is chosen and started in the
  // same turn: the RUN is sent) and shows it active, without a pid yet.
  REQUIRE(WaitFor([&] { return StatusPage(app).find("POST /probe?lost") != std::string::npos; }, 5000ms));
  StatusPage(app);  // one more turn: the body goes into the stdin pipe meanwhile
  REQUIRE(kill(first, SIGKILL) == 0);
  return client.ReadUntilEnd(1, Millis(10000));
}

TEST_CASE(
    "fork: a request whose RUN the killed parked process never read is served by the replacement, whole body",
    "[e2e][fork][restart]") {
  FcgiRun app(ForkApp(ForkProgram("probe.cgi"), {"--status-path", kStatusPath}));
  const std::string body = PatternBody(20000);
  FcgiResponse r = LoseRunWithParked(app, body);
  const std::string log = app.Log();
  INFO(r.Describe() << "\nlauncher:\n" << log);
  REQUIRE(r.ok());
  CgiResponse cgi = SplitCgiResponse(r.stdout_data);
  CHECK(cgi.status == 200);
  ProbePage page = ParseProbe(cgi.body);
  CHECK(page.Get("query") == "lost");
  CHECK(page.Get("counter") == "1");
  CHECK(page.Get("body_length") == std::to_string(body.size()));
  CHECK(page.Get("body") == body);
  auto parked = ParkedPids(log);
  REQUIRE(parked.size() == 2);
  CHECK(page.Pid("ppid") == parked[1]);  // the replacement ran it
  CHECK(app.LogContains("before it started the program for POST /probe?lost"));
}

// With --park-retries 1 the death gives parking up: the lost request runs in
// exec mode instead, still with its whole body.
TEST_CASE("fork: a request lost with the parked process runs in exec mode when parking gives up",
          "[e2e][fork][restart]") {
  FcgiRun app(ForkApp(ForkProgram("probe.cgi"), {"--status-path", kStatusPath, "--park-retries", "1"}));
  const std::string body = PatternBody(3000);
  FcgiResponse r = LoseRunWithParked(app, body);
  const std::string log = app.Log();
  INFO(r.Describe() << "\nlauncher:\n" << log);
  REQUIRE(r.ok());
  CgiResponse cgi = SplitCgiResponse(r.stdout_data);
  CHECK(cgi.status == 200);
  ProbePage page = ParseProbe(cgi.body);
  CHECK(page.Get("query") == "lost");
  CHECK(page.Get("body") == body);
  CHECK(page.Pid("ppid") == app.process().pid());  // exec mode: the launcher's own child
  CHECK(page.Get("ld_preload") == "(unset)");
  CHECK(ParkedPids(log).size() == 1);
  CHECK(log.find("serving " + app.program() + " in exec mode") != std::string::npos);
  CHECK(log.find("before it started the program for POST /probe?lost") != std::string::npos);
}

// The lines of the probe's record file (one per run of main()).
size_t RecordedRuns(const std::string& path) { return Count(ReadFile(path), "ran pid="); }

// The parked process is killed after it forked the request's child and before
// it sent STARTED (it is held there by ptrace). The launcher runs the request
// again on the replacement, which is right only if the first child never began
// main(): the request's program must have run exactly once.
TEST_CASE("fork: a parked process killed between fork and STARTED: the request runs once",
          "[e2e][fork][restart]") {
  TempDir dir("fcgi-run-fork-gap");
  const std::string record = dir.File("runs");
  FcgiRun app(ForkApp(ForkProgram("probe.cgi"), {"--status-path", kStatusPath}));
  const pid_t parked = WaitForParked(app);
  REQUIRE(parked > 0);
  REQUIRE(ptrace(PTRACE_SEIZE, parked, nullptr, reinterpret_cast<void*>(PTRACE_O_TRACEFORK)) == 0);
  const std::string body = PatternBody(5000);
  FcgiTestClient client;
  REQUIRE(client.Connect(app.address()).ok());
  RequestSpec spec;
  spec.params = ProbeParams(app.program(), "record=" + record, static_cast<long>(body.size()));
  spec.stdin_body = body;
  REQUIRE(client.Send(RequestBytes(spec)).ok());
  // The parked process stops in its fork(2) for this request; the child
  // starts traced (stopped) and is let go at once.
  int status = 0;
  REQUIRE(waitpid(parked, &status, __WALL) == parked);
  REQUIRE(WIFSTOPPED(status));
  REQUIRE(status >> 8 == (SIGTRAP | (PTRACE_EVENT_FORK << 8)));
  unsigned long message = 0;
  REQUIRE(ptrace(PTRACE_GETEVENTMSG, parked, nullptr, &message) == 0);
  const pid_t child = static_cast<pid_t>(message);
  REQUIRE(waitpid(child, &status, __WALL) == child);
  REQUIRE(ptrace(PTRACE_DETACH, child, nullptr, nullptr) == 0);
  // The child either runs main() to its end (a zombie: its parent is held)
  // or waits for its go before main().
  const bool settled = WaitFor(
      [&] {
        const char state = pc::ProcessState(child);
        const std::string wchan = ReadFile("/proc/" + std::to_string(child) + "/wchan");
        return state == 'Z' || (state == 'S' && wchan.find("sigtimedwait") != std::string::npos);
      },
      10000ms);
  const size_t runs_in_gap = RecordedRuns(record);
  REQUIRE(kill(parked, SIGKILL) == 0);
  // Release the dead process to its real parent, the launcher.
  while (waitpid(parked, &status, __WALL) == parked && !WIFEXITED(status) && !WIFSIGNALED(status)) {
  }
  FcgiResponse r = client.ReadUntilEnd(1, Millis(10000));
  const std::string log = app.Log();
  INFO(r.Describe() << "\nlauncher:\n" << log << "\nrecord:\n" << ReadFile(record));
  CHECK(settled);
  CHECK(runs_in_gap == 0);  // main() did not begin before STARTED
  REQUIRE(r.ok());
  CgiResponse cgi = SplitCgiResponse(r.stdout_data);
  CHECK(cgi.status == 200);
  ProbePage page = ParseProbe(cgi.body);
  CHECK(page.Get("body") == body);
  CHECK(RecordedRuns(record) == 1);  // run once, by the replacement
  auto pids = ParkedPids(log);
  REQUIRE(pids.size() == 2);
  CHECK(page.Pid("ppid") == pids[1]);
  CHECK(app.LogContains("before it started the program for POST /probe?record="));
}

// Kills the parked process repeatedly under a bounded stream of short
// requests: a request either gets the program's 200 (perhaps run again by the
// replacement) or, if its program was already running, the 502 naming SIGKILL;
// never "could not start" (the 502 of a request lost with the dead process).
TEST_CASE(
    "fork: killing the parked process again and again under traffic never fails a request that had not "
    "started",
    "[e2e][fork][restart]") {
  constexpr int kClients = 4;
  constexpr int kKills = 4;
  FcgiRun app(ForkApp(ForkProgram("probe.cgi"), {"--workers", std::to_string(kClients)}));
  REQUIRE(WaitForParked(app) > 0);
  struct Outcome {
    bool ok = false;
    bool killed_502 = false;  // started, then killed with the parked process
    std::string what;
  };
  std::atomic<bool> stop{false};
  std::atomic<pid_t> served_by{0};  // the parked process of the last good page
  std::vector<std::vector<Outcome>> outcomes(kClients);
  std::vector<std::thread> threads;
  for (int c = 0; c < kClients; ++c) {
    threads.emplace_back([&, c] {
      const auto end = Clock::now() + 8s;  // bound, whatever happens
      for (int i = 0; i < 3000 && !stop && Clock::now() < end; ++i) {
        const std::string query = "c=" + std::to_string(c) + "&i=" + std::to_string(i);
        FcgiResponse r = RequestOnce(app.address(), ProbeParams(app.program(), query), "", Millis(8000));
        CgiResponse cgi = SplitCgiResponse(r.stdout_data);
        Outcome o;
        o.ok = r.ok() && cgi.status == 200 && ParseProbe(cgi.body).Get("query") == query;
        o.killed_502 = r.ok() && cgi.status == 502 &&
                       cgi.body.find("ended without a valid response") != std::string::npos &&
                       cgi.body.find("SIGKILL") != std::string::npos;
        if (o.ok) served_by = ParseProbe(cgi.body).Pid("ppid");
        if (!o.ok) o.what = r.Describe();
        outcomes[static_cast<size_t>(c)].push_back(std::move(o));
      }
    });
  }
  int kills = 0;
  for (size_t n = 1; n <= static_cast<size_t>(kKills); ++n) {
    const pid_t parked = WaitForParked(app, n);
    if (parked <= 0) break;
    // Let the new parked process serve (a served request clears the failure
    // count: no fallback to exec mode), then kill it under traffic.
    if (!WaitFor([&] { return served_by == parked; }, 3000ms)) break;
    std::this_thread::sleep_for(100ms);
    if (kill(parked, SIGKILL) != 0) break;
    ++kills;
  }
  const pid_t last = WaitForParked(app, static_cast<size_t>(kills) + 1);
  const bool last_served = WaitFor([&] { return last > 0 && served_by == last; }, 3000ms);
  stop = true;
  for (auto& t : threads) t.join();

  const std::string log = app.Log();
  INFO("launcher:\n" << log);
  CHECK(kills == kKills);
  CHECK(last > 0);
  CHECK(last_served);
  int ok = 0, killed = 0;
  for (const auto& list : outcomes) {
    REQUIRE_FALSE(list.empty());
    for (const Outcome& o : list) {
      if (o.ok) {
        ++ok;
        continue;
      }
      INFO(o.what);
      CHECK(o.killed_502);
      ++killed;
    }
    CHECK(list.back().ok);
  }
  CHECK(killed <= kKills * kClients);  // at most the programs running at each kill
  CHECK(ok > kKills);
  CHECK(log.find("in exec mode") == std::string::npos);
}

}  // namespace
}  // namespace fcgi::test
