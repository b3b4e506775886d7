// End-to-end: persistent mode (--mode persistent), one behaviour per test,
// with the programs of tests/e2e/persistent_programs/. Every response of
// probe.cgi starts with "pid=<worker pid>", which tells whether a request ran
// in the same worker as the previous one (repaired) or in a new one
// (recycled). These tests pass --mode persistent themselves, so they run only
// in the "e2e-persistent: " variant of the suite.
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>
#include <catch2/catch.hpp>

#include <chrono>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/fcgi_run_server.h"
#include "tests/support/fcgi_test_client.h"
#include "tests/support/process.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_paths.h"

namespace fcgi::test {
namespace {

using namespace std::chrono_literals;

std::string PersistentProgram(const std::string& name) {
  return std::string(FCGI_RUN_BUILD_DIR) + "/tests/e2e/persistent_programs/" + name;
}

bool InPersistentVariant() { return TestMode() == "persistent"; }

// fcgi-run --mode persistent --workers 1 serving `program` (probe.cgi gets
// the fixed arguments "-v -n 5 rest").
FcgiRunOptions Persistent(const std::string& program, std::vector<std::string> flags = {}) {
  FcgiRunOptions o;
  o.program = PersistentProgram(program);
  if (program == "probe.cgi") o.program_args = {"-v", "-n", "5", "rest"};
  o.pass_mode = false;
  o.workers = 1;
  o.flags = {"--mode", "persistent", "--timeout", "10"};
  o.flags.insert(o.flags.end(), flags.begin(), flags.end());
  return o;
}

struct Result {
  FcgiResponse raw;
  CgiResponse cgi;
  pid_t pid = 0;  // from "pid=N" at the start of the body
};

Result Get(const FcgiRun& app, const std::string& query, const std::string& body = "") {
  NameValuePairs params = {{"SCRIPT_FILENAME", app.program()},
                           {"QUERY_STRING", query},
                           {"REQUEST_METHOD", body.empty() ? "GET" : "POST"},
                           {"GATEWAY_INTERFACE", "CGI/1.1"}};
  if (!body.empty()) params.emplace_back("CONTENT_LENGTH", std::to_string(body.size()));
  Result r;
  r.raw = RequestOnce(app.address(), params, body);
  r.cgi = SplitCgiResponse(r.raw.stdout_data);
  if (r.cgi.body.rfind("pid=", 0) == 0) r.pid = std::atoi(r.cgi.body.c_str() + 4);
  return r;
}

#define PERSISTENT_ONLY()                                                            \
  if (!InPersistentVariant()) {                                                      \
    WARN("runs in the e2e-persistent variant only (FCGI_RUN_TEST_MODE=persistent)"); \
    return;                                                                          \
  }

TEST_CASE("persistent: one worker serves successive requests", "[e2e][persistent]") {
  PERSISTENT_ONLY();
  FcgiRun app(Persistent("probe.cgi"));
  Result a = Get(app, "hello"), b = Get(app, "hello");
  INFO(a.raw.Describe() << b.raw.Describe() << app.Log());
  REQUIRE(a.raw.ok());
  REQUIRE(b.raw.ok());
  CHECK(a.pid == b.pid);
  CHECK(a.cgi.body.find("requests_seen_by_this_process=1") != std::string::npos);
  CHECK(b.cgi.body.find("requests_seen_by_this_process=2") != std::string::npos);  // globals persist
}

TEST_CASE("persistent: exit(3) deep in a helper reports status 3, the next request is fine",
          "[e2e][persistent]") {
  PERSISTENT_ONLY();
  FcgiRun app(Persistent("probe.cgi"));
  Result a = Get(app, "exit3");
  Result b = Get(app, "hello");
  INFO(a.raw.Describe() << b.raw.Describe() << app.Log());
  CHECK(a.raw.app_status == 3);
  CHECK(a.cgi.body.find("about to exit(3)") != std::string::npos);  // exit() flushes
  CHECK(b.raw.app_status == 0);
  CHECK(b.cgi.body.find("hello") != std::string::npos);
  CHECK(a.pid == b.pid);  // a C program: repaired, not recycled
}

TEST_CASE("persistent: _exit discards buffered output as in real CGI", "[e2e][persistent]") {
  PERSISTENT_ONLY();
  FcgiRun app(Persistent("probe.cgi"));
  Result a = Get(app, "_exit");
  Result b = Get(app, "hello");
  INFO(a.raw.Describe() << b.raw.Describe());
  CHECK(a.cgi.body.find("kept") != std::string::npos);
  CHECK(a.cgi.body.find("lost") == std::string::npos);
  CHECK(b.cgi.body.find("lost") == std::string::npos);  // not carried into the next request either
  CHECK(b.cgi.body.find("hello") != std::string::npos);
}

TEST_CASE("persistent: atexit handlers run once at the end of their request", "[e2e][persistent]") {
  PERSISTENT_ONLY();
  FcgiRun app(Persistent("probe.cgi"));
  for (int i = 0; i < 3; ++i) {
    Result r = Get(app, "atexit");
    INFO(r.raw.Describe());
    CHECK(r.cgi.body.find("registered\natexit handler ran\n") != std::string::npos);
    // One handler per request, never the earlier requests' ones again.
    CHECK(r.cgi.body.find("atexit handler ran") == r.cgi.body.rfind("atexit handler ran"));
  }
  Result r = Get(app, "hello");
  CHECK(r.cgi.body.find("atexit") == std::string::npos);
}

TEST_CASE("persistent: getopt sees the fixed argv afresh every request", "[e2e][persistent]") {
  PERSISTENT_ONLY();
  FcgiRun app(Persistent("probe.cgi"));
  for (int i = 0; i < 3; ++i) {
    Result r = Get(app, "getopt");
    INFO(r.raw.Describe());
    CHECK(r.cgi.body.find("verbose=1 n=5 rest=rest") != std::string::npos);
  }
}

TEST_CASE("persistent: no byte of one request's body reaches the next", "[e2e][persistent]") {
  PERSISTENT_ONLY();
  FcgiRun app(Persistent("probe.cgi"));
  // fgets reads one line; stdio's read-ahead holds the rest (the secret).
  Result a = Get(app, "stdin-line", "first line\nSECRET-OF-REQUEST-1\n");
  Result b = Get(app, "stdin-all", "second body");
  Result c = Get(app, "stdin-all", "third");
  INFO(a.raw.Describe() << b.raw.Describe() << c.raw.Describe());
  CHECK(a.cgi.body.find("line=first line") != std::string::npos);
  CHECK(b.cgi.body.find("body=second body\neof=1") != std::string::npos);
  CHECK(c.cgi.body.find("body=third\neof=1") != std::string::npos);  // EOF flag cleared too
  CHECK(b.raw.stdout_data.find("SECRET") == std::string::npos);
  CHECK(c.raw.stdout_data.find("second") == std::string::npos);
  CHECK(a.pid == c.pid);
}

TEST_CASE("persistent: setenv in one request is not visible in the next", "[e2e][persistent]") {
  PERSISTENT_ONLY();
  FcgiRun app(Persistent("probe.cgi"));
  Result a = Get(app, "setenv");
  Result b = Get(app, "setenv");
  INFO(a.raw.Describe() << b.raw.Describe());
  CHECK(a.cgi.body.find("before=(unset)") != std::string::npos);
  CHECK(b.cgi.body.find("before=(unset)") != std::string::npos);
  CHECK(a.pid == b.pid);
}

TEST_CASE("persistent: a signal handler and alarm() do not outlive their request", "[e2e][persistent]") {
  PERSISTENT_ONLY();
  FcgiRun app(Persistent("probe.cgi"));
  Result a = Get(app, "alarm");
  std::this_thread::sleep_for(1500ms);  // past the alarm's second
  Result b = Get(app, "signals");
  INFO(a.raw.Describe() << b.raw.Describe() << app.Log());
  CHECK(a.cgi.body.find("alarm armed") != std::string::npos);
  CHECK(b.cgi.body.find("alarms_caught=0 sigalrm=default remaining=0") != std::string::npos);
  CHECK(a.pid == b.pid);  // the cancelled alarm did not kill the idle worker
}

TEST_CASE("persistent: a child forked by the program that returns from main really exits",
          "[e2e][persistent]") {
  PERSISTENT_ONLY();
  FcgiRun app(Persistent("probe.cgi"));
  Result a = Get(app, "fork");
  Result b = Get(app, "hello");
  INFO(a.raw.Describe() << b.raw.Describe());
  CHECK(a.raw.ok());
  CHECK(b.cgi.body.find("hello") != std::string::npos);
  CHECK(a.pid == b.pid);
}

TEST_CASE("persistent: what a background process writes later reaches no other response",
          "[e2e][persistent]") {
  PERSISTENT_ONLY();
  FcgiRun app(Persistent("probe.cgi"));
  Result a = Get(app, "background");
  Result b = Get(app, "hello");        // while the background process still runs
  std::this_thread::sleep_for(600ms);  // it has written by now (300 ms)
  Result c = Get(app, "hello");
  INFO(a.raw.Describe() << b.raw.Describe() << c.raw.Describe() << app.Log());
  CHECK(a.cgi.body.find("background started") != std::string::npos);
  for (const Result* r : {&a, &b, &c}) {
    CHECK(r->raw.ok());
    CHECK(r->cgi.body.find("late output") == std::string::npos);
  }
  CHECK(b.cgi.body.find("hello") != std::string::npos);
  CHECK(c.cgi.body.find("hello") != std::string::npos);
  CHECK(a.pid == b.pid);  // the same worker, with new output pipes
  CHECK(b.pid == c.pid);
}

// A request that ends with its standard streams or fds closed (gnulib's
// close_stdout, fclose, close(1), dup2 over 1, every fd from 3 up closed):
// its own answer is whole, and the requests after it have working stdin,
// stdout and stderr, in the same worker where the shim could repair it.
struct StdioCase {
  const char* query;
  const char* expect;  // in the closing request's body
  int status;          // the closing request's exit status
  bool same_worker;    // repaired (true) or replaced (false)
};

TEST_CASE("persistent: a request that closes its stdio or fds leaves the next requests working",
          "[e2e][persistent]") {
  PERSISTENT_ONLY();
  const StdioCase cases[] = {
      {"gnu-close", "closing stdout and stderr at exit", 0, true},
      {"fclose-stdout", "closing stdout", 0, true},
      {"fclose-stderr", "closed stderr", 0, true},
      {"fclose-stdin", "closed stdin", 0, true},
      {"close-1", "closing fd 1", 0, true},
      {"dup2-1", "fd 1 onto /dev/null", 0, true},
      {"close-fds", "closing every fd from 3 up", 7, false},
      {"close-fds-reopen", "closing every fd from 3 up and opening 8 files", 7, false},
      {"close-fds-from-4", "closing every fd from 4 up", 0, false},
  };
  for (const StdioCase& c : cases) {
    DYNAMIC_SECTION(c.query) {
      FcgiRun app(Persistent("probe.cgi"));
      Result warm = Get(app, "hello");
      std::vector<Result> r;
      for (int i = 0; i < 2; ++i) {  // twice: the state it leaves must not break its own next run
        r.push_back(Get(app, c.query, "first line\n"));
        r.push_back(Get(app, "stdio", "request " + std::to_string(i) + "\n"));
      }
      INFO(warm.raw.Describe() << r[0].raw.Describe() << r[1].raw.Describe() << r[2].raw.Describe()
                               << r[3].raw.Describe() << app.Log());
      for (int i = 0; i < 2; ++i) {
        const Result& closing = r[static_cast<size_t>(2 * i)];
        const Result& next = r[static_cast<size_t>(2 * i + 1)];
        CHECK(closing.raw.ok());
        CHECK(closing.raw.app_status == c.status);
        CHECK(closing.cgi.status == 200);
        CHECK(closing.cgi.body.find(c.expect) != std::string::npos);
        CHECK(closing.cgi.body.find("this goes to /dev/null") == std::string::npos);
        CHECK(next.raw.ok());
        CHECK(next.raw.app_status == 0);
        CHECK(next.cgi.status == 200);
        CHECK(next.cgi.body.find("line=request " + std::to_string(i) + "\n") != std::string::npos);
        CHECK(next.cgi.body.find("stdio works") != std::string::npos);
        CHECK(next.cgi.body.find("error") == std::string::npos);
        CHECK(next.raw.stderr_data.find("stderr works") != std::string::npos);
        if (c.same_worker) CHECK(next.pid == warm.pid);
      }
      if (!c.same_worker) CHECK(r[1].pid != warm.pid);
      if (c.status == 0 && !c.same_worker) {  // the worker could report, and said it retires
        CHECK(app.LogContains("closed file descriptors the worker needs"));
      }
    }
  }
}

TEST_CASE("persistent: an environment larger than one control message is served by the same worker",
          "[e2e][persistent]") {
  PERSISTENT_ONLY();
  FcgiRun app(Persistent("probe.cgi"));
  // 200 KB of QUERY_STRING passes --max-params (1 MiB) but not one control
  // message (128 KiB): the RUN carries its env block in a sealed memfd.
  Result warm = Get(app, "hello");
  Result big = Get(app, "hello" + std::string(200000, 'q'));
  Result after = Get(app, "hello");
  INFO(warm.raw.Describe() << big.raw.Describe() << after.raw.Describe() << app.Log());
  CHECK(big.cgi.status == 200);
  CHECK(big.cgi.body.find("hello") != std::string::npos);
  CHECK(after.cgi.body.find("hello") != std::string::npos);
  CHECK(warm.pid == big.pid);
  CHECK(big.pid == after.pid);
  CHECK(app.Log().find("refused a request") == std::string::npos);
}

TEST_CASE("persistent: a worker leaking 1 MiB per request is recycled at --max-rss", "[e2e][persistent]") {
  PERSISTENT_ONLY();
  FcgiRun app(Persistent("probe.cgi", {"--max-rss", "8"}));
  std::vector<pid_t> pids;
  for (int i = 0; i < 14; ++i) pids.push_back(Get(app, "leak-mem").pid);
  INFO(app.Log());
  CHECK(pids.front() > 0);
  CHECK(pids.back() > 0);
  CHECK(pids.front() != pids.back());
  CHECK(app.LogContains("exceeds --max-rss 8 MiB"));
}

TEST_CASE("persistent: a worker leaking an fd per request is recycled", "[e2e][persistent]") {
  PERSISTENT_ONLY();
  FcgiRun app(Persistent("probe.cgi"));
  std::vector<pid_t> pids;
  for (int i = 0; i < 5; ++i) pids.push_back(Get(app, "leak-fd").pid);
  INFO(app.Log());
  CHECK(pids[0] == pids[2]);  // three requests grow the count...
  CHECK(pids[3] != pids[2]);  // ...then the worker is replaced
  CHECK(app.LogContains("open file descriptors grew after 3 requests in a row"));
}

TEST_CASE("persistent: a worker left with a running thread is recycled", "[e2e][persistent]") {
  PERSISTENT_ONLY();
  FcgiRun app(Persistent("probe.cgi"));
  Result a = Get(app, "thread");
  Result b = Get(app, "hello");
  INFO(a.raw.Describe() << b.raw.Describe() << app.Log());
  CHECK(a.cgi.body.find("thread started") != std::string::npos);
  CHECK(b.raw.ok());
  CHECK(a.pid != b.pid);
  CHECK(b.cgi.body.find("requests_seen_by_this_process=1") != std::string::npos);
  CHECK(app.LogContains("a thread was left running"));
}

TEST_CASE("persistent: a segfault gets 502 naming the signal, the next request is served by a new worker",
          "[e2e][persistent]") {
  PERSISTENT_ONLY();
  FcgiRun app(Persistent("probe.cgi"));
  Result warm = Get(app, "hello");
  Result crash = Get(app, "crash");
  Result next = Get(app, "hello");
  INFO(crash.raw.Describe() << next.raw.Describe() << app.Log());
  CHECK(crash.cgi.status == 502);
  CHECK(crash.cgi.body.find("SIGSEGV") != std::string::npos);
  CHECK(crash.raw.app_status == 128 + SIGSEGV);
  CHECK(next.raw.ok());
  CHECK(next.pid != warm.pid);
  CHECK(next.cgi.body.find("requests_seen_by_this_process=1") != std::string::npos);
}

TEST_CASE("persistent: a C++ program exiting inside a lock_guard scope is recycled, no deadlock",
          "[e2e][persistent]") {
  PERSISTENT_ONLY();
  FcgiRun app(Persistent("cxx_lock.cgi"));
  Result a = Get(app, "plain");
  Result b = Get(app, "exit");
  Result c = Get(app, "plain");
  INFO(a.raw.Describe() << b.raw.Describe() << c.raw.Describe() << app.Log());
  CHECK(a.cgi.body.find("locked fine") != std::string::npos);
  CHECK(b.cgi.body.find("locked fine") != std::string::npos);
  CHECK(c.cgi.body.find("locked fine") != std::string::npos);
  CHECK(c.cgi.body.find("DEADLOCK") == std::string::npos);
  CHECK(a.pid == b.pid);
  CHECK(c.pid != b.pid);
  CHECK(app.LogContains("links libstdc++"));
}

TEST_CASE("persistent: a timeout kills the worker (504) and a new one serves the next request",
          "[e2e][persistent]") {
  PERSISTENT_ONLY();
  FcgiRunOptions o = Persistent("probe.cgi");
  o.flags = {"--mode", "persistent", "--timeout", "1", "--kill-grace", "1"};
  FcgiRun app(o);
  Result warm = Get(app, "hello");
  // stdin-all blocks until the body's EOF: a POST that promises more than it sends hangs.
  NameValuePairs params = {{"SCRIPT_FILENAME", app.program()},
                           {"QUERY_STRING", "stdin-all"},
                           {"REQUEST_METHOD", "POST"},
                           {"CONTENT_LENGTH", "100"}};
  FcgiTestClient client;
  REQUIRE(client.Connect(app.address()).ok());
  RequestSpec spec;
  spec.params = params;
  spec.send_stdin = false;
  REQUIRE(client.Send(RequestBytes(spec)).ok());
  FcgiResponse hung = client.ReadUntilEnd(1, 8000ms);
  Result next = Get(app, "hello");
  INFO(hung.Describe() << next.raw.Describe() << app.Log());
  CHECK(SplitCgiResponse(hung.stdout_data).status == 504);
  CHECK(next.raw.ok());
  CHECK(next.pid != warm.pid);
}

TEST_CASE("persistent: SIGHUP replaces the worker", "[e2e][persistent]") {
  PERSISTENT_ONLY();
  FcgiRun app(Persistent("probe.cgi"));
  Result a = Get(app, "hello");
  kill(app.process().pid(), SIGHUP);
  REQUIRE(app.LogContains("replacing the workers of " + app.program() + ": SIGHUP"));
  Result b = Get(app, "hello");
  INFO(a.raw.Describe() << b.raw.Describe() << app.Log());
  CHECK(b.raw.ok());
  CHECK(a.pid != b.pid);
  CHECK(b.cgi.body.find("requests_seen_by_this_process=1") != std::string::npos);
}

TEST_CASE("persistent: --max-requests N replaces a worker after its Nth request", "[e2e][persistent]") {
  PERSISTENT_ONLY();
  FcgiRun app(Persistent("probe.cgi", {"--max-requests", "3"}));
  std::vector<Result> r;
  for (int i = 0; i < 7; ++i) r.push_back(Get(app, "hello"));
  INFO(app.Log());
  for (const Result& x : r) REQUIRE(x.raw.ok());
  CHECK(r[0].pid == r[1].pid);
  CHECK(r[1].pid == r[2].pid);
  CHECK(r[3].pid != r[2].pid);  // replaced after its third request, before the fourth
  CHECK(r[3].pid == r[5].pid);
  CHECK(r[6].pid != r[5].pid);
  CHECK(r[2].cgi.body.find("requests_seen_by_this_process=3") != std::string::npos);
  CHECK(r[3].cgi.body.find("requests_seen_by_this_process=1") != std::string::npos);
  CHECK(app.LogContains("served --max-requests 3 requests"));
}

TEST_CASE("persistent: a new program file on disk replaces the workers before the next request",
          "[e2e][persistent]") {
  PERSISTENT_ONLY();
  TempDir dir("fcgi-run-persistent-change");
  const std::string path = dir.File("app.cgi");
  std::filesystem::copy_file(PersistentProgram("probe.cgi"), path);
  REQUIRE(chmod(path.c_str(), 0755) == 0);
  FcgiRunOptions o = Persistent("probe.cgi");
  o.program = path;
  FcgiRun app(o);
  Result a = Get(app, "hello"), b = Get(app, "hello");
  REQUIRE(a.pid == b.pid);
  // As installers do: a new file renamed over the old one (a running binary cannot be written).
  std::filesystem::copy_file(PersistentProgram("counter.cgi"), path + ".new");
  REQUIRE(chmod((path + ".new").c_str(), 0755) == 0);
  std::filesystem::rename(path + ".new", path);
  Result c = Get(app, "hello"), d = Get(app, "hello");
  INFO(c.raw.Describe() << d.raw.Describe() << app.Log());
  CHECK(c.cgi.body.find("you are visitor 1\n") != std::string::npos);  // the new program, in a new worker
  CHECK(d.cgi.body.find("you are visitor 2\n") != std::string::npos);  // ...which persists in its turn
  CHECK(app.LogContains("replacing the workers of " + path + ": program file changed on disk"));
}

// ---- fcgi-run --check ----

CommandResult Check(const std::string& program, std::vector<std::string> more = {}) {
  std::vector<std::string> argv = {FcgiRunBinary(), "--check", "--allow-root"};
  argv.insert(argv.end(), more.begin(), more.end());
  argv.push_back(program);
  return RunCommand(argv, "", Seconds(60));
}

TEST_CASE("persistent --check: a program without global state is safe (exit 0)", "[e2e][persistent][check]") {
  PERSISTENT_ONLY();
  CommandResult r = Check(Example("hello.cgi"));
  INFO(r.out << r.err);
  CHECK(r.ExitCode() == 0);
  CHECK(r.out.find("SAFE") != std::string::npos);
}

TEST_CASE("persistent --check: a global counter that changes the output is not safe (exit 1)",
          "[e2e][persistent][check]") {
  PERSISTENT_ONLY();
  CommandResult r = Check(PersistentProgram("counter.cgi"));
  INFO(r.out << r.err);
  CHECK(r.ExitCode() == 1);
  CHECK(r.out.find("NOT SAFE") != std::string::npos);
  CHECK(r.out.find("output differs") != std::string::npos);
}

TEST_CASE("persistent --check: a program that cannot be checked gives exit 2", "[e2e][persistent][check]") {
  PERSISTENT_ONLY();
  CommandResult r = Check("/nonexistent/program.cgi");
  INFO(r.out << r.err);
  CHECK(r.ExitCode() == 2);
}

}  // namespace
}  // namespace fcgi::test
