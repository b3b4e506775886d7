// End-to-end: `--persistent PATTERN` in dispatcher mode (launcher/core/
// persistent_patterns.h): the programs it selects run in persistent mode,
// every other one in --mode; programs that cannot run persistent fall back
// with one log line; the option's errors. Every program here is a copy of
// counter.cgi ("you are visitor N": N counts up in a persistent worker and is
// always 1 in a fresh process), or a fork-mode test program that cannot be
// parked. The tests force their modes, so they run in the e2e-persistent
// variant only ([persistent]).
#include <signal.h>
#include <sys/stat.h>
#include <catch2/catch.hpp>

#include <filesystem>
#include <string>
#include <vector>

#include "tests/support/fcgi_run_server.h"
#include "tests/support/fcgi_test_client.h"
#include "tests/support/process.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_paths.h"

namespace fcgi::test {
namespace {

std::string Built(const std::string& dir, const std::string& name) {
  return std::string(FCGI_RUN_BUILD_DIR) + "/tests/e2e/" + dir + "/" + name;
}

size_t Occurrences(const std::string& haystack, const std::string& needle) {
  size_t n = 0;
  for (size_t at = haystack.find(needle); at != std::string::npos; at = haystack.find(needle, at + 1)) ++n;
  return n;
}

// A document root of program copies; paths are relative to it.
struct Root {
  TempDir dir{"fcgi-run-persistent-root"};
  std::string root = dir.MakeDir("root");
  std::string Add(const std::string& rel, const std::string& built) {
    std::filesystem::path p = std::filesystem::path(root) / rel;
    std::filesystem::create_directories(p.parent_path());
    std::filesystem::copy_file(built, p);
    chmod(p.c_str(), 0755);
    return p.string();
  }
};

FcgiRunOptions Dispatcher(const Root& r, std::vector<std::string> flags) {
  FcgiRunOptions o;
  o.program = "";
  o.pass_mode = false;
  o.workers = 1;  // one persistent worker per program: a second request sees the first one's globals
  o.flags = {"--root", r.root, "--timeout", "10"};
  o.flags.insert(o.flags.end(), flags.begin(), flags.end());
  return o;
}

CgiResponse Get(const FcgiRun& app, const std::string& path, FcgiResponse* raw = nullptr) {
  FcgiResponse r = RequestOnce(app.address(), {{"SCRIPT_FILENAME", path},
                                               {"REQUEST_METHOD", "GET"},
                                               {"QUERY_STRING", ""},
                                               {"GATEWAY_INTERFACE", "CGI/1.1"}});
  if (raw != nullptr) *raw = r;
  return SplitCgiResponse(r.stdout_data);
}

// The visitor numbers of two requests in a row, e.g. "1,2" (persistent) or "1,1".
std::string TwoVisits(const FcgiRun& app, const std::string& path) {
  std::string out;
  for (int i = 0; i < 2; ++i) {
    CgiResponse c = Get(app, path);
    const std::string key = "you are visitor ";
    size_t at = c.body.find(key);
    out += (i ? "," : "") + (at == std::string::npos ? "?" + c.body : c.body.substr(at + key.size(), 1));
  }
  return out;
}

TEST_CASE("persistent --persistent: matching programs run persistent, the others in --mode",
          "[e2e][persistent][dispatch]") {
  Root r;
  const std::string counter = Built("persistent_programs", "counter.cgi");
  const std::string by_name = r.Add("app/report.fast.cgi", counter);
  const std::string by_rel = r.Add("legacy/old.cgi", counter);
  const std::string by_dir = r.Add("tree/deep/er.cgi", counter);
  const std::string by_abs = r.Add("app/exact.cgi", counter);
  const std::string unmatched = r.Add("app/plain.cgi", counter);
  const std::string not_deep = r.Add("legacy/sub/deeper.cgi", counter);  // 'legacy/*' stops at '/'
  for (const std::string mode : {"fork", "exec"}) {
    DYNAMIC_SECTION("others in " << mode << " mode") {
      FcgiRun app(Dispatcher(r, {"--mode", mode, "--persistent", "*.fast.cgi", "--persistent", "legacy/*",
                                 "--persistent", "tree/", "--persistent", by_abs, "-v"}));
      INFO(app.Log());
      CHECK(TwoVisits(app, by_name) == "1,2");
      CHECK(TwoVisits(app, by_rel) == "1,2");
      CHECK(TwoVisits(app, by_dir) == "1,2");
      CHECK(TwoVisits(app, by_abs) == "1,2");
      CHECK(TwoVisits(app, unmatched) == "1,1");
      CHECK(TwoVisits(app, not_deep) == "1,1");
      // -v: the debug line of each new worker class names the pattern that selected it.
      CHECK(app.LogContains("), persistent mode (--persistent '*.fast.cgi')"));
      CHECK(app.LogContains("), persistent mode (--persistent 'legacy/*')"));
      CHECK(app.LogContains("), persistent mode (--persistent '" + by_abs + "')"));
    }
  }
}

TEST_CASE("persistent --persistent: programs that cannot run persistent fall back with one log line each",
          "[e2e][persistent][dispatch]") {
  Root r;
  const std::string static_bin = r.Add("s.fast.cgi", Built("fork_programs", "probe_static.cgi"));
  const std::string threads = r.Add("t.fast.cgi", Built("fork_programs", "thread_ctor.cgi"));
  const std::string script = r.Add("p.fast.cgi", Built("fork_programs", "probe.sh"));
  FcgiRun app(Dispatcher(r, {"--mode", "fork", "--persistent", "*.fast.cgi"}));
  for (int round = 0; round < 2; ++round) {
    for (const std::string& p : {static_bin, threads, script}) {
      FcgiResponse raw;
      CgiResponse c = Get(app, p, &raw);
      INFO(p << " round " << round << ": " << raw.Describe() << "\n" << app.Log());
      CHECK(raw.ok());
      CHECK(c.status == 200);
    }
  }
  CHECK(app.LogContains("static binary (no PT_INTERP); serving " + static_bin + " in exec mode"));
  CHECK(app.LogContains("the program runs 2 threads at main(); serving " + threads + " in exec mode"));
  CHECK(app.LogContains(script + " is a script (interpreter /bin/sh)"));
  const std::string log = app.Log();
  INFO(log);
  // One line per program: no retry lines for the thread refusal either.
  CHECK(Occurrences(log, "serving " + static_bin) == 1);
  CHECK(Occurrences(log, "serving " + threads) == 1);
  CHECK(Occurrences(log, "threads at main()") == 1);
  CHECK(Occurrences(log, script + " is a script") == 1);
  CHECK(log.find("starting a new worker") == std::string::npos);
}

TEST_CASE("persistent --persistent: SIGHUP recycles the persistent programs even with --mode exec",
          "[e2e][persistent][dispatch]") {
  Root r;
  const std::string fast = r.Add("a.fast.cgi", Built("persistent_programs", "counter.cgi"));
  FcgiRun app(Dispatcher(r, {"--mode", "exec", "--persistent", "*.fast.cgi"}));
  REQUIRE(TwoVisits(app, fast) == "1,2");
  kill(app.process().pid(), SIGHUP);
  REQUIRE(app.LogContains("persistent mode: replacing the workers of " + fast + ": SIGHUP"));
  INFO(app.Log());
  CHECK(TwoVisits(app, fast) == "1,2");  // a fresh worker: its globals start again
  CHECK(app.Log().find("nothing to recycle in exec mode") == std::string::npos);
}

TEST_CASE("persistent --persistent: misuse is refused at start-up, naming the problem",
          "[e2e][persistent][dispatch]") {
  auto run = [](std::vector<std::string> args) {
    args.insert(args.begin(), FcgiRunBinary());
    return RunCommand(args, "", Seconds(20));
  };
  SECTION("with a single PROGRAM") {
    CommandResult c = run({"--persistent", "*.cgi", Example("hello.cgi")});
    INFO(c.out << c.err);
    CHECK(c.ExitCode() == 2);
    CHECK(c.err.find("--persistent selects programs in dispatcher mode") != std::string::npos);
    CHECK(c.err.find("--mode persistent") != std::string::npos);
  }
  SECTION("with --mode persistent") {
    CommandResult c = run({"--root", "/tmp", "--mode", "persistent", "--persistent", "*.cgi"});
    INFO(c.out << c.err);
    CHECK(c.ExitCode() == 2);
    CHECK(c.err.find("every program already runs in persistent mode") != std::string::npos);
  }
  SECTION("a relative pattern without --root") {
    CommandResult c = run({"--allow-any-path", "--persistent", "legacy/*"});
    INFO(c.out << c.err);
    CHECK(c.ExitCode() == 2);
    CHECK(c.err.find("--persistent 'legacy/*'") != std::string::npos);
  }
  SECTION("a '..' component") {
    CommandResult c = run({"--root", "/tmp", "--persistent", "../x.cgi"});
    INFO(c.out << c.err);
    CHECK(c.ExitCode() == 2);
    CHECK(c.err.find("'.' and '..' never match") != std::string::npos);
  }
}

}  // namespace
}  // namespace fcgi::test
