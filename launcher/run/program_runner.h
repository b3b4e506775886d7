// ProgramRunner: how a request's program run is started, observed and
// signalled, whatever the mode. CgiRequest talks only to this interface:
//   exec mode  (exec_runner.cc)  Spawner (fork+exec per request) + ChildWatcher
//   fork mode  (fork_runner.cc)  a parked copy of the program forks per request
//                                (libcompat), falling back to exec when the
//                                program cannot be parked
//   persistent mode (persistent_runner.cc)  a pool of workers running main()
//                                again and again, lending their output pipes
// so timeouts, aborts and limits behave the same in every mode. Unit tests
// drive CgiRequest and Connection through FakeProgramRunner
// (tests/launcher/run/fake_program_runner.h), whose runs are no processes.
//
// Start() is asynchronous: `on_started` runs exactly once (possibly before
// Start returns) with the pid and the output pipes to read, or an error;
// after a successful start, `on_exit` runs exactly once with the raw wait
// status. Both run on the reactor thread. The stdio fds in `spec` are
// borrowed: a runner that needs them after Start returns duplicates them.
// Destroying the returned ProgramRun (null when the start failed at once)
// before on_exit kills the program's process group.
//
// Who makes a run's output pipes is decided in one place, Start(): the
// caller's own (spec.stdout_fd and stderr_fd set: fcgi-run --check), else
// the runner's workers' resident ones (LendsOutput), else new pipes made
// there for this run. A request thus never makes output pipes itself. When
// those pipes (or /dev/null) cannot be made, on_started gets a
// kOutOfResources status and nothing runs.
#ifndef FCGI_RUN_LAUNCHER_RUN_PROGRAM_RUNNER_H_
#define FCGI_RUN_LAUNCHER_RUN_PROGRAM_RUNNER_H_

#include <sys/types.h>

#include <boost/asio/io_context.hpp>
#include <functional>
#include <memory>
#include <string>

#include "core/status.h"
#include "launcher/run/program_output.h"
#include "launcher/run/spawner.h"

namespace fcgi {

class ProgramRun {
 public:
  virtual ~ProgramRun() = default;
  // Signals the program's process group (no-op once it exited).
  virtual void SignalGroup(int sig) = 0;
  virtual pid_t pid() const = 0;
};

// Long-lived processes of a runner, for the status page (busy programs are
// counted from the active requests, not here).
struct WorkerCounts {
  unsigned starting = 0;  // parked process / persistent worker not ready yet
  unsigned idle = 0;      // persistent workers waiting for a request
  unsigned parked = 0;    // fork mode: a parked process ready to fork
  unsigned compiled = 0;  // of `parked`: a script parked after its compilation
};

class ProgramRunner {
 public:
  // `output`: the pipes to read; null when the run writes into the caller's
  // pipes (spec.stdout_fd set) or did not start.
  using StartedCallback =
      std::function<void(const Status& status, pid_t pid, std::shared_ptr<ProgramOutput> output)>;
  using ExitCallback = std::function<void(int raw_status)>;

  explicit ProgramRunner(boost::asio::io_context& io) : io_(io) {}
  ProgramRunner(const ProgramRunner&) = delete;
  ProgramRunner& operator=(const ProgramRunner&) = delete;
  virtual ~ProgramRunner() = default;

  // Starts one run of spec.path. spec.stdout_fd and stderr_fd: the caller's
  // pipes, or both -1 (the usual case): see the output rule above.
  // spec.stdin_fd: required, except that -1 means /dev/null (a request
  // without a body, LendsOutput).
  std::unique_ptr<ProgramRun> Start(const SpawnSpec& spec, StartedCallback on_started, ExitCallback on_exit);
  // Mode actually used for the last start ("exec" or "fork"), for logs.
  virtual const char* mode_name() const = 0;
  // SIGHUP / program changed: replace long-lived processes (no-op in exec mode).
  virtual void Recycle(const char* why) = 0;
  // Graceful stop: no more starts; let long-lived helpers go.
  virtual void Shutdown() = 0;
  // For the status page; exec mode keeps nothing between requests.
  virtual WorkerCounts Workers() const { return {}; }
  // True when the runner's workers lend their resident output pipes
  // (persistent mode, program_output.h) instead of new pipes per run; such a
  // runner also takes spec.stdin_fd = -1 as /dev/null, so that a request
  // without a body costs no pipe at all.
  virtual bool LendsOutput() const { return false; }

 protected:
  // The runner's own start. `spec` has all three stdio fds, except that with
  // LendsOutput() stdout_fd and stderr_fd may be -1 (the runner lends its
  // own: on_started brings them) and stdin_fd -1 means /dev/null.
  virtual std::unique_ptr<ProgramRun> StartRun(const SpawnSpec& spec, StartedCallback on_started,
                                               ExitCallback on_exit) = 0;

  boost::asio::io_context& io_;
};

}  // namespace fcgi

#endif  // FCGI_RUN_LAUNCHER_RUN_PROGRAM_RUNNER_H_
