// End-to-end: Perl and Python scripts parked after their compilation (fork
// mode's default for them), part 1: what a request sees. Every response of a
// parked script is compared byte for byte with the same script run directly
// (fcgi-run --mode exec: a fresh interpreter per request): stdout, stderr
// and exit status. Covered: environment, argv, $0/__file__, cwd, @INC/%INC
// and sys.path/__main__, the __DATA__ handle and other files opened while
// compiling, -T/-w/-CS on the "#!" line, use lib, exit/die/SystemExit/
// uncaught exceptions, scripts that fork or exec, output and warnings of
// compile time, Python's deprecated cgi module, rand and random, 16
// requests at once. Part 2 (what is not parked, edits, dispatcher mode,
// --compile-per-request, --check) is script_park_lifecycle_test.cc.
//
// Every test forces its modes itself and is tagged [fork][scripts].
#include <unistd.h>
#include <catch2/catch.hpp>

#include <set>
#include <string>
#include <vector>

#include "tests/e2e/fork_mode_util.h"
#include "tests/e2e/script_park_util.h"
#include "tests/support/fcgi_run_server.h"
#include "tests/support/fcgi_test_client.h"
#include "tests/support/temp_dir.h"

namespace fcgi::test {
namespace {

using namespace scriptpark;

const char kPerlProbe[] = R"PERL(#!/usr/bin/perl
use strict;
use warnings;
use Cwd ();
our $compiled_in;
BEGIN { $compiled_in = $$ }
binmode STDOUT;
my $body = do { local $/; <STDIN> };
print "Content-Type: text/plain\r\nX-Probe: perl\r\n\r\n";
print "pid=$$\n";
print "ppid=", getppid(), "\n";
print "0=$0\nargv=", join('|', @ARGV), "\ncwd=", Cwd::getcwd(), "\n";
print "start=", (abs(time - $^T) <= 5 ? "now" : "long ago"), "\n";
print "inc=", join('|', @INC), "\nincfiles=", join('|', sort keys %INC), "\n";
print "body=", (defined $body ? $body : '(undef)'), "\n";
print "env $_=$ENV{$_}\n" for sort keys %ENV;
print "environ:\n", `env`;
print STDERR "a line on stderr\n";
)PERL";

const char kPythonProbe[] = R"PY(#!/usr/bin/python3
import os
import sys
body = sys.stdin.read()
out = ["pid=%d" % os.getpid()]
out.append("ppid=%d" % os.getppid())
out.append("argv=%r orig_argv=%r" % (sys.argv, sys.orig_argv))
out.append("file=%s name=%s path0=%s" % (__file__, __name__, sys.path[0]))
out.append("globals=%r" % sorted(globals()))
out.append("main=%s spec=%r package=%r cached=%r loader=%s" % (
    sys.modules["__main__"].__dict__ is globals(), __spec__, __package__, __cached__, type(__loader__).__name__))
out.append("cwd=%s executable=%s" % (os.getcwd(), sys.executable))
out.append("body=%s" % body)
out.extend("env %s=%s" % kv for kv in sorted(os.environ.items()))
out.append("environ:")
sys.stdout.write("Content-Type: text/plain\r\nX-Probe: python\r\n\r\n" + "\n".join(out) + "\n")
sys.stdout.flush()
os.system("env")
sys.stderr.write("a line on stderr\n")
)PY";

const char kDataPl[] = R"(#!/usr/bin/perl
use strict;
our $CONF;
my $lexical;
BEGIN {
  open($CONF, '<', 'conf.txt') or die "conf.txt: $!";
  open($lexical, '<', 'conf.txt') or die "conf.txt: $!";
  my $first = <$lexical>;  # read a line while compiling: the rest is for the requests
}
print "Content-Type: text/plain\r\n\r\n";
my @data = <DATA>;
my @conf = <$CONF>;
my @rest = <$lexical>;
print "data=", scalar(@data), " first=$data[0]last=$data[-1]";
print "conf=", scalar(@conf), " rest=", scalar(@rest), "\n";
__DATA__
)";

