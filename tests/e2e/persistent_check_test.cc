// End-to-end: `fcgi-run --check PROGRAM [--request FILE...]` (launcher/
// safety_check.h) beyond the three verdict cases of persistent_mode_test.cc:
// the report names what the shim repaired and what a serving worker would be
// recycled for; the check applies the start-up rules of a real start (root
// refusal, --rlimit-*); a program whose workers never start is "could not
// run", not "safe". Programs: tests/e2e/persistent_programs/tidy.c (output
// that depends on the request only; each query leaves something to repair),
// cxx_lock.cc, and fork_programs/thread_ctor.c. Run in the e2e-persistent
// variant only ([persistent]); each case takes well under a second.
#include <unistd.h>
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "tests/support/process.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_paths.h"

namespace fcgi::test {
namespace {

std::string Built(const std::string& dir, const std::string& name) {
  return std::string(FCGI_RUN_BUILD_DIR) + "/tests/e2e/" + dir + "/" + name;
}

struct Checker {
  TempDir dir{"fcgi-run-check"};
  // A request file with QUERY_STRING=query.
  std::string Request(const std::string& query) {
    return dir.WriteFile(query + ".req", "QUERY_STRING=" + query + "\n");
  }
  CommandResult Run(const std::string& program, std::vector<std::string> options) {
    std::vector<std::string> argv = {FcgiRunBinary(), "--check"};
    argv.insert(argv.end(), options.begin(), options.end());
    argv.push_back(program);
    return RunCommand(argv, "", Seconds(60));
  }
  // fcgi-run with exactly `args`.
  CommandResult RunArgs(const std::vector<std::string>& args) {
    std::vector<std::string> argv = {FcgiRunBinary()};
    argv.insert(argv.end(), args.begin(), args.end());
    return RunCommand(argv, "", Seconds(60));
  }
};

bool Has(const std::string& text, const std::string& needle) {
  return text.find(needle) != std::string::npos;
}

TEST_CASE("persistent --check: the report lists what the shim repaired", "[e2e][persistent][check]") {
  Checker c;
  CommandResult r = c.Run(Built("persistent_programs", "tidy.cgi"),
                          {"--allow-root", "--request", c.Request("exit"), "--request", c.Request("alarm"),
                           "--request", c.Request("env")});
  INFO(r.out << r.err);
  CHECK(r.ExitCode() == 0);
  CHECK(Has(r.out, "VERDICT: SAFE"));
  CHECK(Has(r.out, "What the shim repaired between requests: exit intercepted"));
  CHECK(Has(r.out, "environment changed"));
  CHECK(Has(r.out, "signal handlers restored"));
  CHECK(Has(r.out, "timer (alarm/setitimer) cancelled"));
  CHECK(Has(r.out, "Nothing seen would make fcgi-run replace the worker"));
}

TEST_CASE("persistent --check: the report says what a serving worker would be recycled for",
          "[e2e][persistent][check]") {
  Checker c;
  SECTION("an fd leaked by every request (safe: recycling handles it)") {
    const std::string leak = c.Request("leak-fd");
    CommandResult r = c.Run(Built("persistent_programs", "tidy.cgi"),
                            {"--allow-root", "--request", leak, "--request", leak, "--request", leak});
    INFO(r.out << r.err);
    CHECK(r.ExitCode() == 0);
    CHECK(Has(r.out, "would replace the worker (recycle) because:"));
    CHECK(Has(r.out, "open file descriptors grew after 3 requests in a row"));
    CHECK(Has(r.out, "more times)"));  // one line per kind, not one per request
    CHECK(Has(r.out, "warning: open file descriptors grew"));
  }
  SECTION("exit() in a C++ program") {
    CommandResult r =
        c.Run(Built("persistent_programs", "cxx_lock.cgi"), {"--allow-root", "--request", c.Request("exit")});
    INFO(r.out << r.err);
    CHECK(r.ExitCode() == 0);
    CHECK(Has(r.out, "exit() was intercepted in a program that links libstdc++"));
  }
  SECTION("--max-requests is taken into account") {
    CommandResult r =
        c.Run(Built("persistent_programs", "tidy.cgi"), {"--allow-root", "--max-requests", "2"});
    INFO(r.out << r.err);
    CHECK(r.ExitCode() == 0);
    CHECK(Has(r.out, "served --max-requests 2 requests"));
  }
}

TEST_CASE("persistent --check: a program whose workers never start could not be checked (exit 2)",
          "[e2e][persistent][check]") {
  Checker c;
  CommandResult r = c.Run(Built("fork_programs", "thread_ctor.cgi"), {"--allow-root"});
  INFO(r.out << r.err);
  CHECK(r.ExitCode() == 2);
  CHECK(Has(r.out, "could not be run in persistent mode"));
  CHECK(Has(r.err, "threads at main()"));
  CHECK_FALSE(Has(r.out, "VERDICT: SAFE"));
}

TEST_CASE("persistent --check: the start-up rules of a real start apply", "[e2e][persistent][check]") {
  Checker c;
  const std::string tidy = Built("persistent_programs", "tidy.cgi");
  SECTION("as root, programs do not run as root without --allow-root") {
    if (geteuid() != 0) {
      WARN("needs root");
      return;
    }
    CommandResult r = c.Run(tidy, {});
    INFO(r.out << r.err);
    CHECK(r.ExitCode() == 2);
    CHECK(Has(r.out, "programs would run as root"));
    CHECK(Has(r.out, "VERDICT: the check could not run"));
  }
  SECTION("--rlimit-* limits the programs") {
    // Three descriptors: the dynamic linker cannot open libc, so nothing can
    // run; a check that ignored the limit would call the program safe.
    CommandResult r = c.Run(tidy, {"--allow-root", "--rlimit-nofile", "3"});
    INFO(r.out << r.err);
    CHECK(r.ExitCode() == 2);
    CHECK_FALSE(Has(r.out, "VERDICT: SAFE"));
    CHECK(Has(r.out, "VERDICT: the check could not run"));
  }
}

TEST_CASE("persistent --check: --check's options after PROGRAM are refused, never ignored",
          "[e2e][persistent][check]") {
  // latch.cgi carries state over only for QUERY_STRING=remember: only a check
  // that runs the --request file can call it unsafe.
  Checker c;
  const std::string latch = Built("persistent_programs", "latch.cgi");
  const std::string remember = c.Request("remember");
  SECTION("before PROGRAM the request is checked: not safe") {
    CommandResult r = c.RunArgs({"--check", "--allow-root", "--request", remember, latch});
    INFO(r.out << r.err);
    CHECK(r.ExitCode() == 1);
    CHECK(Has(r.out, "VERDICT: NOT SAFE"));
  }
  SECTION("after PROGRAM (the README's old order): refused with exit 2, never a verdict") {
    CommandResult r = c.RunArgs({"--check", "--allow-root", latch, "--request", remember});
    INFO(r.out << r.err);
    CHECK(r.ExitCode() == 2);
    CHECK_FALSE(Has(r.out, "VERDICT"));
    CHECK(Has(r.err, "'--request' after PROGRAM"));
    CHECK(Has(r.err, "fcgi-run --check --request FILE PROGRAM"));
  }
  SECTION("after '--' the words after PROGRAM are PROGRAM's own arguments") {
    CommandResult r = c.RunArgs({"--check", "--allow-root", "--", latch, "--request", "x"});
    INFO(r.out << r.err);
    CHECK(r.ExitCode() == 0);
    CHECK(Has(r.out, "VERDICT: SAFE"));
  }
}

}  // namespace
}  // namespace fcgi::test
