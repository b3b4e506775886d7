// Command-line parsing (launcher/config/options.h): flags with an explicit value
// (--NAME=false), flags that never take the next word, grouped short options.
// The merge with the config file is in config_file_test.cc.
#include "launcher/config/options.h"

#include <catch2/catch.hpp>

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "launcher/config/config_file.h"
#include "tests/support/temp_dir.h"

namespace fcgi {
namespace {

struct Parsed {
  ParseOutcome outcome = ParseOutcome::kExitFailure;
  Config config;
  std::string out;  // --help text
  std::string err;
};

// Runs ParseCommandLine on {"fcgi-run", args...} without a FCGI_RUN_CONFIG or
// FCGI_WEB_SERVER_ADDRS of the caller, capturing stdout and stderr.
Parsed Parse(const std::vector<std::string>& args) {
  unsetenv(kConfigEnvVar);
  unsetenv("FCGI_WEB_SERVER_ADDRS");
  std::vector<const char*> argv{"fcgi-run"};
  for (const std::string& a : args) argv.push_back(a.c_str());
  Parsed p;
  std::ostringstream err, out;
  std::streambuf* old_err = std::cerr.rdbuf(err.rdbuf());
  std::streambuf* old_out = std::cout.rdbuf(out.rdbuf());
  p.outcome = ParseCommandLine(static_cast<int>(argv.size()), argv.data(), &p.config);
  std::cerr.rdbuf(old_err);
  std::cout.rdbuf(old_out);
  p.out = out.str();
  p.err = err.str();
  return p;
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
  CHECK(env.config.env == std::vector<std::string>{"A=1"});

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
}

TEST_CASE("flags: --help says how to switch one off", "[options]") {
  Parsed p = Parse({"--help"});
  REQUIRE(p.outcome == ParseOutcome::kExitSuccess);
  CHECK(p.out.find("--syslog [=BOOL(=true)]") != std::string::npos);
  CHECK(p.out.find("--NAME=false (or no, off, 0) turns it off") != std::string::npos);
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
  CHECK(one.config.compile_per_request == std::vector<std::string>{"*", "legacy.pl"});
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