const char kDataPy[] = R"(#!/usr/bin/python3
import sys
import confreader
lines = confreader.handle.readlines()
sys.stdout.write("Content-Type: text/plain\r\n\r\nconf=%d first=%s" % (len(lines), lines[0]))
)";

const char kFlagsPl[] = R"(#!/usr/bin/perl -wT -CS
use FindBin;
BEGIN { ($FindBin::Bin) = $FindBin::Bin =~ m{^(/.*)$} }  # untaint for use lib
use lib "$FindBin::Bin/lib";
use My::Greeting;
use Scalar::Util qw(tainted);
$main::typo_once = 1;  # -w: "used only once" at compile time, on stderr
BEGIN { print STDERR "compile-time note\n" }
BEGIN { $| = 1; print "X-Compiled: yes\r\n" }
print "Content-Type: text/plain; charset=utf-8\r\n\r\n";
print "taint=${^TAINT} warn=$^W\n";
print "tainted query=", (tainted($ENV{QUERY_STRING}) ? 1 : 0), " path=", (tainted($ENV{PATH}) ? 1 : 0), "\n";
eval { system("true") };
print "system=", ($@ =~ /^Insecure \$ENV\{PATH\}/ ? "refused" : "ran: $@"), "\n";
$ENV{PATH} = '/usr/bin:/bin';
print "after PATH=", `echo untainted`;
print My::Greeting::hello(), "\n";
print "inc=@INC\n";
print "smile=\x{263A}\n";
my $x;
print "undef warning: ", $x + 1, "\n";
)";

const char kEndsPl[] = R"(#!/usr/bin/perl
use strict;
use warnings;
print "Content-Type: text/plain\r\n\r\nstarted\n";
END { print "END block, status $?\n" }
my $how = $ENV{QUERY_STRING};
exit 3 if $how eq 'exit3';
die "it died\n" if $how eq 'die';
if ($how eq 'errno') { $! = 5; die "with errno" }
kill 'TERM', $$ if $how eq 'signal';
print "normal end\n";
)";

const char kEndsPy[] = R"(#!/usr/bin/python3
import atexit
import os
import sys
print("Content-Type: text/plain\r\n\r\nstarted")
atexit.register(lambda: print("atexit ran"))
leftover = open(os.path.join(os.path.dirname(__file__), "leftover.txt"), "w")
leftover.write("written, never closed: flushed at exit\n")
how = os.environ["QUERY_STRING"]
def fail():
    raise ValueError("bad value %s" % how)
if how == "exit3":
    sys.exit(3)
if how == "exitmsg":
    sys.exit("a message instead of a status")
if how == "exitnone":
    sys.exit()
if how == "raise":
    fail()
if how == "chained":
    try:
        fail()
    except ValueError as e:
        raise RuntimeError("while handling") from e
if how == "oserror":
    open("/nonexistent/file")
if how == "_exit":
    sys.stdout.flush()
    os._exit(7)
print("normal end")
)";

const char kProcsPl[] = R"(#!/usr/bin/perl
use strict;
$| = 1;
print "Content-Type: text/plain\r\n\r\n";
my $pid = fork();
if ($pid == 0) { print "in the child\n"; exit 4 }
waitpid($pid, 0);
print "child status ", $? >> 8, "\n";
system("echo from system; echo \"query=\$QUERY_STRING\"");
print "backticks: ", `printf '%s' "\$REQUEST_METHOD"`, "\n";
open(my $pipe, '-|', 'cat', '/dev/null') or die; close $pipe;
exec('/bin/echo', 'replaced by exec') if $ENV{QUERY_STRING} eq 'exec';
print "no exec\n";
)";

const char kProcsPy[] = R"(#!/usr/bin/python3
import os
import subprocess
import sys
print("Content-Type: text/plain\r\n\r\n", end="", flush=True)
pid = os.fork()
if pid == 0:
    print("in the child", flush=True)
    os._exit(4)
