// End-to-end: SIGHUP re-reads the config file (launcher/server.h, Reload):
// what can change without a restart applies to the next request (env, the
// program), a broken file keeps the running configuration and says why, and
// what needs a restart (a new --listen) is named and left as it runs. The
// program is examples/env.cgi, which prints its environment. Runs in every
// mode: in fork and persistent modes the programs' processes start afresh
// with the new environment.
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <string>

#include "tests/support/fcgi_run_server.h"
#include "tests/support/fcgi_test_client.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_paths.h"

namespace fcgi::test {
namespace {

// A config file in `dir` serving `program` with `extra` lines.
std::string WriteConfig(const TempDir& dir, const std::string& program, const std::string& extra) {
  return dir.WriteFile("app.conf",
                       "# rewritten by config_reload_test\n"
                       "log-level = notice\n"
                       "command = " +
                           program + "\n" + extra);
}

// The body of one request to the launcher's program.
std::string Body(const FcgiRun& app) {
  FcgiResponse r = RequestOnce(app.address(), {{"REQUEST_METHOD", "GET"}, {"SERVER_PROTOCOL", "HTTP/1.1"}});
  INFO(r.Describe() << "\nlauncher:\n" << app.Log());
  REQUIRE(r.ok());
  return SplitCgiResponse(r.stdout_data).body;
}

bool Has(const std::string& text, const std::string& needle) {
  return text.find(needle) != std::string::npos;
}

struct Reloadable {
  TempDir dir{"fcgi-run-reload"};
  std::string conf = WriteConfig(dir, Example("env.cgi"), "env = COLOR=red\n");
  FcgiRun app{[this] {
    FcgiRunOptions o;
    o.flags = {"--config", conf};  // no PROGRAM on the command line: the file's command
    return o;
  }()};
  // Sends SIGHUP and waits for the reload's result line (the n-th one).
  void Hup(int n) {
    app.process().Signal(SIGHUP);
    const std::string done = "SIGHUP: " + conf;
    REQUIRE(app.LogContains(done));
    for (int i = 0; i < 50 && Count(app.Log(), done) < n; ++i) usleep(100 * 1000);
    REQUIRE(Count(app.Log(), done) >= n);
  }
  static int Count(const std::string& text, const std::string& needle) {
    int n = 0;
    for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
    return n;
  }
};

TEST_CASE("config reload: SIGHUP applies an edited env to the next request", "[e2e][reload]") {
  Reloadable r;
  CHECK(Has(Body(r.app), "COLOR=red\n"));
  WriteConfig(r.dir, Example("env.cgi"), "env = COLOR=blue\n");
  r.Hup(1);
  const std::string log = r.app.Log();
  INFO(log);
  CHECK(Has(log, "notice: received SIGHUP: re-reading " + r.conf));  // signals are at notice
  CHECK(Has(log, "notice: SIGHUP: " + r.conf + " reloaded (changed: env)"));
  std::string body = Body(r.app);
  CHECK(Has(body, "COLOR=blue\n"));
  CHECK_FALSE(Has(body, "COLOR=red"));
}

TEST_CASE("config reload: a broken file keeps serving with the running configuration", "[e2e][reload]") {
  Reloadable r;
  WriteConfig(r.dir, Example("env.cgi"), "env = COLOR=blue\nworkerz = 3\ntimeout = soon\n");
  r.Hup(1);
  const std::string log = r.app.Log();
  INFO(log);
  CHECK(Has(log, "error: SIGHUP: " + r.conf + " not applied, keeping the running configuration: "));
  CHECK(Has(log, "unknown option 'workerz'; did you mean 'workers'?"));  // every error, in one line
  CHECK(Has(log, "--timeout 'soon': expected seconds"));
  CHECK(Has(Body(r.app), "COLOR=red\n"));
  // A missing program is refused the same way.
  WriteConfig(r.dir, r.dir.File("no-such.cgi"), "env = COLOR=blue\n");
  r.Hup(2);
  CHECK(r.app.LogContains("no-such.cgi"));
  CHECK(Has(Body(r.app), "COLOR=red\n"));
  // Mended, it applies.
  WriteConfig(r.dir, Example("env.cgi"), "env = COLOR=blue\n");
  r.Hup(3);
  CHECK(Has(Body(r.app), "COLOR=blue\n"));
}

TEST_CASE("config reload: a new program, and what needs a restart is named and kept", "[e2e][reload]") {
  Reloadable r;
  const std::string other_socket = r.dir.File("other.sock");
  WriteConfig(r.dir, Example("hello.cgi"), "env = COLOR=red\nlisten = unix:" + other_socket + "\n");
  r.Hup(1);
  const std::string log = r.app.Log();
  INFO(log);
  CHECK(Has(log, "reloaded (changed: PROGRAM; needs a restart to apply: listen)"));
  struct stat st;
  CHECK(stat(other_socket.c_str(), &st) != 0);  // not bound: it needs a restart
  CHECK(Body(r.app) == "Hello, world!\n");
  // Asked again, the restart-only change is still named.
  r.Hup(2);
  CHECK(Reloadable::Count(r.app.Log(), "needs a restart to apply: listen") == 2);
}

TEST_CASE("config reload: log level, workers and the status page apply without a restart", "[e2e][reload]") {
  Reloadable r;
  r.dir.WriteFile("app.conf", "log-level = debug\ncommand = " + Example("env.cgi") +
                                  "\nenv = COLOR=red\nworkers = 1\nstatus-path = /fcgi-status\n");
  r.Hup(1);
  const std::string log = r.app.Log();
  INFO(log);
  CHECK(Has(log, "reloaded (changed: log-level, status-path, workers)"));
  FcgiResponse status = RequestOnce(r.app.address(), {{"REQUEST_METHOD", "GET"},
                                                      {"SERVER_PROTOCOL", "HTTP/1.1"},
                                                      {"SCRIPT_NAME", "/fcgi-status"},
                                                      {"REMOTE_ADDR", "127.0.0.1"}});
  INFO(status.Describe());
  REQUIRE(status.ok());
  CHECK(Has(status.stdout_data, "worker slots:" + std::string(23 - 12, ' ') + "1\n"));
  // At debug level now: the request's own debug lines are logged.
  CHECK(Has(Body(r.app), "COLOR=red\n"));
  CHECK(r.app.LogContains("debug: "));
}

}  // namespace
}  // namespace fcgi::test
