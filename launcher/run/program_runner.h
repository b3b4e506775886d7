// ProgramRunner: how a request's program run is started, observed and
// signalled, whatever the mode. CgiRequest talks only to this interface:
//   exec mode  (exec_runner.cc)  Spawner (fork+exec per request) + ChildWatcher
//   fork mode  (fork_runner.cc)  a parked copy of the program forks per request
//                                (libcompat), falling back to exec when the
//                                program cannot be parked
// so timeouts, aborts and limits behave the same in every mode.
//
// Start() is asynchronous: `on_started` runs exactly once (possibly before
// Start returns) with the pid or an error (and, see SuppliesOutput, maybe
// the output pipes); after a successful start,
// `on_exit` runs exactly once with the raw wait status. Both run on the
// reactor thread. The stdio fds in `spec` are borrowed: a runner that needs
// them after Start returns duplicates them. Destroying the returned
// ProgramRun before on_exit kills the program's process group.
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
  // `output`: null when the run writes into the caller's pipes (SpawnSpec);
  // else the pipes to read (see SuppliesOutput).
  using StartedCallback =
      std::function<void(const Status& status, pid_t pid, std::shared_ptr<ProgramOutput> output)>;
  using ExitCallback = std::function<void(int raw_status)>;

  virtual ~ProgramRunner() = default;
  virtual std::unique_ptr<ProgramRun> Start(const SpawnSpec& spec, StartedCallback on_started,
                                            ExitCallback on_exit) = 0;
  // Mode actually used for the last start ("exec" or "fork"), for logs.
  virtual const char* mode_name() const = 0;
  // SIGHUP / program changed: replace long-lived processes (no-op in exec mode).
  virtual void Recycle(const char* why) = 0;
  // Graceful stop: no more starts; let long-lived helpers go.
  virtual void Shutdown() = 0;
  // For the status page; exec mode keeps nothing between requests.
  virtual WorkerCounts Workers() const { return {}; }
  // True when Start() provides the output pipes itself (persistent mode's
  // resident output, program_output.h): the caller then passes
  // spec.stdout_fd = spec.stderr_fd = -1, may pass spec.stdin_fd = -1 for a
  // request without a body (stdin is /dev/null), and reads the ProgramOutput
  // that on_started brings. False: every stdio fd in spec is required.
  virtual bool SuppliesOutput() const { return false; }
};

}  // namespace fcgi

#endif  // FCGI_RUN_LAUNCHER_RUN_PROGRAM_RUNNER_H_