_, status = os.waitpid(pid, 0)
print("child status", os.waitstatus_to_exitcode(status), flush=True)
subprocess.run(["sh", "-c", 'echo from subprocess; echo "query=$QUERY_STRING"'])
print("output:", subprocess.check_output(["printenv", "REQUEST_METHOD"]).decode().strip(), flush=True)
if os.environ["QUERY_STRING"] == "exec":
    os.execv("/bin/echo", ["echo", "replaced by exec"])
print("no exec")
)";

const char kFormPy[] = R"(#!/usr/bin/python3
import cgi
import html
form = cgi.FieldStorage()
print("Content-Type: text/html\r\n\r\n<ul>")
for name in sorted(form.keys()):
    print("<li>%s=%s</li>" % (html.escape(name), html.escape(form.getfirst(name))))
print("</ul>")
)";

const char kSilencedPy[] = R"(#!/usr/bin/python3
import warnings
warnings.filterwarnings("ignore", category=DeprecationWarning)
import cgi
print("Content-Type: text/plain\r\n\r\n%s" % cgi.FieldStorage().getfirst("name"))
)";

const char kAlwaysPy[] = R"(#!/usr/bin/python3 -Walways
import cgi
import json
print("Content-Type: text/plain\r\n\r\n%s" % json.dumps(cgi.parse()))
)";

const char kRandPl[] = R"(#!/usr/bin/perl
BEGIN { our $early = rand() }  # rand while compiling seeds it: children must not share that seed
print "Content-Type: text/plain\r\n\r\n", rand(), "\n";
)";

const char kSeededPl[] = R"(#!/usr/bin/perl
BEGIN { srand(42) }
print "Content-Type: text/plain\r\n\r\n", rand(), "\n";
)";

const char kRandPy[] = R"(#!/usr/bin/python3
import random
import uuid
print("Content-Type: text/plain\r\n\r\n%r %s" % (random.random(), uuid.uuid4()))
)";

// What the scripts above read: conf.txt (read while compiling by data.pl and
// confreader.py), confreader.py (imported by data.py), lib/My/Greeting.pm
// (flags.pl's use lib).
void WriteSupportFiles(const TempDir& dir) {
  std::string conf;
  for (int i = 1; i <= 1500; ++i) conf += "key" + std::to_string(i) + " = value\n";
  dir.WriteFile("conf.txt", conf);
  dir.WriteFile("confreader.py", "handle = open('conf.txt')\nhandle.readline()\n");
  dir.MakeDir("lib");
  dir.MakeDir("lib/My");
  dir.WriteFile("lib/My/Greeting.pm",
                "package My::Greeting;\nsub hello { \"hello from My::Greeting\" }\n1;\n");
}

// data.pl's __DATA__ section: 2000 lines, 50 KB.
std::string DataSection() {
  std::string data;
  for (int i = 1; i <= 2000; ++i) data += "line " + std::to_string(i) + " of the data section\n";
  return data;
}

TEST_CASE("scripts: a Perl script parked after compilation answers as when run directly",
          "[e2e][fork][scripts]") {
  TempDir dir("fcgi-run-script");
  const std::string script = WriteScript(dir, "probe.pl", kPerlProbe);
  Pair pair(script, {}, {"one", "two"});
  REQUIRE(pair.WaitParked());
  const pid_t parked = forkmode::ParkedPids(pair.fork().Log()).back();
  std::set<std::string> pids;
  for (int i = 0; i < 3; ++i) {
    auto params = ScriptParams(script, "n=" + std::to_string(i), 5);
    params.emplace_back("HTTP_X_TEST", "request-" + std::to_string(i));
    Both b = RunBoth(pair, params, "hello");
    CheckSame(b, "request " + std::to_string(i));
    CHECK(b.fork.stdout_data.find("ppid=" + std::to_string(parked) + "\n") != std::string::npos);
    CHECK(b.fork.stdout_data.find("env HTTP_X_TEST=request-" + std::to_string(i) + "\n") !=
          std::string::npos);
    CHECK(b.fork.stdout_data.find("\nbody=hello\n") != std::string::npos);
    pids.insert(b.fork.stdout_data.substr(0, b.fork.stdout_data.find("\nppid")));
  }
  CHECK(pids.size() == 3);  // a process per request
  std::string log = pair.fork().Log();
  INFO(log);
  CHECK(log.find(script + " (perl) parked after compilation as pid " + std::to_string(parked)) !=
        std::string::npos);
  CHECK(ScriptParks(log) == 1);
  CHECK(log.find("in exec mode") == std::string::npos);
}

