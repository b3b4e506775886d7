// Config file (launcher/config/config_file.h) and its merge with the command line
// through ParseConfig (launcher/config/options.h).
#include "launcher/config/config_file.h"

#include <catch2/catch.hpp>

#include "launcher/checks/config_check.h"
#include "launcher/config/options.h"
#include "tests/support/temp_dir.h"

namespace fcgi {
namespace {

using std::chrono::seconds;

struct Parsed {
  ParseOutcome outcome = ParseOutcome::kExitFailure;
  Config config;
  std::string err;  // every error, one a line
  std::vector<std::string> errors;
};

// ParseConfig on `args` with the environment `env` (none by default).
Parsed Parse(const std::vector<std::string>& args, const Environment& env = Environment()) {
  ParseResult r = ParseConfig(args, env);
  Parsed p;
  p.outcome = r.outcome;
  p.config = std::move(r.config);
  for (const std::string& e : r.errors) p.err += e + "\n";
  p.errors = r.errors;
  return p;
}

bool Has(const std::string& text, const std::string& needle) {
  return text.find(needle) != std::string::npos;
}

TEST_CASE("config text: names, values, comment lines and line numbers", "[config]") {
  std::vector<ConfigEntry> e;
  std::vector<std::string> errors;
  ParseConfigText(
      "# a comment\n"
      "\n"
      "  workers   =  4  \n"
      "env = A=1#not-a-comment\n"
      "env=B=2   # not a comment either\n"
      "allow-ext =\n"
      "\t# indented comment\r\n"
      "mode = fork\r\n",
      "t.conf", &e, &errors);
  REQUIRE(errors.empty());
  REQUIRE(e.size() == 5);
  CHECK((e[0].name == "workers" && e[0].value == "4" && e[0].line == 3));
  CHECK((e[1].name == "env" && e[1].value == "A=1#not-a-comment" && e[1].line == 4));
  CHECK((e[2].name == "env" && e[2].value == "B=2   # not a comment either" && e[2].line == 5));
  CHECK((e[3].name == "allow-ext" && e[3].value.empty() && e[3].line == 6));
  CHECK((e[4].name == "mode" && e[4].value == "fork" && e[4].line == 8));
}

TEST_CASE("config file: a '#' in a value is kept, as systemd units do", "[config]") {
  test::TempDir dir;
  std::string file = dir.WriteFile("a.conf",
                                   "# comments have lines of their own\n"
                                   "env = HASHY=a#b c #d\n"
                                   "ping-response = pong # not a comment\n"
                                   "command = /srv/app.cgi\n");
  Parsed p = Parse({"--config", file});
  INFO(p.err);
  REQUIRE(p.outcome == ParseOutcome::kRun);
  CHECK(p.config.env == NameValuePairs{{"HASHY", "a#b c #d"}, {"PATH", kDefaultPath}});
  CHECK(p.config.ping_response == "pong # not a comment");
  // A value that cannot take the text says where the '#' went.
  std::string bad = dir.WriteFile("b.conf", "workers = 4 # four\ncommand = /srv/app.cgi\n");
  Parsed b = Parse({"--config", bad});
  CHECK(b.outcome == ParseOutcome::kExitFailure);
  CHECK(Has(b.err, bad + ":1: --workers '4 # four': expected a whole number"));
  CHECK(Has(b.err, "comments go on lines of their own"));
}

TEST_CASE("config text: malformed lines are errors naming file and line", "[config]") {
  struct Case {
    const char* text;
    const char* needle;
  };
  const Case cases[] = {
      {"mode = fork\njust words\n", "t.conf:2: expected 'name = value'"},
      {"\n\n[section]\n", "t.conf:3: sections"},
      {"--mode = fork\n", "t.conf:1: write option names without dashes ('mode = ...')"},
      {"  = 3\n", "t.conf:1: missing option name"},
      {"max body = 3\n", "t.conf:1: option name 'max body' contains a blank"},
  };
  for (const Case& c : cases) {
    std::vector<ConfigEntry> e;
    std::vector<std::string> errors;
    ParseConfigText(c.text, "t.conf", &e, &errors);
    INFO(c.text);
    REQUIRE(errors.size() == 1);
    CHECK(Has(errors[0], c.needle));
  }
}

TEST_CASE("config file: every error of the file and the command line in one run", "[config]") {
  test::TempDir dir;
  // Seven typos: seven errors in one run, not one per run.
  std::string file = dir.WriteFile("typos.conf",
                                   "socket_owner = www-data\n"
                                   "workerz = 4\n"
                                   "timeout = 30x\n"
                                   "mode = forked\n"
                                   "[server]\n"
                                   "listen unix:/run/a.sock\n"
                                   "syslog = maybe\n"
                                   "command = /srv/app.cgi\n");
  Parsed p = Parse({"--config", file, "--queue", "many"});
  INFO(p.err);
  CHECK(p.outcome == ParseOutcome::kExitFailure);
  CHECK(Has(p.err, file + ":1: unknown option 'socket_owner'; did you mean 'socket-owner'?"));
  CHECK(Has(p.err, file + ":2: unknown option 'workerz'; did you mean 'workers'?"));
  CHECK(Has(p.err, file + ":3: --timeout '30x': unknown unit 'x'"));
  CHECK(Has(p.err, file + ":4: --mode forked: unknown mode"));
  CHECK(Has(p.err, file + ":5: sections ([server]) are not supported"));
  CHECK(Has(p.err, file + ":6: expected 'name = value'"));
  CHECK(Has(p.err, file + ":7: syslog = maybe: expected true or false"));
  CHECK(Has(p.err, "--queue 'many': expected a whole number"));
  CHECK(p.errors.size() == 8);
}

TEST_CASE("config file: options, lists, flags and the program come from the file", "[config]") {
  test::TempDir dir;
  std::string file = dir.WriteFile("a.conf",
                                   "listen = unix:/tmp/a.sock\n"
                                   "listen = tcp:127.0.0.1:9000\n"
                                   "workers = 3\n"
                                   "mode = exec\n"
                                   "env = A=1\n"
                                   "allow-root = true\n"
                                   "verbose = false\n"
                                   "log-level = notice\n"
                                   "command = /srv/app.cgi\n"
                                   "arg = -x\n"
                                   "arg = two words\n");
  Parsed p = Parse({"--config", file});
  INFO(p.err);
  REQUIRE(p.outcome == ParseOutcome::kRun);
  CHECK(p.config.config_file == file);
  REQUIRE(p.config.listen.size() == 2);
  CHECK(p.config.listen[0].ToString() == "unix:/tmp/a.sock");
  CHECK(p.config.listen[1].ToString() == "tcp:127.0.0.1:9000");
  CHECK(p.config.workers == 3);
  CHECK(p.config.mode == RunMode::kExec);
  CHECK(p.config.env == NameValuePairs{{"A", "1"}, {"PATH", kDefaultPath}});
  CHECK(p.config.allow_root);
  CHECK_FALSE(p.config.verbose);
  CHECK(p.config.log_level == LogLevel::kNotice);
  CHECK(p.config.program == "/srv/app.cgi");
  CHECK(p.config.args == std::vector<std::string>{"-x", "two words"});
}

TEST_CASE("config file: compile-per-request lines, one pattern each", "[config]") {
  test::TempDir dir;
  std::string file = dir.WriteFile("s.conf",
                                   "root = /srv/www\ncompile-per-request = legacy/\n"
                                   "compile-per-request = *.cgi\n");
  Parsed p = Parse({"--config", file, "--compile-per-request", "old.pl"});
  INFO(p.err);
  REQUIRE(p.outcome == ParseOutcome::kRun);
  // The file's lines, then the command line's; the first that matches is named.
  const PersistentPatterns& c = p.config.compile_per_request;
  REQUIRE(c.size() == 3);
  CHECK(c.Match("/srv/www/legacy/x.cgi", "/srv/www", "/srv/www") == "legacy/");
  CHECK(c.Match("/srv/www/a.cgi", "/srv/www", "/srv/www") == "*.cgi");
  CHECK(c.Match("/srv/www/old.pl", "/srv/www", "/srv/www") == "old.pl");
}

TEST_CASE("config file: the command line replaces scalars and appends to lists", "[config]") {
  test::TempDir dir;
  std::string file = dir.WriteFile("a.conf",
                                   "workers = 3\n"
                                   "timeout = 10\n"
                                   "env = FROM_FILE=1\n"
                                   "listen = unix:/tmp/file.sock\n"
                                   "command = /srv/file.cgi\n"
                                   "arg = file-arg\n");
  SECTION("scalars and lists") {
    Parsed p = Parse({"--workers", "7", "--config", file, "-e", "FROM_CLI=2", "-v"});
    INFO(p.err);
    REQUIRE(p.outcome == ParseOutcome::kRun);
    CHECK(p.config.workers == 7);            // replaced
    CHECK(p.config.timeout == seconds(10));  // kept from the file
    CHECK(p.config.env == NameValuePairs{{"FROM_FILE", "1"}, {"FROM_CLI", "2"}, {"PATH", kDefaultPath}});
    REQUIRE(p.config.listen.size() == 1);
    CHECK(p.config.listen[0].path == "/tmp/file.sock");
    CHECK(p.config.verbose);
    CHECK(p.config.program == "/srv/file.cgi");
    CHECK(p.config.args == std::vector<std::string>{"file-arg"});
  }
  SECTION("a PROGRAM on the command line replaces command and every arg") {
    Parsed p = Parse({"--config", file, "/srv/cli.cgi"});
    REQUIRE(p.outcome == ParseOutcome::kRun);
    CHECK(p.config.program == "/srv/cli.cgi");
    CHECK(p.config.args.empty());
  }
}

TEST_CASE("config file: FCGI_RUN_CONFIG when --config is absent", "[config]") {
  test::TempDir dir;
  std::string env_file = dir.WriteFile("env.conf", "workers = 5\ncommand = /srv/env.cgi\n");
  std::string cli_file = dir.WriteFile("cli.conf", "workers = 6\ncommand = /srv/cli.cgi\n");
  const Environment env({{kConfigEnvVar, env_file}});
  Parsed from_env = Parse({}, env);
  INFO(from_env.err);
  REQUIRE(from_env.outcome == ParseOutcome::kRun);
  CHECK(from_env.config.workers == 5);
  CHECK(from_env.config.config_file == env_file);
  Parsed explicit_file = Parse({"--config", cli_file}, env);
  REQUIRE(explicit_file.outcome == ParseOutcome::kRun);
  CHECK(explicit_file.config.workers == 6);  // --config wins over the environment
  CHECK(explicit_file.config.program == "/srv/cli.cgi");
  const Environment missing_env({{kConfigEnvVar, dir.path() + "/missing.conf"}});
  Parsed missing = Parse({"/srv/x.cgi"}, missing_env);
  CHECK(missing.outcome == ParseOutcome::kExitFailure);
  CHECK(Has(missing.err, "missing.conf"));
  CHECK(Parse({"--help"}, missing_env).outcome == ParseOutcome::kExitSuccess);  // --help never reads the file
  CHECK(Parse({"/srv/x.cgi"}, Environment({{kConfigEnvVar, ""}})).outcome ==
        ParseOutcome::kRun);  // empty: none
}

TEST_CASE("config file: errors name the file and the line", "[config]") {
  test::TempDir dir;
  struct Case {
    const char* text;
    const char* needle;
  };
  const Case cases[] = {
      {"workers = 2\n\nno-such-option = 1\n", ":3: unknown option 'no-such-option'"},
      {"command = /a\nworkers = many\n", ":2: --workers 'many': expected a whole number (e.g. 4)"},
      {"command = /a\n# c\nmode = sideways\n", ":3: --mode sideways: unknown mode"},
      {"command = /a\ntimeout = -1\n", ":2: --timeout '-1': must not be negative"},
      {"command = /a\nlog-level = loud\n", ":2: --log-level loud: expected error, warning"},
      {"command = /a\nsyslog-facility = nowhere\n", ":2: --syslog-facility nowhere"},
      {"command = /a\nallow-root = perhaps\n",
       ":2: allow-root = perhaps: expected true or false (also yes/no, on/off, 1/0)"},
      {"syslog =\ncommand = /a\n", ":1: syslog = : expected true or false"},  // empty is not true
      {"workers = 2\ncommand = /a\nworkers = 3\n", ":3: 'workers' already set on line 1"},
      {"config = other.conf\n", ":1: 'config' is allowed only on the command line"},
      {"check-config = true\n", ":1: 'check-config' is allowed only on the command line"},
      {"arg = -x\n", ":1: 'arg' without 'command'"},
      {"command = /a\ncommand = /b\n", ":2: command already set on line 1"},
  };
  for (const Case& c : cases) {
    std::string file = dir.WriteFile("bad.conf", c.text);
    Parsed p = Parse({"--config", file});
    INFO(c.text << "-> " << p.err);
    CHECK(p.outcome == ParseOutcome::kExitFailure);
    CHECK(p.err.find(file + c.needle) != std::string::npos);
  }
}

TEST_CASE("config file: a bad value given on the command line is not blamed on the file", "[config]") {
  test::TempDir dir;
  std::string file = dir.WriteFile("a.conf", "mode = fork\ncommand = /a\n");
  Parsed p = Parse({"--config", file, "--mode", "bogus"});
  CHECK(p.outcome == ParseOutcome::kExitFailure);
  CHECK(p.err.find("--mode bogus") != std::string::npos);
  CHECK(p.err.find("a.conf:") == std::string::npos);
}

TEST_CASE("config file: --log-level, --syslog and --check-config from the command line", "[config]") {
  Parsed p = Parse({"--check-config", "--log-level", "debug", "--syslog", "--syslog-facility", "local3",
                    "--syslog-socket", "/tmp/x.sock", "/srv/a.cgi"});
  INFO(p.err);
  REQUIRE(p.outcome == ParseOutcome::kRun);
  CHECK(p.config.check_config);
  CHECK(p.config.log_level == LogLevel::kDebug);
  CHECK(p.config.syslog);
  CHECK(p.config.syslog_facility == 19);  // local3
  CHECK(p.config.syslog_socket == "/tmp/x.sock");
  Parsed defaults = Parse({"/srv/a.cgi"});
  CHECK(defaults.config.log_level == LogLevel::kInfo);
  CHECK_FALSE(defaults.config.syslog);
  CHECK(defaults.config.syslog_facility == 3);  // daemon
  CHECK(defaults.config.syslog_socket == "/dev/log");
}

TEST_CASE("config file: the command line switches a flag of the file off or on", "[config]") {
  test::TempDir dir;
  std::string on = dir.WriteFile("on.conf",
                                 "syslog = true\n"
                                 "allow-root = yes\n"
                                 "verbose = on\n"
                                 "check = 1\n"
                                 "command = /srv/app.cgi\n");
  SECTION("the file alone") {
    Parsed p = Parse({"--config", on});
    INFO(p.err);
    REQUIRE(p.outcome == ParseOutcome::kRun);
    CHECK(p.config.syslog);
    CHECK(p.config.allow_root);
    CHECK(p.config.verbose);
    CHECK(p.config.check);
  }
  SECTION("--NAME=false on the command line wins over NAME = true in the file") {
    Parsed p = Parse({"--config", on, "--syslog=false", "--allow-root=no", "--verbose=off", "--check=0"});
    INFO(p.err);
    REQUIRE(p.outcome == ParseOutcome::kRun);
    CHECK_FALSE(p.config.syslog);
    CHECK_FALSE(p.config.allow_root);
    CHECK_FALSE(p.config.verbose);
    CHECK_FALSE(p.config.check);
    CHECK(p.config.program == "/srv/app.cgi");  // the file's command is kept
  }
  SECTION("only the flags named on the command line change") {
    Parsed p = Parse({"--syslog=false", "--config", on});
    REQUIRE(p.outcome == ParseOutcome::kRun);
    CHECK_FALSE(p.config.syslog);
    CHECK(p.config.allow_root);
    CHECK(p.config.verbose);
  }
  SECTION("--NAME=false before a PROGRAM on the command line") {
    Parsed p = Parse({"--config", on, "--allow-root=false", "/srv/cli.cgi", "x"});
    REQUIRE(p.outcome == ParseOutcome::kRun);
    CHECK_FALSE(p.config.allow_root);
    CHECK(p.config.program == "/srv/cli.cgi");
    CHECK(p.config.args == std::vector<std::string>{"x"});
  }
  std::string off = dir.WriteFile("off.conf", "syslog = false\nallow-root = no\ncommand = /srv/app.cgi\n");
  SECTION("--NAME or --NAME=true switches on what the file left off") {
    Parsed p = Parse({"--config", off, "--syslog", "--allow-root=true"});
    INFO(p.err);
    REQUIRE(p.outcome == ParseOutcome::kRun);
    CHECK(p.config.syslog);
    CHECK(p.config.allow_root);
  }
  SECTION("--NAME directly before a PROGRAM does not take it as its value") {
    Parsed p = Parse({"--config", off, "--syslog", "/srv/cli.cgi"});
    REQUIRE(p.outcome == ParseOutcome::kRun);
    CHECK(p.config.syslog);
    CHECK(p.config.program == "/srv/cli.cgi");
  }
}

TEST_CASE("config file: a flag switched off on the command line no longer needs what it needed", "[config]") {
  test::TempDir dir;
  std::string file = dir.WriteFile("a.conf", "slow-backtrace = true\ncommand = /a\n");
  Parsed needs = Parse({"--config", file});
  CHECK(needs.outcome == ParseOutcome::kExitFailure);
  CHECK(needs.err.find(file + ":1: --slow-backtrace needs --slow-threshold") != std::string::npos);
  Parsed off = Parse({"--config", file, "--slow-backtrace=false"});
  INFO(off.err);
  REQUIRE(off.outcome == ParseOutcome::kRun);
  CHECK_FALSE(off.config.slow_backtrace);
}

TEST_CASE("config file: a bad flag value is an error even when the command line replaces it", "[config]") {
  test::TempDir dir;
  std::string file = dir.WriteFile("a.conf", "command = /a\nsyslog = sometimes\n");
  Parsed p = Parse({"--config", file, "--syslog=false"});
  CHECK(p.outcome == ParseOutcome::kExitFailure);
  CHECK(p.err.find(file + ":2: syslog = sometimes: expected true or false") != std::string::npos);
  // And a bad command-line value is blamed on the command line, not on the file.
  std::string good = dir.WriteFile("b.conf", "command = /a\nsyslog = true\n");
  Parsed cli = Parse({"--config", good, "--syslog=sometimes"});
  CHECK(cli.outcome == ParseOutcome::kExitFailure);
  CHECK(cli.err.find("--syslog=sometimes: expected true or false (also yes/no, on/off, 1/0)") !=
        std::string::npos);
  CHECK(cli.err.find("b.conf") == std::string::npos);
}

TEST_CASE("config file: --check-config checks the effective flags", "[config]") {
  test::TempDir dir;
  // --syslog to a socket that does not exist: a --check-config warning only while syslog is on.
  std::string file = dir.WriteFile(
      "a.conf", "syslog = true\nsyslog-socket = " + dir.File("no.sock") + "\ncommand = /bin/sh\n");
  auto syslog_warned = [](const Config& c) {
    for (const std::string& w : CheckConfig(c).warnings) {
      if (w.find("--syslog-socket") != std::string::npos) return true;
    }
    return false;
  };
  Parsed on = Parse({"--check-config", "--config", file});
  INFO(on.err);
  REQUIRE(on.outcome == ParseOutcome::kRun);
  CHECK(on.config.check_config);
  CHECK(syslog_warned(on.config));
  Parsed off = Parse({"--check-config", "--config", file, "--syslog=false"});
  REQUIRE(off.outcome == ParseOutcome::kRun);
  CHECK_FALSE(syslog_warned(off.config));
}

}  // namespace
}  // namespace fcgi
