// Command-line parsing (launcher/config/options.h): typed values, the
// environment given as an argument, every error at once, flags with an
// explicit value (--NAME=false), flags that never take the next word, grouped
// short options, fcgi-run's options after PROGRAM. The merge with the config
// file is in config_file_test.cc.
#include "launcher/config/options.h"

#include <catch2/catch.hpp>

#include <string>
#include <utility>
#include <vector>

#include "launcher/config/config_file.h"
#include "tests/support/temp_dir.h"

namespace fcgi {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

struct Parsed {
  ParseOutcome outcome = ParseOutcome::kExitFailure;
  Config config;
  std::string out;  // --help text
  std::string err;  // every error, one a line
  std::vector<std::string> errors, warnings;
};

// ParseConfig on `args` with the environment `env` (empty by default: no
// FCGI_RUN_CONFIG, FCGI_WEB_SERVER_ADDRS, PATH...).
Parsed Parse(const std::vector<std::string>& args, const Environment& env = Environment()) {
  ParseResult r = ParseConfig(args, env);
  Parsed p;
  p.outcome = r.outcome;
  p.config = std::move(r.config);
  p.out = r.output;
  for (const std::string& e : r.errors) p.err += e + "\n";
  p.errors = r.errors;
  p.warnings = r.warnings;
  return p;
}

bool Has(const std::string& text, const std::string& needle) {
  return text.find(needle) != std::string::npos;
}

// The flags that can be given together with a PROGRAM.
struct FlagCase {
  const char* name;
  bool Config::*member;
};
const FlagCase kProgramFlags[] = {
    {"verbose", &Config::verbose},
    {"syslog", &Config::syslog},
    {"check", &Config::check},
    {"allow-root", &Config::allow_root},
    {"check-config", &Config::check_config},
};

TEST_CASE("flags: --NAME alone is true, --NAME=WORD sets either value", "[options]") {
  for (const FlagCase& f : kProgramFlags) {
    const std::string opt = std::string("--") + f.name;
    INFO(opt);
    CHECK_FALSE(Parse({"/srv/a.cgi"}).config.*f.member);
    Parsed on = Parse({opt, "/srv/a.cgi"});
    REQUIRE(on.outcome == ParseOutcome::kRun);
    CHECK(on.config.*f.member);
    for (const char* word : {"true", "yes", "on", "1", "TRUE", "Yes"}) {
      Parsed p = Parse({opt + "=" + word, "/srv/a.cgi"});
      INFO(word << " -> " << p.err);
      REQUIRE(p.outcome == ParseOutcome::kRun);
      CHECK(p.config.*f.member);
    }
    for (const char* word : {"false", "no", "off", "0", "FALSE", "Off"}) {
      Parsed p = Parse({opt + "=" + word, "/srv/a.cgi"});
      INFO(word << " -> " << p.err);
      REQUIRE(p.outcome == ParseOutcome::kRun);
      CHECK_FALSE(p.config.*f.member);
    }
  }
}

TEST_CASE("flags: dispatcher-mode and slow-log flags take a value too", "[options]") {
  Parsed any = Parse({"--allow-any-path=yes"});
  INFO(any.err);
  REQUIRE(any.outcome == ParseOutcome::kRun);
  CHECK(any.config.allow_any_path);
  CHECK(any.config.dispatcher());
  // Off, it is no dispatcher option: a PROGRAM is allowed, and alone it does not enable dispatcher mode.
  Parsed off = Parse({"--allow-any-path=false", "/srv/a.cgi"});
  REQUIRE(off.outcome == ParseOutcome::kRun);
  CHECK_FALSE(off.config.allow_any_path);
  Parsed off_alone = Parse({"--allow-any-path=false"});
  CHECK(off_alone.outcome == ParseOutcome::kExitFailure);
  CHECK(off_alone.err.find("no PROGRAM given") != std::string::npos);

  Parsed bt = Parse({"--slow-threshold", "2", "--slow-backtrace=on", "/srv/a.cgi"});
  REQUIRE(bt.outcome == ParseOutcome::kRun);
  CHECK(bt.config.slow_backtrace);
  // Switched off, it no longer needs --slow-threshold.
  Parsed no_bt = Parse({"--slow-backtrace=off", "/srv/a.cgi"});
  INFO(no_bt.err);
  REQUIRE(no_bt.outcome == ParseOutcome::kRun);
  CHECK_FALSE(no_bt.config.slow_backtrace);
  CHECK(Parse({"--slow-backtrace", "/srv/a.cgi"}).outcome == ParseOutcome::kExitFailure);
}

TEST_CASE("flags: a flag given twice on the command line is an error", "[options]") {
  // As any single-valued option given twice (Boost's multiple_occurrences), not a guess.
  Parsed p = Parse({"--syslog", "--syslog=false", "/srv/a.cgi"});
  CHECK(p.outcome == ParseOutcome::kExitFailure);
  CHECK(p.err.find("syslog") != std::string::npos);
}

TEST_CASE("flags: never take the next word, so PROGRAM stays the program", "[options]") {
  Parsed p = Parse({"--syslog", "/srv/a.cgi", "--flag", "x"});
  INFO(p.err);
  REQUIRE(p.outcome == ParseOutcome::kRun);
  CHECK(p.config.syslog);
  CHECK(p.config.program == "/srv/a.cgi");
  CHECK(p.config.args == std::vector<std::string>{"--flag", "x"});

  // Even a flag word as the next word is the PROGRAM: only --NAME=WORD gives a value.
  Parsed word = Parse({"--allow-root", "false", "arg"});
  REQUIRE(word.outcome == ParseOutcome::kRun);
  CHECK(word.config.allow_root);
  CHECK(word.config.program == "false");
  CHECK(word.config.args == std::vector<std::string>{"arg"});

  Parsed verbose = Parse({"--workers", "3", "-v", "./app.cgi", "-v"});
  REQUIRE(verbose.outcome == ParseOutcome::kRun);
  CHECK(verbose.config.verbose);
  CHECK(verbose.config.workers == 3);
  CHECK(verbose.config.program == "./app.cgi");
  CHECK(verbose.config.args == std::vector<std::string>{"-v"});

  Parsed dashes = Parse({"--check=no", "--", "-odd-name.cgi"});
  REQUIRE(dashes.outcome == ParseOutcome::kRun);
  CHECK_FALSE(dashes.config.check);
  CHECK(dashes.config.program == "-odd-name.cgi");
}

TEST_CASE("flags: grouped short options still work with -v", "[options]") {
  Parsed sticky = Parse({"-vw4", "/srv/a.cgi"});
  INFO(sticky.err);
  REQUIRE(sticky.outcome == ParseOutcome::kRun);
  CHECK(sticky.config.verbose);
  CHECK(sticky.config.workers == 4);
  CHECK(sticky.config.program == "/srv/a.cgi");

  Parsed next = Parse({"-vw", "5", "/srv/a.cgi", "x"});
  INFO(next.err);
  REQUIRE(next.outcome == ParseOutcome::kRun);
  CHECK(next.config.verbose);
  CHECK(next.config.workers == 5);
  CHECK(next.config.program == "/srv/a.cgi");
  CHECK(next.config.args == std::vector<std::string>{"x"});

  Parsed env = Parse({"-ve", "A=1", "/srv/a.cgi"});
  REQUIRE(env.outcome == ParseOutcome::kRun);
  CHECK(env.config.env == NameValuePairs{{"A", "1"}, {"PATH", kDefaultPath}});

  // -v itself takes no value: "-vfalse" is -v then unknown short options.
  Parsed no_value = Parse({"-vfalse", "/srv/a.cgi"});
  CHECK(no_value.outcome == ParseOutcome::kExitFailure);
}

TEST_CASE("flags: a bad value names the option and the accepted words", "[options]") {
  for (const char* arg : {"--syslog=maybe", "--syslog=", "--verbose=2", "--allow-root=y", "--check=enable"}) {
    Parsed p = Parse({arg, "/srv/a.cgi"});
    INFO(arg << " -> " << p.err);
    CHECK(p.outcome == ParseOutcome::kExitFailure);
    CHECK(p.err.find(std::string(arg) + ": expected true or false (also yes/no, on/off, 1/0)") !=
          std::string::npos);
  }
  // A value on an option that is not a flag is not a flag error.
  Parsed workers = Parse({"--workers=many", "/srv/a.cgi"});
  CHECK(workers.outcome == ParseOutcome::kExitFailure);
  CHECK(workers.err.find("expected true or false") == std::string::npos);
  CHECK(Has(workers.err, "--workers 'many': expected a whole number (e.g. 4)"));
}

TEST_CASE("flags: --help says how to switch one off", "[options]") {
  Parsed p = Parse({"--help"});
  REQUIRE(p.outcome == ParseOutcome::kExitSuccess);
  CHECK(p.out.find("--syslog [=BOOL(=true)]") != std::string::npos);
  CHECK(p.out.find("--NAME=false (or no, off, 0) turns it off") != std::string::npos);
}

TEST_CASE("typed values: modes, durations, sizes, words and lists become values once", "[options]") {
  Parsed p = Parse({"--mode",
                    "persistent",
                    "--timeout",
                    "30s",
                    "--kill-grace",
                    "500ms",
                    "--park-timeout",
                    "0.5",
                    "--shutdown-timeout",
                    "2m",
                    "--buffer",
                    "64K",
                    "--max-body",
                    "8M",
                    "--body-spool",
                    "1G",
                    "--max-header",
                    "4096",
                    "--log-level",
                    "notice",
                    "--stderr",
                    "both",
                    "--allow-from",
                    "10.0.0.0/8, ::1",
                    "--access-format",
                    "%s %u",
                    "--socket-mode",
                    "0600",
                    "--listen",
                    "tcp:127.0.0.1:9000",
                    "--http",
                    "[::1]:8080",
                    "--rlimit-as",
                    "512M",
                    "--rlimit-nofile",
                    "64",
                    "--parent-pipe-fd",
                    "none",
                    "--syslog-facility",
                    "local3",
                    "/srv/a.cgi"});
  INFO(p.err);
  REQUIRE(p.outcome == ParseOutcome::kRun);
  const Config& c = p.config;
  CHECK(c.mode == RunMode::kPersistent);
  CHECK(c.timeout == seconds(30));
  CHECK(c.kill_grace == milliseconds(500));
  CHECK(c.park_timeout == milliseconds(500));
  CHECK(c.shutdown_timeout == seconds(120));
  CHECK(c.buffer_bytes == 64 * 1024);
  CHECK(c.max_body == 8u << 20);
  CHECK(c.body_spool_bytes == 1u << 30);
  CHECK(c.max_header_bytes == 4096);
  CHECK(c.log_level == LogLevel::kNotice);
  CHECK(c.stderr_mode == StderrMode::kBoth);
  REQUIRE(c.allowed_peers.has_value());
  CHECK(c.allowed_peers->source == "--allow-from");
  CHECK(c.allowed_peers->filter.ToString() == "10.0.0.0/8,::1");
  AccessRecord record;
  record.uri = "/x";
  record.status = 200;
  CHECK(c.access_format.Render(record) == "200 /x");
  CHECK(c.socket_mode == 0600);
  REQUIRE(c.listen.size() == 1);
  CHECK(c.listen[0].ToString() == "tcp:127.0.0.1:9000");
  REQUIRE(c.http.size() == 1);
  CHECK(c.http[0].ToString() == "tcp:[::1]:8080");
  CHECK(c.rlimit_as == 512 << 20);
  CHECK(c.rlimit_nofile == 64);
  CHECK(c.rlimit_cpu == -1);
  CHECK(c.parent_pipe_fd == kParentPipeNone);
  CHECK(c.syslog_facility == 19);  // local3
  CHECK(Parse({"--root", "/srv", "--allow-ext", ".cgi,.pl"}).config.allow_ext ==
        std::vector<std::string>{".cgi", ".pl"});

  Parsed defaults = Parse({"/srv/a.cgi"});
  REQUIRE(defaults.outcome == ParseOutcome::kRun);
  CHECK(defaults.config.mode == RunMode::kFork);
  CHECK(defaults.config.timeout == seconds(60));
  CHECK(defaults.config.log_level == LogLevel::kInfo);
  CHECK(defaults.config.parent_pipe_fd == kParentPipeAuto);
  CHECK_FALSE(defaults.config.allowed_peers.has_value());
  CHECK(defaults.config.access_format.Render(AccessRecord{}).find("\"- - -\"") != std::string::npos);
  CHECK(Parse({"-v", "--log-level", "error", "/srv/a.cgi"}).config.log_level == LogLevel::kDebug);
  CHECK(Parse({"--parent-pipe-fd", "7", "/srv/a.cgi"}).config.parent_pipe_fd == 7);
}

TEST_CASE("typed values: --persistent patterns are parsed once, with --root known", "[options]") {
  Parsed p = Parse({"--root", "/srv/www", "--persistent", "legacy/*", "--persistent", "*.fast.cgi"});
  INFO(p.err);
  REQUIRE(p.outcome == ParseOutcome::kRun);
  REQUIRE(p.config.persistent.size() == 2);
  CHECK(p.config.persistent.Match("/srv/www/legacy/a.cgi", "/srv/www", "/srv/www") == "legacy/*");
  Parsed no_root = Parse({"--program", "/srv/a.cgi", "--persistent", "legacy/*"});
  CHECK(no_root.outcome == ParseOutcome::kExitFailure);
  CHECK(Has(no_root.err, "--persistent 'legacy/*'"));
}

TEST_CASE("environment: given as an argument, never read from the process", "[options]") {
  SECTION("FCGI_WEB_SERVER_ADDRS when --allow-from is absent") {
    Parsed p = Parse({"/srv/a.cgi"}, Environment({{"FCGI_WEB_SERVER_ADDRS", "127.0.0.1,10.1.0.0/16"}}));
    REQUIRE(p.outcome == ParseOutcome::kRun);
    REQUIRE(p.config.allowed_peers.has_value());
    CHECK(p.config.allowed_peers->source == "FCGI_WEB_SERVER_ADDRS");
    CHECK(p.config.allowed_peers->filter.Allows("10.1.2.3"));
    Parsed cli =
        Parse({"--allow-from", "::1", "/srv/a.cgi"}, Environment({{"FCGI_WEB_SERVER_ADDRS", "10.0.0.1"}}));
    REQUIRE(cli.config.allowed_peers.has_value());
    CHECK(cli.config.allowed_peers->source == "--allow-from");
    CHECK_FALSE(cli.config.allowed_peers->filter.Allows("10.0.0.1"));
    CHECK_FALSE(Parse({"/srv/a.cgi"}, Environment({{"FCGI_WEB_SERVER_ADDRS", ""}})).config.allowed_peers);
  }
  SECTION("a bad FCGI_WEB_SERVER_ADDRS is an error of the configuration (start-up and --check-config)") {
    Parsed p = Parse({"/srv/a.cgi"}, Environment({{"FCGI_WEB_SERVER_ADDRS", "10.0.0.0/33"}}));
    CHECK(p.outcome == ParseOutcome::kExitFailure);
    CHECK(Has(p.err, "FCGI_WEB_SERVER_ADDRS (from the environment) 10.0.0.0/33: "));
  }
  SECTION("--env NAME takes its value from the environment; PATH is passed") {
    Parsed p = Parse({"-e", "LANG", "-e", "UNSET", "-e", "A=1", "/srv/a.cgi"},
                     Environment({{"LANG", "C.UTF-8"}, {"PATH", "/opt/bin:/bin"}, {"SECRET", "x"}}));
    REQUIRE(p.outcome == ParseOutcome::kRun);
    CHECK(p.config.env == NameValuePairs{{"LANG", "C.UTF-8"}, {"A", "1"}, {"PATH", "/opt/bin:/bin"}});
    CHECK(Parse({"/srv/a.cgi"}).config.env == NameValuePairs{{"PATH", kDefaultPath}});
    CHECK(Parse({"-e", "PATH=/x", "/srv/a.cgi"}).config.env == NameValuePairs{{"PATH", "/x"}});
  }
  SECTION("TMPDIR is the default of --tmp-dir") {
    CHECK(Parse({"/srv/a.cgi"}).config.tmp_dir == "/tmp");
    CHECK(Parse({"/srv/a.cgi"}, Environment({{"TMPDIR", "/var/tmp"}})).config.tmp_dir == "/var/tmp");
    CHECK(
        Parse({"--tmp-dir", "/spool", "/srv/a.cgi"}, Environment({{"TMPDIR", "/var/tmp"}})).config.tmp_dir ==
        "/spool");
  }
  SECTION("LISTEN_FDS counts only when LISTEN_PID is this process") {
    Environment mine({{"LISTEN_PID", "4242"}, {"LISTEN_FDS", "2"}}, 4242);
    CHECK(Parse({"/srv/a.cgi"}, mine).config.systemd_fds == 2);
    Environment other({{"LISTEN_PID", "4243"}, {"LISTEN_FDS", "2"}}, 4242);
    CHECK(Parse({"/srv/a.cgi"}, other).config.systemd_fds == 0);
    CHECK(Parse({"/srv/a.cgi"}, Environment({{"LISTEN_FDS", "2"}}, 4242)).config.systemd_fds == 0);
  }
}

TEST_CASE("errors: every error of the command line in one run", "[options]") {
  Parsed p = Parse({"--timeout", "30x", "--workers", "-1", "--mode", "sideways", "--buffer", "12",
                    "--socket_owner", "www-data", "--timout", "5", "--stderr", "nowhere", "/srv/a.cgi"});
  INFO(p.err);
  CHECK(p.outcome == ParseOutcome::kExitFailure);
  CHECK(Has(p.err, "--timeout '30x': unknown unit 'x': expected ms, s, m or h"));
  CHECK(Has(p.err, "--workers '-1': must not be negative"));
  CHECK(Has(p.err, "--mode sideways: unknown mode"));
  CHECK(Has(p.err, "--buffer '12': must be at least 4096 bytes"));
  CHECK(Has(p.err, "unknown option '--socket_owner'; did you mean '--socket-owner'?"));
  CHECK(Has(p.err, "unknown option '--timout'; did you mean '--timeout'?"));
  CHECK(Has(p.err, "--stderr nowhere: expected fcgi, log, both or discard"));
  CHECK(p.errors.size() == 7);
}

TEST_CASE("errors: durations say the unit, sizes take binary units", "[options]") {
  CHECK(Parse({"--timeout", "30s", "/srv/a.cgi"}).config.timeout == seconds(30));
  CHECK(Parse({"--timeout", "1.5", "/srv/a.cgi"}).config.timeout == milliseconds(1500));
  Parsed bad = Parse({"--timeout", "soon", "/srv/a.cgi"});
  CHECK(Has(bad.err,
            "--timeout 'soon': expected seconds (e.g. 30 or 0.5) or a number with a unit: 500ms, 30s"));
  CHECK(Has(Parse({"--park-timeout", "0", "/srv/a.cgi"}).err, "--park-timeout '0': must be more than 0"));
  CHECK(Has(Parse({"--max-body", "1.5M", "/srv/a.cgi"}).err, "--max-body '1.5M': unknown unit '.5M'"));
  CHECK(Has(Parse({"--rlimit-as", "lots", "/srv/a.cgi"}).err, "(or -1 to inherit fcgi-run's limit)"));
  CHECK(Has(Parse({"--parent-pipe-fd", "5x", "/srv/a.cgi"}).err,
            "--parent-pipe-fd 5x: expected auto, none or a descriptor number"));
}

TEST_CASE("errors: a missing value, an ambiguous or unknown short option", "[options]") {
  CHECK(Has(Parse({"--timeout"}).err, "--timeout needs a value"));
  CHECK(Has(Parse({"--rlimit", "3", "/srv/a.cgi"}).err, "option '--rlimit' is ambiguous: --rlimit-"));
  CHECK(Has(Parse({"-x", "/srv/a.cgi"}).err, "unknown option '-x'"));
  CHECK(Has(Parse({"--help=yes"}).err, "--help takes no value"));
  // An unambiguous prefix still works, as with Boost's parser.
  CHECK(Parse({"--work", "3", "/srv/a.cgi"}).config.workers == 3);
}

TEST_CASE("after PROGRAM: fcgi-run's own options are PROGRAM's, with a warning", "[options]") {
  SECTION("serving: a warning naming them") {
    Parsed p = Parse({"/srv/a.cgi", "--timeout", "5", "--verbose", "--not-ours", "-v"});
    REQUIRE(p.outcome == ParseOutcome::kRun);
    CHECK(p.config.args == std::vector<std::string>{"--timeout", "5", "--verbose", "--not-ours", "-v"});
    CHECK(p.config.timeout == seconds(60));
    REQUIRE(p.warnings.size() == 1);
    CHECK(Has(p.warnings[0],
              "'--timeout', '--verbose' after PROGRAM are passed to PROGRAM as arguments, not read"));
    CHECK_FALSE(Has(p.warnings[0], "not-ours"));
  }
  SECTION("--check: refused, since the check would not use them") {
    Parsed p = Parse({"--check", "/srv/a.cgi", "--request", "get.req"});
    CHECK(p.outcome == ParseOutcome::kExitFailure);
    CHECK(Has(p.err, "--check: '--request' after PROGRAM would be passed to PROGRAM as an argument"));
    CHECK(Has(p.err, "fcgi-run --check --request FILE PROGRAM"));
    Parsed eq = Parse({"--check", "/srv/a.cgi", "--request=get.req"});
    CHECK(eq.outcome == ParseOutcome::kExitFailure);
  }
  SECTION("after '--' they are meant for PROGRAM: no warning, no refusal") {
    Parsed serve = Parse({"--", "/srv/a.cgi", "--timeout", "5"});
    REQUIRE(serve.outcome == ParseOutcome::kRun);
    CHECK(serve.warnings.empty());
    Parsed check = Parse({"--check", "--", "/srv/a.cgi", "--request", "x"});
    REQUIRE(check.outcome == ParseOutcome::kRun);
    CHECK(check.config.args == std::vector<std::string>{"--request", "x"});
    CHECK(check.config.check_requests.empty());
  }
}

TEST_CASE("--help: the Signals line names SIGHUP; durations and sizes are explained", "[options]") {
  Parsed p = Parse({"--help"});
  REQUIRE(p.outcome == ParseOutcome::kExitSuccess);
  CHECK(Has(p.out, "SIGHUP re-reads the --config file"));
  CHECK(Has(p.out, "Durations (SECONDS): 30, 0.5, or with a unit: 500ms, 30s, 2m, 1h"));
  CHECK(Has(p.out, "fcgi-run --check --request FILE PROGRAM"));
  CHECK(Parse({"--version"}).out.rfind("fcgi-run ", 0) == 0);
}

TEST_CASE("flag words: the words the file and the command line share", "[options]") {
  bool v = false;
  for (const char* w : {"true", "yes", "on", "1", "True", "YES", "oN"}) {
    v = false;
    CHECK(ParseFlagWord(w, &v));
    CHECK(v);
  }
  for (const char* w : {"false", "no", "off", "0", "False", "NO", "OFF"}) {
    v = true;
    CHECK(ParseFlagWord(w, &v));
    CHECK_FALSE(v);
  }
  for (const char* w : {"", " true", "2", "y", "n", "enable", "truee", "-1"}) {
    v = true;
    CHECK_FALSE(ParseFlagWord(w, &v));
    CHECK(v);  // untouched
  }
}

}  // namespace
TEST_CASE("options: --compile-per-request takes repeatable patterns, checked as --persistent's, naming the option",
          "[options]") {
  Parsed one = Parse({"--compile-per-request", "*", "--compile-per-request", "legacy.pl", "/srv/app.pl"});
  INFO(one.err);
  REQUIRE(one.outcome == ParseOutcome::kRun);
  REQUIRE(one.config.compile_per_request.size() == 2);
  CHECK(one.config.compile_per_request.Match("/srv/legacy.pl", "", "") == "*");
  Parsed root = Parse({"--root", "/srv/www", "--compile-per-request", "legacy/", "--compile-per-request",
                       "/srv/www/old/*.pl"});
  INFO(root.err);
  CHECK(root.outcome == ParseOutcome::kRun);
  for (const auto& [args, why] : std::vector<std::pair<std::vector<std::string>, std::string>>{
           {{"--compile-per-request", "", "/srv/app.pl"}, "--compile-per-request '': empty pattern"},
           {{"--compile-per-request", "legacy/x.pl", "/srv/app.pl"},
            "--compile-per-request 'legacy/x.pl': a relative path is matched under --root"},
           {{"--root", "/srv/www", "--compile-per-request", "a/../b.pl"},
            "--compile-per-request 'a/../b.pl': '.' and '..' never match"}}) {
    Parsed bad = Parse(args);
    INFO(bad.err);
    CHECK(bad.outcome == ParseOutcome::kExitFailure);
    CHECK(bad.err.find(why) != std::string::npos);
  }
}

}  // namespace fcgi