TEST_CASE("scripts: a Python script parked after its imports answers as when run directly",
          "[e2e][fork][scripts]") {
  TempDir dir("fcgi-run-script");
  const std::string script = WriteScript(dir, "probe.py", kPythonProbe);
  Pair pair(script, {}, {"a b"});
  REQUIRE(pair.WaitParked());
  for (int i = 0; i < 3; ++i) {
    Both b = RunBoth(pair, ScriptParams(script, "q=" + std::to_string(i), 4), "body");
    CheckSame(b, "request " + std::to_string(i));
    CHECK(b.fork.stdout_data.find("env QUERY_STRING=q=" + std::to_string(i) + "\n") != std::string::npos);
  }
  std::string log = pair.fork().Log();
  INFO(log);
  CHECK(log.find(script + " (python) parked after compilation as pid ") != std::string::npos);
}

// The __DATA__ handle is open when the script parks: each child must read it
// from where it was, not where the previous child left it (a shared offset;
// with a small section the PerlIO buffer hides it, so it is larger than 8 KB).
TEST_CASE("scripts: __DATA__ and files opened while compiling, read by many requests",
          "[e2e][fork][scripts]") {
  TempDir dir("fcgi-run-script");
  WriteSupportFiles(dir);
  const std::string perl = WriteScript(dir, "data.pl", kDataPl + DataSection());
  const std::string python = WriteScript(dir, "data.py", kDataPy);
  for (const std::string& script : {perl, python}) {
    Pair pair(script);
    REQUIRE(pair.WaitParked());
    const std::string expected = script == perl
                                     ? "data=2000 first=line 1 of the data section\nlast=line 2000 of the "
                                       "data section\nconf=1500 rest=1499\n"
                                     : "conf=1499 first=key2 = value\n";
    for (int i = 0; i < 25; ++i) {
      Both b = RunBoth(pair, ScriptParams(script, std::to_string(i)));
      CheckSame(b, script + " request " + std::to_string(i));
      CHECK(SplitCgiResponse(b.fork.stdout_data).body == expected);
    }
    // And 16 at once.
    std::vector<NameValuePairs> params(16, ScriptParams(script, "concurrent"));
    for (const FcgiResponse& r : Concurrent(pair.fork().address(), params)) {
      INFO(r.Describe() << "\n" << pair.fork().Log());
      REQUIRE(r.ok());
      CHECK(SplitCgiResponse(r.stdout_data).body == expected);
    }
  }
}

