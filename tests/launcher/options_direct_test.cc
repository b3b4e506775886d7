// ParseCommandLine's validation of --direct (launcher/options.h) and the
// options it cannot be combined with (flags in general: options_test.cc). (Config-file merging is tested in
// config_file_test.cc.)
#include "launcher/options.h"

#include <catch2/catch.hpp>
#include <stdlib.h>

#include <iostream>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "launcher/config_file.h"
#include "tests/support/temp_dir.h"

namespace fcgi {
namespace {

struct Parsed {
  ParseOutcome outcome = ParseOutcome::kExitFailure;
  Config config;
  std::string err;
};

// Runs ParseCommandLine on {"fcgi-run", args...}, capturing stderr, without a
// FCGI_RUN_CONFIG or FCGI_WEB_SERVER_ADDRS of the caller.
Parsed Parse(const std::vector<std::string>& args) {
  unsetenv(kConfigEnvVar);
  unsetenv("FCGI_WEB_SERVER_ADDRS");
  std::vector<const char*> argv{"fcgi-run"};
  for (const std::string& a : args) argv.push_back(a.c_str());
  Parsed p;
  std::ostringstream capture;
  std::streambuf* old = std::cerr.rdbuf(capture.rdbuf());
  p.outcome = ParseCommandLine(static_cast<int>(argv.size()), argv.data(), &p.config);
  std::cerr.rdbuf(old);
  p.err = capture.str();
  return p;
}

std::vector<std::string> With(std::vector<std::string> args, const std::vector<std::string>& more) {
  args.insert(args.end() - 1, more.begin(), more.end());  // before PROGRAM
  return args;
}

const std::vector<std::string> kDirect = {"--mode", "persistent", "--direct", "/srv/app"};

TEST_CASE("options: --direct with persistent mode and one PROGRAM", "[options]") {
  Parsed p = Parse(kDirect);
  REQUIRE(p.outcome == ParseOutcome::kRun);
  CHECK(p.config.direct);
  CHECK(p.config.mode == "persistent");
  CHECK(p.config.program == "/srv/app");
  // Options that still apply: they travel to the workers.
  p = Parse(With(kDirect, {"--workers", "3", "--timeout", "5", "--stderr", "log", "--max-requests", "10",
                           "--env", "A=1", "--listen", "unix:/tmp/x.sock", "--listen", "tcp:127.0.0.1:9000"}));
  CHECK(p.outcome == ParseOutcome::kRun);
  CHECK(p.err.empty());
  CHECK_FALSE(Parse({"/srv/app"}).config.direct);  // off by default
}

TEST_CASE("options: --direct refuses every option the launcher would need the requests for", "[options]") {
  struct Case {
    std::vector<std::string> args;
    std::string named;
  };
  const std::string kDispatcher = "dispatcher mode (--root, --program, --allow-any-path, --allow-ext, --persistent)";
  const std::vector<Case> cases = {
      {{"--direct", "/srv/app"}, "--mode fork"},  // fork is the default mode
      {{"--direct", "--mode", "exec", "/srv/app"}, "--mode exec"},
      {With(kDirect, {"--http", "127.0.0.1:8080"}), "--http"},
      {With(kDirect, {"--status-path", "/st"}), "--status-path"},
      {With(kDirect, {"--ping-path", "/ping"}), "--ping-path"},
      {With(kDirect, {"--access-log", "-"}), "--access-log"},
      {With(kDirect, {"--slow-threshold", "2"}), "--slow-threshold/--slow-log"},
      {With(kDirect, {"--slow-log", "/tmp/slow"}), "--slow-threshold/--slow-log"},
      {With(kDirect, {"--allow-from", "127.0.0.1"}), "--allow-from"},
      {With(kDirect, {"--check"}), "--check"},
      {{"--mode", "persistent", "--direct", "--root", "/srv"}, kDispatcher},
      {{"--mode", "persistent", "--direct", "--program", "/srv/a"}, kDispatcher},
  };
  for (const Case& c : cases) {
    INFO(c.named);
    Parsed p = Parse(c.args);
    CHECK(p.outcome == ParseOutcome::kExitFailure);
    CHECK(p.err.find("fcgi-run: --direct cannot be combined with " + c.named +
                     ": in direct mode the workers answer the web server themselves and the launcher sees no "
                     "request") != std::string::npos);
  }
}

TEST_CASE("options: --direct with FCGI_WEB_SERVER_ADDRS only when no TCP listener is given", "[options]") {
  auto parse_with_addrs = [](const std::vector<std::string>& args) {
    unsetenv(kConfigEnvVar);
    setenv("FCGI_WEB_SERVER_ADDRS", "127.0.0.1", 1);
    std::vector<const char*> argv{"fcgi-run"};
    for (const std::string& a : args) argv.push_back(a.c_str());
    Config config;
    std::ostringstream capture;
    std::streambuf* old = std::cerr.rdbuf(capture.rdbuf());
    ParseOutcome outcome = ParseCommandLine(static_cast<int>(argv.size()), argv.data(), &config);
    std::cerr.rdbuf(old);
    unsetenv("FCGI_WEB_SERVER_ADDRS");
    return std::make_pair(outcome, capture.str());
  };
  auto [tcp, tcp_err] = parse_with_addrs(With(kDirect, {"--listen", "tcp:127.0.0.1:9000"}));
  CHECK(tcp == ParseOutcome::kExitFailure);
  CHECK(tcp_err.find("--direct cannot be combined with FCGI_WEB_SERVER_ADDRS") != std::string::npos);
  auto [unix_only, unix_err] = parse_with_addrs(With(kDirect, {"--listen", "unix:/tmp/x.sock"}));
  CHECK(unix_only == ParseOutcome::kRun);
  CHECK(unix_err.empty());
}

TEST_CASE("options: direct = true in the config file, and its line in the error", "[options]") {
  test::TempDir dir;
  std::string file = dir.path() + "/fcgi-run.conf";
  {
    std::ofstream f(file);
    f << "mode = persistent\ndirect = true\ncommand = /srv/app\n";
  }
  Parsed p = Parse({"--config", file});
  REQUIRE(p.outcome == ParseOutcome::kRun);
  CHECK(p.config.direct);
  p = Parse({"--config", file, "--http", "127.0.0.1:8080"});
  CHECK(p.outcome == ParseOutcome::kExitFailure);
  CHECK(p.err.find(file + ":2: --direct cannot be combined with --http") != std::string::npos);
}

}  // namespace
}  // namespace fcgi
