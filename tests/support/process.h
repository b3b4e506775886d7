// Child processes for the end-to-end tests: long-running servers (Process) and
// one-shot commands whose output is collected (RunCommand).
//
// Every child: runs in its own process group, gets SIGKILL if the test process
// dies (PR_SET_PDEATHSIG), and inherits no descriptor other than 0, 1, 2 (all
// others are closed before exec, so a test's sockets never leak into servers
// and a leaked-fd check in a CGI program sees only what the launcher leaked).
#ifndef FCGI_RUN_TESTS_SUPPORT_PROCESS_H_
#define FCGI_RUN_TESTS_SUPPORT_PROCESS_H_

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace fcgi::test {

using Seconds = std::chrono::duration<double>;

struct ProcessOptions {
  std::vector<std::string> argv;         // argv[0] is the program (absolute or via PATH)
  std::vector<std::string> env;          // "NAME=VALUE"; the whole environment
  bool inherit_env = false;              // if true, env is added to the test's environment
  std::string cwd;                       // "" = the test's cwd
  std::string stdin_path = "/dev/null";  // file opened as stdin
  std::string stdout_path;               // "" = /dev/null; else created/truncated
  std::string stderr_path;               // "" = /dev/null; else created/truncated
  // A descriptor of the test to hand to the child as its fd 0 (e.g. a listening
  // socket); -1 = use stdin_path. The caller keeps ownership.
  int stdin_fd = -1;
};

// The environment to give servers: PATH and LANG=C only.
std::vector<std::string> MinimalEnv();

// A running child. Owns the process: destruction stops it (SIGTERM, then
// SIGKILL to its whole process group after a short bound) and reaps it.
class Process {
 public:
  // Spawns the child (fork+exec). Throws std::runtime_error if it cannot be
  // started (exec failure is reported through a close-on-exec pipe).
  explicit Process(const ProcessOptions& options);
  ~Process();
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  pid_t pid() const { return pid_; }
  // True until the child has exited (reaps it if it has).
  bool IsRunning();
  // Waits until the child exits or `timeout` passes. Returns the raw wait
  // status (use WIFEXITED etc.), or nullopt on timeout.
  std::optional<int> Wait(Seconds timeout);
  // SIGTERM to the child; after `grace`, SIGKILL to its process group. Returns
  // the wait status. Safe to call more than once.
  int Stop(Seconds grace = Seconds(5));
  // Sends `signal` to the child only.
  void Signal(int signal);
  // Wait status once the child has been reaped (nullopt while it runs).
  std::optional<int> exit_status() const { return status_; }

 private:
  pid_t pid_ = -1;
  std::optional<int> status_;
};

struct CommandResult {
  int status = -1;         // raw wait status; -1 if it could not run
  bool timed_out = false;  // killed because it ran longer than the timeout
  std::string out;         // everything written to stdout
  std::string err;         // everything written to stderr
  double seconds = 0;      // wall time
  bool Succeeded() const;  // exited with status 0, no timeout
  int ExitCode() const;    // WEXITSTATUS, or -1
};

// Runs argv to completion with `input` on stdin, collecting stdout and stderr.
// Killed (group SIGKILL) after `timeout`. Never throws for a failing command.
CommandResult RunCommand(const std::vector<std::string>& argv, const std::string& input = "",
                         Seconds timeout = Seconds(30), const std::vector<std::string>& env = MinimalEnv(),
                         const std::string& stdin_path = "");

// Human-readable wait status ("exit 3", "signal 11 (SIGSEGV)").
std::string DescribeWaitStatus(int status);

// A "KEY:  N kB" line of /proc/PID/status as N (VmRSS, RssAnon, VmHWM...);
// -1 when the process or the key is missing.
long ProcStatusKib(pid_t pid, const std::string& key);
inline long RssKib(pid_t pid) { return ProcStatusKib(pid, "VmRSS"); }

}  // namespace fcgi::test

#endif  // FCGI_RUN_TESTS_SUPPORT_PROCESS_H_