TEST_CASE("scripts: -T, -w and -CS on the #! line, use lib, output and warnings while compiling",
          "[e2e][fork][scripts]") {
  TempDir dir("fcgi-run-script");
  WriteSupportFiles(dir);
  const std::string script = WriteScript(dir, "flags.pl", kFlagsPl);
  Pair pair(script);
  REQUIRE(pair.WaitParked());
  for (int i = 0; i < 3; ++i) {
    Both b = RunBoth(pair, ScriptParams(script, "x=" + std::to_string(i)));
    CheckSame(b, "request " + std::to_string(i));
    const std::string& out = b.fork.stdout_data;
    CHECK(out.find("X-Compiled: yes\r\n") == 0);
    CHECK(out.find("taint=1 warn=1\ntainted query=1 path=1\nsystem=refused\nafter PATH=untainted\n") !=
          std::string::npos);
    CHECK(out.find("hello from My::Greeting\n") != std::string::npos);
    CHECK(out.find("smile=\xE2\x98\xBA\n") != std::string::npos);
    CHECK(b.fork.stderr_data.find("compile-time note\n") != std::string::npos);
    CHECK(b.fork.stderr_data.find("Name \"main::typo_once\" used only once: possible typo") !=
          std::string::npos);
    CHECK(b.fork.stderr_data.find("Use of uninitialized value $x in addition") != std::string::npos);
  }
  // What compilation wrote to stderr is also in fcgi-run's log, once.
  CHECK(pair.fork().Log().find("flags.pl (compiling): compile-time note") != std::string::npos);
}

TEST_CASE("scripts: exit, die, END blocks, SystemExit, uncaught exceptions, atexit", "[e2e][fork][scripts]") {
  TempDir dir("fcgi-run-script");
  const std::string perl = WriteScript(dir, "ends.pl", kEndsPl);
  const std::string python = WriteScript(dir, "ends.py", kEndsPy);
  for (const std::string& script : {perl, python}) {
    Pair pair(script);
    REQUIRE(pair.WaitParked());
    const std::vector<std::string> hows =
        script == perl ? std::vector<std::string>{"none", "exit3", "die", "errno", "signal"}
                       : std::vector<std::string>{"none",  "exit3",   "exitmsg", "exitnone",
                                                  "raise", "chained", "oserror", "_exit"};
    for (const std::string& how : hows) {
      ::unlink(dir.File("leftover.txt").c_str());
      Both b = RunBoth(pair, ScriptParams(script, how));
      CheckSame(b, script + " " + how);
      if (script == python && how != "_exit") {
        CHECK(ReadFile(dir.File("leftover.txt")) == "written, never closed: flushed at exit\n");
      }
    }
    CHECK(ScriptParks(pair.fork().Log()) == 1);
  }
}

TEST_CASE("scripts: scripts that fork, run commands or exec", "[e2e][fork][scripts]") {
  TempDir dir("fcgi-run-script");
  const std::string perl = WriteScript(dir, "procs.pl", kProcsPl);
  const std::string python = WriteScript(dir, "procs.py", kProcsPy);
  for (const std::string& script : {perl, python}) {
    Pair pair(script);
    REQUIRE(pair.WaitParked());
    for (const std::string how : {"run", "exec"}) {
      Both b = RunBoth(pair, ScriptParams(script, how));
      CheckSame(b, script + " " + how);
      CHECK(b.fork.stdout_data.find("query=" + how + "\n") != std::string::npos);
    }
  }
}

// Python 3.11's cgi module is deprecated: `import cgi` warns (a
// DeprecationWarning attributed to the script's import line) on every run.
// Parked, the module is imported once, but the warning must still come with
// each request, as the script's, and only when its filters let it through.
TEST_CASE("scripts: Python's deprecated cgi module, its warning as in a direct run", "[e2e][fork][scripts]") {
  TempDir dir("fcgi-run-script");
  const std::string plain = WriteScript(dir, "form.py", kFormPy);
  const std::string silenced = WriteScript(dir, "silenced.py", kSilencedPy);
  const std::string always = WriteScript(dir, "always.py", kAlwaysPy);
  for (const std::string& script : {plain, silenced, always}) {
    Pair pair(script);
    REQUIRE(pair.WaitParked());
    for (int i = 0; i < 2; ++i) {
      const std::string body = "name=Ada&color=blue+green&i=" + std::to_string(i);
      auto params = ScriptParams(script, "", static_cast<long>(body.size()));
      params.back().second = "application/x-www-form-urlencoded";  // CONTENT_TYPE
      Both b = RunBoth(pair, params, body);
      CheckSame(b, script);
      if (script == plain) {
        CHECK(b.fork.stdout_data.find("<li>color=blue green</li>\n<li>i=" + std::to_string(i)) !=
              std::string::npos);
        CHECK(b.fork.stderr_data == script +
                                        ":2: DeprecationWarning: 'cgi' is deprecated and slated for removal "
                                        "in Python 3.13\n  import cgi\n");
      }
      if (script == silenced) CHECK(b.fork.stderr_data.empty());
    }
  }
}

