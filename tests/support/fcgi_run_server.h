// FcgiRun: the fcgi-run binary under test, started as a child listening on a
// unix socket in its own temp dir (or on TCP), ready when the socket accepts.
//
// Modes: TestMode() is FCGI_RUN_TEST_MODE from the environment (default
// "exec") and is passed as --mode, so the same suites re-run for the fork and
// persistent modes.
// Stand-in: with FCGI_RUN_TEST_STANDIN=fcgiwrap the harness starts fcgiwrap
// instead (it picks the program from SCRIPT_FILENAME, which every test sends),
// to validate the harness and examples independently of fcgi-run.
#ifndef FCGI_RUN_TESTS_SUPPORT_FCGI_RUN_SERVER_H_
#define FCGI_RUN_TESTS_SUPPORT_FCGI_RUN_SERVER_H_

#include <memory>
#include <string>
#include <vector>

#include "tests/support/process.h"
#include "tests/support/temp_dir.h"

namespace fcgi::test {

// "exec" unless FCGI_RUN_TEST_MODE says otherwise.
std::string TestMode();
// "" (the real fcgi-run) or the stand-in's name from FCGI_RUN_TEST_STANDIN.
std::string StandIn();

struct FcgiRunOptions {
  std::string program;                    // absolute path, e.g. Example("hello.cgi"); "" = dispatcher mode
  std::vector<std::string> program_args;  // after PROGRAM
  // "unix" (socket in the temp dir), "tcp" (free port on 127.0.0.1), "tcp6"
  // (free port on ::1), "fd0" (no --listen: a listening unix socket made by
  // the harness is the launcher's fd 0, as spawn-fcgi and mod_fcgid do), or a
  // full --listen address.
  std::string listen = "unix";
  std::string socket_mode;  // --socket-mode, "" = fcgi-run's default
  int workers = 0;          // --workers N, 0 = default
  int queue = -1;           // --queue N, -1 = default
  // More options, e.g. {"--stderr", "log"}. Run as root, --allow-root is
  // added unless flags hold --allow-root, --user or --program-user.
  std::vector<std::string> flags;
  std::vector<std::string> launcher_env;  // the launcher's environment beyond MinimalEnv()
  bool pass_mode = true;                  // add --mode TestMode()
  Seconds ready_timeout = Seconds(10);
  // When set: the launcher's arguments after the binary, exactly (a command
  // line taken from the docs); the harness adds nothing, and `listen` must be
  // the full address the command listens on (readiness is polled there).
  std::vector<std::string> command;
};

class FcgiRun {
 public:
  // Starts the launcher and waits until its socket accepts a connection.
  // Throws std::runtime_error (with the launcher's stderr) if it does not.
  explicit FcgiRun(FcgiRunOptions options);
  ~FcgiRun();
  FcgiRun(const FcgiRun&) = delete;
  FcgiRun& operator=(const FcgiRun&) = delete;

  // The address it listens on, in --listen syntax ("unix:/tmp/.../fcgi.sock").
  const std::string& address() const { return address_; }
  const std::vector<std::string>& argv() const { return argv_; }
  const std::string& program() const { return options_.program; }
  // Everything the launcher wrote to stderr so far.
  std::string Log() const { return ReadFile(dir_.File("fcgi-run.log")); }
  // True once the log contains `needle`, polling up to `timeout`: the launcher may
  // write a line just after the response it concerns. Use this, not Log().find(),
  // for lines that must appear; Log() alone for lines that must not.
  bool LogContains(const std::string& needle, Seconds timeout = Seconds(5)) const;
  Process& process() { return *process_; }
  const TempDir& dir() const { return dir_; }
  // SIGTERM, then SIGKILL after `grace`; returns the wait status.
  int Stop(Seconds grace = Seconds(5)) { return process_->Stop(grace); }

 private:
  FcgiRunOptions options_;
  TempDir dir_;
  std::string address_;
  std::vector<std::string> argv_;
  std::unique_ptr<Process> process_;
};

// Runs `cgi-fcgi -bind -connect <address>` with `env` ("NAME=VALUE", these
// become the FastCGI params) and `input` as the request body.
CommandResult CgiFcgi(const std::string& address, const std::vector<std::string>& env,
                      const std::string& input = "", Seconds timeout = Seconds(30));

// A raw CGI response (what cgi-fcgi prints): header lines, blank line, body.
struct CgiOutput {
  bool ok = false;  // a blank line ended the header block
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::string Header(const std::string& name) const;  // case-insensitive, "" if none
};
CgiOutput ParseCgiOutput(const std::string& raw);

}  // namespace fcgi::test

#endif  // FCGI_RUN_TESTS_SUPPORT_FCGI_RUN_SERVER_H_
