// End-to-end: Perl and Python scripts parked after their compilation, part
// 2: scripts that cannot be parked so (they read stdin, start a thread, write
// to stdout from an import, compile longer than --park-timeout, do not
// compile at all) are served as before (the interpreter parked at main(), the
// script compiled per request) with one log line saying why; a script edited
// on disk; `perl SCRIPT` given as the program; dispatcher mode (one parked
// interpreter per script, within --max-classes); --compile-per-request.
// Responses are compared with the script run directly (--mode exec), as in
// part 1 (script_park_test.cc).
#include <unistd.h>
#include <catch2/catch.hpp>

#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "tests/e2e/fork_mode_util.h"
#include "tests/e2e/script_park_util.h"
#include "tests/support/fcgi_run_server.h"
#include "tests/support/fcgi_test_client.h"
#include "tests/support/process.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_paths.h"

namespace fcgi::test {
namespace {

using namespace scriptpark;
using namespace std::chrono_literals;

// Waits until the launcher parked the interpreter at main() instead.
bool WaitParkedAtMain(const FcgiRun& app) { return app.LogContains("parked at main() as pid ", Seconds(15)); }

TEST_CASE("scripts: a script that cannot be parked after compilation is served as before, saying why",
          "[e2e][fork][scripts]") {
  TempDir dir("fcgi-run-script");
  dir.WriteFile("threaded.py",
                "import threading, time\nthreading.Thread(target=time.sleep, args=(5,), "
                "daemon=True).start()\n");
  dir.WriteFile("chatty.py", "print('printed by an import')\n");
  dir.WriteFile("reader.py", "import sys\nfirst = sys.stdin.readline()\n");
  struct Case {
    std::string name, text, why;
    std::vector<std::string> flags;
  };
  const std::vector<Case> cases = {
      {"stdin.pl",
       "#!/usr/bin/perl\nour $first;\nBEGIN { $first = <STDIN> }\nprint \"Content-Type: "
       "text/plain\\r\\n\\r\\n\", "
       "\"first line: \", ($first // 'none'), \"\\n\";\n",
       "the script read stdin while compiling",
       {}},
      {"stdin.py",
       "#!/usr/bin/python3\nimport reader\nprint('Content-Type: text/plain\\r\\n\\r\\nfirst line: %r' % "
       "reader.first)\n",
       "the script read stdin while compiling",
       {}},
      {"thread.py",
       "#!/usr/bin/python3\nimport threaded\nprint('Content-Type: text/plain\\r\\n\\r\\nok')\n",
       "threads once compiled: forking would lose them",
       {}},
      {"thread.pl",
       "#!/usr/bin/perl\nuse threads;\nBEGIN { threads->create(sub { sleep 5 })->detach }\n"
       "print \"Content-Type: text/plain\\r\\n\\r\\nok\\n\";\n",
       "threads once compiled: forking would lose them",
       {}},
      {"chatty.py",
       "#!/usr/bin/python3\nprint('Content-Type: text/plain\\r\\n\\r\\n')\nimport chatty\n",
       "while compiling",
       {}},
      {"slow.pl",
       "#!/usr/bin/perl\nBEGIN { select(undef, undef, undef, 1.5) }\nprint \"Content-Type: "
       "text/plain\\r\\n\\r\\n"
       "slow to compile\\n\";\n",
       "the script did not finish compiling within --park-timeout (500 ms)",
       {"--park-timeout", "0.5"}},
  };
  for (const Case& c : cases) {
    SECTION(c.name) {
      const std::string script = WriteScript(dir, c.name, c.text);
      Pair pair(script, c.flags);
      REQUIRE(WaitParkedAtMain(pair.fork()));
      for (int i = 0; i < 2; ++i) {
        const std::string body = "line one of the body\nline two\n";
        Both b = RunBoth(pair, ScriptParams(script, "", static_cast<long>(body.size())), body);
        CheckSame(b, c.name);
        CHECK(b.fork.ok());
      }
      const std::string log = pair.fork().Log();
      INFO(log);
      CHECK(ScriptParks(log) == 0);
      CHECK(forkmode::Count(log, " is not parked after compilation: ") == 1);
      CHECK(log.find(c.why) != std::string::npos);
      CHECK(forkmode::Count(log, "parked at main() as pid ") == 1);
      CHECK(log.find("in exec mode") == std::string::npos);
    }
  }
}

TEST_CASE(
    "scripts: a syntax error is a 502 with the interpreter's message in the log, and once fixed it parks",
    "[e2e][fork][scripts]") {
  TempDir dir("fcgi-run-script");
  const std::string perl_bad =
      "#!/usr/bin/perl\nuse strict;\nprint \"Content-Type: text/plain\\r\\n\\r\\n\";\nmy $x = ;\n";
  const std::string perl_good =
      "#!/usr/bin/perl\nuse strict;\nprint \"Content-Type: text/plain\\r\\n\\r\\nfixed\\n\";\n";
  const std::string python_bad = "#!/usr/bin/python3\nimport os\nprint('Content-Type: text/plain\\r\\n'\n";
  const std::string python_good =
      "#!/usr/bin/python3\nimport os\nprint('Content-Type: text/plain\\r\\n\\r\\nfixed')\n";
  for (const std::string name : {"broken.pl", "broken.py"}) {
    const bool perl = name == "broken.pl";
    const std::string script = WriteScript(dir, name, perl ? perl_bad : python_bad);
    Pair pair(script);
    REQUIRE(WaitParkedAtMain(pair.fork()));
    for (int i = 0; i < 2; ++i) {
      Both b = RunBoth(pair, ScriptParams(script, ""));
      CheckSame(b, name + " broken");
      CHECK(SplitCgiResponse(b.fork.stdout_data).status == 502);
    }
    std::string log = pair.fork().Log();
    INFO(log);
    CHECK(log.find(perl ? "(compiling): syntax error at " + script + " line 4, near \\\"= ;\\\""
                        : "(compiling): SyntaxError: '(' was never closed") != std::string::npos);
    CHECK(log.find(std::string(perl ? "perl" : "python") + " (pid ") != std::string::npos);
    CHECK(log.find("ended while compiling " + script + ": exit code " + (perl ? "255" : "1")) !=
          std::string::npos);
    CHECK(forkmode::Count(log, " is not parked after compilation: ") == 1);

    // Fixed on disk: the next request runs the new version, parked after compilation.
    std::this_thread::sleep_for(20ms);  // a new mtime even on coarse clocks
    WriteScript(dir, name, perl ? perl_good : python_good);
    FcgiResponse r = RequestOnce(pair.fork().address(), ScriptParams(script, ""));
    INFO(r.Describe());
    REQUIRE(r.ok());
    CHECK(SplitCgiResponse(r.stdout_data).body == "fixed\n");
    CHECK(pair.fork().LogContains(") parked after compilation as pid "));
  }
}

TEST_CASE("scripts: a script edited on disk: the next request runs the new version", "[e2e][fork][scripts]") {
  TempDir dir("fcgi-run-script");
  auto version = [](const std::string& v) {
    return "#!/usr/bin/perl\nuse strict;\nprint \"Content-Type: text/plain\\r\\n\\r\\nversion " + v +
           "\\n\";\n";
  };
  const std::string script = WriteScript(dir, "edited.pl", version("1"));
  FcgiRun app(ForkScript(script));
  for (int v = 1; v <= 3; ++v) {
    if (v > 1) {
      std::this_thread::sleep_for(20ms);
      WriteScript(dir, "edited.pl", version(std::to_string(v)));
    }
    for (int i = 0; i < 2; ++i) {
      FcgiResponse r = RequestOnce(app.address(), ScriptParams(script, ""));
      INFO(r.Describe() << app.Log());
      REQUIRE(r.ok());
      CHECK(SplitCgiResponse(r.stdout_data).body == "version " + std::to_string(v) + "\n");
    }
  }
  std::string log = app.Log();
  INFO(log);
  CHECK(ScriptParks(log) == 3);
  CHECK(forkmode::Count(log, "program file changed on disk") == 2);
}

TEST_CASE("scripts: perl SCRIPT and python3 SCRIPT as the program", "[e2e][fork][scripts]") {
  TempDir dir("fcgi-run-script");
  const std::string perl = WriteScript(
      dir, "plain.pl",
      "print \"Content-Type: text/plain\\r\\n\\r\\nwarn=$^W args=@ARGV 0=$0\\n\"; my @a = (1) x 1;\n");
  const std::string python = WriteScript(
      dir, "plain.py", "import sys\nprint('Content-Type: text/plain\\r\\n\\r\\nargs=%r' % sys.argv)\n");
  for (const auto& [interpreter, script, options] :
       {std::tuple<std::string, std::string, std::vector<std::string>>{
            "/usr/bin/perl", perl, {"-w", perl, "x"}},
        {"/usr/bin/python3", python, {"-u", python, "x"}}}) {
    Pair pair(interpreter, {}, options);
    REQUIRE(pair.WaitParked());
    Both b = RunBoth(pair, ScriptParams(interpreter, ""));
    CheckSame(b, script);
    CHECK(b.fork.stdout_data.find(interpreter == "/usr/bin/perl"
                                      ? "warn=1 args=x 0=" + perl
                                      : "args=['" + python + "', 'x']") != std::string::npos);
    // The script is watched too: edited, the next request runs the new version.
    std::this_thread::sleep_for(20ms);
    WriteScript(dir, script.substr(script.rfind('/') + 1),
                interpreter == "/usr/bin/perl" ? "print \"Content-Type: text/plain\\r\\n\\r\\nnew\\n\";\n"
                                               : "print('Content-Type: text/plain\\r\\n\\r\\nnew')\n");
    FcgiResponse r = RequestOnce(pair.fork().address(), ScriptParams(interpreter, ""));
    INFO(r.Describe() << pair.fork().Log());
    REQUIRE(r.ok());
    CHECK(SplitCgiResponse(r.stdout_data).body == "new\n");
    CHECK(ScriptParks(pair.fork().Log()) == 2);
  }
}

TEST_CASE(
    "scripts: dispatcher mode parks one interpreter per script within --max-classes, --compile-per-request",
    "[e2e][fork][scripts][dispatcher]") {
  TempDir dir("fcgi-run-script");
  std::vector<std::string> scripts;
  for (const std::string name : {"a.pl", "b.py", "c.pl", "legacy.pl"}) {
    const bool perl = name.back() == 'l';
    scripts.push_back(
        WriteScript(dir, name,
                    perl ? "#!/usr/bin/perl\nuse strict;\nprint \"Content-Type: text/plain\\r\\n\\r\\n"
                           "this is " +
                               name + " pid $$\\n\";\n"
                         : "#!/usr/bin/python3\nimport os\nprint('Content-Type: text/plain\\r\\n\\r\\n"
                           "this is " +
                               name + " pid %d' % os.getpid())\n"));
  }
  FcgiRunOptions o;
  o.pass_mode = false;
  o.flags = {
      "--mode",    "fork",           "--root", dir.path(), "--max-classes", "2", "--compile-per-request",
      "legacy.pl", "--park-timeout", "30",     "-v"};
  FcgiRun app(o);
  for (int round = 0; round < 2; ++round) {
    for (const std::string& script : scripts) {
      FcgiResponse r = RequestOnce(app.address(), ScriptParams(script, ""));
      INFO(script << ": " << r.Describe() << app.Log());
      REQUIRE(r.ok());
      const std::string name = script.substr(script.rfind('/') + 1);
      CHECK(SplitCgiResponse(r.stdout_data).body.rfind("this is " + name + " pid ", 0) == 0);
    }
  }
  std::string log = app.Log();
  INFO(log);
  // Each round parks a.pl, b.py and c.pl again (2 classes kept, 4 programs in turn).
  for (const std::string name : {"a.pl", "b.py", "c.pl"}) {
    const std::string language = name.back() == 'l' ? "perl" : "python";
    CHECK(forkmode::Count(log, "/" + name + " (" + language + ") parked after compilation as pid ") == 2);
  }
  CHECK(forkmode::Count(log, "legacy.pl parked at main() as pid ") == 2);
  CHECK(log.find("compiled in every request (--compile-per-request 'legacy.pl')") != std::string::npos);
  CHECK(log.find("retiring the least recently used worker class") != std::string::npos);

  // One PROGRAM: '*' selects it.
  const std::string single = scripts[0];
  FcgiRun plain(ForkScript(single, {"--compile-per-request", "*"}));
  FcgiResponse r = RequestOnce(plain.address(), ScriptParams(single, ""));
  REQUIRE(r.ok());
  CHECK(ScriptParks(plain.Log()) == 0);
  CHECK(plain.LogContains("a.pl parked at main() as pid "));
}

// The same under load: 16 requests sent as fcgi-run starts (they wait for
// the park, then for its fallback) and 16 right after an edit (they wait
// for the new version's park).
TEST_CASE("scripts: 16 requests at once while a script parks, falls back, or is replaced after an edit",
          "[e2e][fork][scripts][concurrency]") {
  TempDir dir("fcgi-run-script");
  auto page = [](const std::string& v) {
    return "#!/usr/bin/perl\nuse strict;\nmy $body = do { local $/; <STDIN> };\n"
           "print \"Content-Type: text/plain\\r\\n\\r\\nversion " +
           v + " $ENV{QUERY_STRING} $body\\n\";\n";
  };
  const std::string refused =
      WriteScript(dir, "refused.pl", "#!/usr/bin/perl\nBEGIN { my $x = <STDIN> }\n" + page("R").substr(16));
  const std::string edited = WriteScript(dir, "edited.pl", page("1"));
  auto load = [](const std::string& script) {
    std::vector<NameValuePairs> params;
    std::vector<std::string> bodies;
    for (int i = 0; i < 16; ++i) {
      bodies.push_back("body" + std::to_string(i));
      params.push_back(
          ScriptParams(script, "q" + std::to_string(i), static_cast<long>(bodies.back().size())));
    }
    return std::make_pair(params, bodies);
  };
  {
    FcgiRun app(ForkScript(refused, {"--workers", "16"}));
    auto [params, bodies] = load(refused);
    std::vector<FcgiResponse> got = Concurrent(app.address(), params, bodies);
    for (size_t i = 0; i < got.size(); ++i) {
      INFO(got[i].Describe() << app.Log());
      REQUIRE(got[i].ok());
      CHECK(SplitCgiResponse(got[i].stdout_data).body ==
            "version R q" + std::to_string(i) + " \n");  // the BEGIN block read the body
    }
    CHECK(forkmode::Count(app.Log(), " is not parked after compilation: ") == 1);
  }
  FcgiRun app(ForkScript(edited, {"--workers", "16"}));
  for (const std::string v : {"1", "2"}) {
    if (v == "2") {
      std::this_thread::sleep_for(20ms);
      WriteScript(dir, "edited.pl", page(v));
    }
    auto [params, bodies] = load(edited);
    std::vector<FcgiResponse> got = Concurrent(app.address(), params, bodies);
    for (size_t i = 0; i < got.size(); ++i) {
      INFO(got[i].Describe() << app.Log());
      REQUIRE(got[i].ok());
      CHECK(SplitCgiResponse(got[i].stdout_data).body ==
            "version " + v + " q" + std::to_string(i) + " body" + std::to_string(i) + "\n");
    }
  }
  CHECK(ScriptParks(app.Log()) == 2);
}

// fcgi-run --check on a script: compiled once (parked after compilation)
// against a fresh interpreter, for each request file.
TEST_CASE("scripts: fcgi-run --check compares the script compiled once with a fresh interpreter",
          "[e2e][fork][scripts][check]") {
  TempDir dir("fcgi-run-script");
  const std::string request = dir.WriteFile("q.req", "QUERY_STRING=from-the-request\n");
  auto check = [&](const std::string& program) {
    return RunCommand(
        {FcgiRunBinary(), "--check", "--allow-root", "--park-timeout", "30", "--request", request, program},
        "", Seconds(60));
  };
  const std::string safe = WriteScript(dir, "safe.pl", R"(#!/usr/bin/perl -w
use strict;
use constant GREETING => 'hello';
print "Content-Type: text/plain\r\n\r\n", GREETING, " ", $ENV{QUERY_STRING}, "\n";
)");
  const std::string unsafe = WriteScript(dir, "unsafe.pl", R"(#!/usr/bin/perl
use strict;
my $query;
BEGIN { $query = $ENV{QUERY_STRING} // '' }  # read while compiling: the parked environment's
print "Content-Type: text/plain\r\n\r\nquery=$query\n";
)");
  dir.WriteFile("settings.py", "import os\nquery = os.environ.get('QUERY_STRING', '')\n");
  const std::string unsafe_py = WriteScript(dir, "unsafe.py", R"(#!/usr/bin/python3
import settings
print("Content-Type: text/plain\r\n\r\nquery=%s" % settings.query)
)");
  const std::string unparked = WriteScript(dir, "reads.pl",
                                           "#!/usr/bin/perl\nBEGIN { my $x = <STDIN> }\n"
                                           "print \"Content-Type: text/plain\\r\\n\\r\\nx\\n\";\n");
  CommandResult r = check(safe);
  INFO(r.out << r.err);
  CHECK(r.ExitCode() == 0);
  CHECK(r.out.find("A perl script: fork mode compiles it once") != std::string::npos);
  CHECK(r.out.find("2 sample request(s)") != std::string::npos);
  CHECK(r.out.find("VERDICT: SAFE") != std::string::npos);
  for (const std::string& script : {unsafe, unsafe_py}) {
    r = check(script);
    INFO(r.out << r.err);
    CHECK(r.ExitCode() == 1);
    CHECK(r.out.find("PROBLEM: \"" + request + "\", run 1: output differs from a fresh interpreter") !=
          std::string::npos);
    CHECK(r.out.find("query=from-the-request") != std::string::npos);
    CHECK(r.out.find("VERDICT: NOT SAFE") != std::string::npos);
    CHECK(r.out.find("--compile-per-request") != std::string::npos);
  }
  r = check(unparked);
  INFO(r.out << r.err);
  CHECK(r.ExitCode() == 2);
  CHECK(r.err.find("the script read stdin while compiling") != std::string::npos);
  CHECK(r.out.find("could not be parked after its compilation") != std::string::npos);
}

}  // namespace
}  // namespace fcgi::test