TEST_CASE("scripts: rand and random differ per request unless seeded while compiling",
          "[e2e][fork][scripts]") {
  TempDir dir("fcgi-run-script");
  const std::string perl = WriteScript(dir, "rand.pl", kRandPl);
  const std::string seeded = WriteScript(dir, "seeded.pl", kSeededPl);
  const std::string python = WriteScript(dir, "rand.py", kRandPy);
  for (const std::string& script : {perl, seeded, python}) {
    FcgiRun app(ForkScript(script));
    std::set<std::string> values;
    for (int i = 0; i < 4; ++i) {
      FcgiResponse r = RequestOnce(app.address(), ScriptParams(script, ""));
      INFO(r.Describe() << app.Log());
      REQUIRE(r.ok());
      values.insert(SplitCgiResponse(r.stdout_data).body);
    }
    CHECK(values.size() == (script == seeded ? 1u : 4u));
    CHECK(ScriptParks(app.Log()) == 1);
  }
}

// Every case above, 16 requests at once: each response is still the one
// the script run directly gives for the same request.
TEST_CASE("scripts: every case 16 requests at once, each its own environment, body and answer",
          "[e2e][fork][scripts][concurrency]") {
  TempDir dir("fcgi-run-script");
  WriteSupportFiles(dir);
  struct Load {
    std::string name;
    std::string text;
    std::vector<std::string> queries;  // request i gets queries[i % size]
  };
  const std::vector<Load> loads = {
      {"probe.pl", kPerlProbe, {"a", "b"}},
      {"probe.py", kPythonProbe, {"a", "b"}},
      {"data.pl", kDataPl + DataSection(), {""}},
      {"data.py", kDataPy, {""}},
      {"flags.pl", kFlagsPl, {"x"}},
      {"ends.pl", kEndsPl, {"none", "exit3", "die", "errno", "signal"}},
      {"ends.py", kEndsPy, {"none", "exit3", "exitmsg", "exitnone", "raise", "chained", "oserror", "_exit"}},
      {"procs.pl", kProcsPl, {"run", "exec"}},
      {"procs.py", kProcsPy, {"run", "exec"}},
      {"form.py", kFormPy, {""}},
  };
  for (const Load& load : loads) {
    const std::string script = WriteScript(dir, load.name, load.text);
    Pair pair(script, {"--workers", "16"});
    REQUIRE(pair.WaitParked());
    std::vector<NameValuePairs> params;
    std::vector<std::string> bodies;
    for (int i = 0; i < 16; ++i) {
      bodies.push_back("name=n" + std::to_string(i) +
                       "&pad=" + std::string(static_cast<size_t>(i) * 3000, 'x'));
      params.push_back(ScriptParams(script, load.queries[static_cast<size_t>(i) % load.queries.size()],
                                    static_cast<long>(bodies.back().size())));
      params.back().back().second = "application/x-www-form-urlencoded";  // CONTENT_TYPE
      params.back().emplace_back("HTTP_X_INDEX", std::to_string(i));
    }
    std::vector<FcgiResponse> fork = Concurrent(pair.fork().address(), params, bodies);
    for (size_t i = 0; i < params.size(); ++i) {
      FcgiResponse exec = RequestOnce(pair.exec().address(), params[i], bodies[i], Millis(30000));
      CheckSame(Both{exec, fork[i]}, load.name + " request " + std::to_string(i) + " of 16 at once");
    }
    CHECK(ScriptParks(pair.fork().Log()) == 1);
  }
}

}  // namespace
}  // namespace fcgi::test
