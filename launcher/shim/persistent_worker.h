// PersistentWorker: one process of a persistent-mode pool. The CGI program is
// started with libcompat preloaded and FCGI_RUN_COMPAT_MODE=persistent, says
// HELLO from main(), and then runs main() once per RUN, one request at a time
// (libcompat/persistent_server.h). The request's "process" is the worker
// itself: the request starts when its RUN is sent (no STARTED), and a crash or
// a kill ends the worker, whose wait status is then the request's.
//
// Resident output: the worker's stdout and stderr pipes are made once (and
// again after the shim gave them up) and lent to each request in turn
// (program_output.h); a request without a body gets /dev/null as stdin. A
// request thus costs one RUN message and the REPORT+EXITED pair, no pipes.
//
// States: starting -> idle <-> busy -> (retired | dead). A worker is never
// reused after it was signalled, crashed, or was asked to retire.
//
// Ownership: owned by the PersistentRunner through shared_ptr; async handlers
// hold weak references. All callbacks run on the reactor thread. The process
// is this launcher's child (ChildWatcher); destroying the worker kills it.
#ifndef FCGI_RUN_LAUNCHER_SHIM_PERSISTENT_WORKER_H_
#define FCGI_RUN_LAUNCHER_SHIM_PERSISTENT_WORKER_H_

#include <sys/types.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <functional>
#include <memory>
#include <string>

#include "core/status.h"
#include "launcher/run/child_watcher.h"
#include "launcher/run/program_output.h"
#include "launcher/run/program_runner.h"
#include "launcher/run/spawner.h"
#include "launcher/shim/compat_channel.h"
#include "launcher/shim/parked_program.h"
#include "launcher/shim/shim_process.h"

namespace fcgi {

class PersistentWorker : public std::enable_shared_from_this<PersistentWorker>, public ShimProcess::Owner {
 public:
  using ReadyCallback = std::function<void()>;
  // The worker is gone (or unusable). `before_ready`: it never said HELLO
  // (a start-up failure, counted for the fallback). `why`: a log sentence.
  using GoneCallback = std::function<void(const std::string& why, bool before_ready)>;
  using ReportCallback = std::function<void(const CompatReport& report)>;

  PersistentWorker(boost::asio::io_context& io, Spawner& spawner, ParkSpec spec);
  PersistentWorker(const PersistentWorker&) = delete;
  PersistentWorker& operator=(const PersistentWorker&) = delete;
  ~PersistentWorker() override;

  Status Spawn(ReadyCallback on_ready, GoneCallback on_gone);

  // Ready for a RUN: not running one, and the last request gave the output back.
  bool idle() const { return ready() && !busy_ && !gone_ && !retiring_ && !output_lent_; }
  bool busy() const { return busy_; }
  bool gone() const { return gone_; }
  bool links_libstdcxx() const { return libstdcxx_; }
  // The shim refused to start the loop (threads at main()): every restart
  // would be refused the same way.
  bool refused_threads() const { return shim_.refused_threads(); }
  pid_t pid() const { return shim_.pid(); }
  uint64_t generation = 0;  // set by the runner: program version it was started for

  // Runs one request. REQUIRES: idle(). spec.stdout_fd and stderr_fd: -1 for
  // the worker's resident output (given to on_started), or the caller's pipes
  // for this run alone (borrowed; EOF once the request is over);
  // spec.stdin_fd: the body pipe's read end (borrowed) or -1 for /dev/null. Callbacks: on_started
  // once, before Run returns; then, if started, on_report (when the shim sent
  // one) and on_exit once (raw wait status: W_EXITCODE from the shim, or the
  // worker's own status when it died during the request). The worker is
  // idle again once the request returned the output, and then calls the
  // ReadyCallback again.
  void Run(const SpawnSpec& spec, ProgramRunner::StartedCallback on_started, ReportCallback on_report,
           ProgramRunner::ExitCallback on_exit);
  // Stops the running request the only safe way: signals the worker's process
  // group. The worker is not reused afterwards.
  void SignalRequest(int sig);
  // No more requests: SHUTDOWN now if idle, else right after the current one.
  void Retire();
  // SIGKILL the worker's process group.
  void Kill();

 private:
  // ShimProcess::Owner
  void OnShimHello(const CompatHello& hello) override;
  void OnShimFailed(const std::string& why) override { Fail(why); }
  void OnShimMessage(const CompatMessage& message) override;  // FAILED, REPORT, EXITED
  void OnShimExit(int raw_status) override;

  bool ready() const { return shim_.hello_received(); }  // it said HELLO
  void Fail(const std::string& why);
  void SendShutdown();
  void OnOutputReturned(bool clean);

  boost::asio::io_context& io_;
  ShimProcess shim_;  // the process, its control channel and its spec
  ReadyCallback on_ready_;
  GoneCallback on_gone_;
  ReportCallback on_report_;
  ProgramRunner::ExitCallback on_exit_;
  std::shared_ptr<ProgramOutput> output_;  // resident output; null until the first RUN
  bool output_lent_ = false;
  bool drop_output_ = false;  // the shim gave the pipes up: new ones for the next RUN
  uint64_t request_id_ = 0;
  bool busy_ = false;
  bool gone_ = false;
  bool retiring_ = false;
  bool shutdown_sent_ = false;
  bool libstdcxx_ = false;
};

}  // namespace fcgi

#endif  // FCGI_RUN_LAUNCHER_SHIM_PERSISTENT_WORKER_H_
