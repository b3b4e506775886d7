// ParkedProgram: one copy of a CGI program started with libcompat preloaded,
// parked at main() (or, for a Perl or Python script, after its compilation:
// launcher/shim/script_park.h), and asked over the control channel to fork a child
// per request (fork mode). See core/control_protocol.h for the protocol.
//
// The parked process is this launcher's child (watched with ChildWatcher);
// request children are its children, reported through STARTED/EXITED. If the
// parked process dies, its children die too (PR_SET_PDEATHSIG) and every run
// that started is reported as exited with SIGKILL. A run it never answered
// (RUN sent, neither STARTED nor FAILED before the process was found gone:
// its exit seen or its control channel closed) is reported lost (LostCallback)
// when the caller gave one: no program was started for it by this process.
// What the process sent before it died is read first, so a run it did answer
// is never taken for lost.
//
// Ownership: owned by ForkRunner through shared_ptr; async handlers hold weak
// or shared references, so destroying it (after Shutdown or Kill) is safe at
// any point. The callbacks run on the reactor thread.
#ifndef FCGI_RUN_LAUNCHER_SHIM_PARKED_PROGRAM_H_
#define FCGI_RUN_LAUNCHER_SHIM_PARKED_PROGRAM_H_

#include <sys/types.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "launcher/run/child_watcher.h"
#include "launcher/run/program_runner.h"
#include "launcher/run/spawner.h"
#include "launcher/shim/shim_process.h"

namespace fcgi {

class ParkedProgram : public std::enable_shared_from_this<ParkedProgram>, public ShimProcess::Owner {
 public:
  using ReadyCallback = std::function<void()>;
  // The parked process is unusable (no HELLO in time, REFUSED, died, channel
  // error). `why` is a log-ready sentence.
  using FailedCallback = std::function<void(const std::string& why)>;
  // A run the process never answered before it was found gone (`why`: a
  // log-ready sentence). Runs instead of the run's StartedCallback.
  using LostCallback = std::function<void(const std::string& why)>;

  ParkedProgram(boost::asio::io_context& io, Spawner& spawner, ParkSpec spec);
  ParkedProgram(const ParkedProgram&) = delete;
  ParkedProgram& operator=(const ParkedProgram&) = delete;
  ~ParkedProgram() override;

  Status Spawn(ReadyCallback on_ready, FailedCallback on_failed);
  bool ready() const { return shim_.hello_received() && !dead_ && !gone_; }
  bool dead() const { return dead_; }
  // HELLO arrived at some point (false: it never parked).
  bool hello_received() const { return shim_.hello_received(); }
  // A script parked after its compilation (script_park.h), not at main().
  bool after_compilation() const { return !shim_.spec().script.empty(); }
  pid_t pid() const { return shim_.pid(); }
  size_t running() const { return runs_.size(); }

  // Asks for one request child. REQUIRES: ready(). The stdio fds are borrowed
  // (duplicated if the message must wait for the socket). Returns the run's
  // id, or 0 when the RUN could not be handed over at all because the parked
  // process is gone (the control channel refused it: it died and its exit is
  // not processed yet). Then nothing was started, no callback will ever run,
  // the process is failed (FailedCallback; at the latest once the control
  // messages being dispatched are done), and the caller may give the request
  // to another parked process. `on_lost` (may be empty: then on_started gets
  // the error): see LostCallback; after it, no other callback of the run runs.
  uint64_t Run(const SpawnSpec& spec, ProgramRunner::StartedCallback on_started,
               ProgramRunner::ExitCallback on_exit, LostCallback on_lost = {});
  // Signals a running child's process group (through the shim, which knows
  // whether that pid is still its unreaped child).
  void Signal(uint64_t request_id, int sig);
  // Drain: no more Run; the parked process exits once its children did.
  void Shutdown();
  // Hard stop: SIGKILL the parked process (its children die with it).
  void Kill();

 private:
  struct PendingRun {
    ProgramRunner::StartedCallback on_started;
    ProgramRunner::ExitCallback on_exit;
    LostCallback on_lost;
    bool started = false;
  };
  struct Outgoing {
    std::string message;
    std::vector<int> fds;  // owned (closed after sending)
  };

  // ShimProcess::Owner
  void OnShimHello(const CompatHello& hello) override;
  void OnShimFailed(const std::string& why) override { Fail(why); }
  void OnShimMessage(const CompatMessage& message) override;  // STARTED, FAILED, EXITED
  void OnShimMessagesRead() override;
  void OnShimChannelClosed() override;
  void OnShimExit(int raw_status) override;

  void Send(std::string message, const int* fds, size_t nfds);
  void FlushOutgoing();
  // `process_gone`: the process died or closed its channel (runs it never
  // answered are lost, see LostCallback); else it is given up (they fail).
  void Fail(const std::string& why, bool process_gone = false);
  // The process was found gone: reads what it sent before
  // (ShimProcess::ReadQueued), then Fail(why, true); deferred to the end of
  // the batch of messages being handed over when called from within it.
  void Gone(const std::string& why);
  // Script park: logs what the script wrote to stderr (while compiling, or
  // the shim since), one warning line per line.
  void LogCompileOutput();

  ShimProcess shim_;  // the process, its control channel and its spec
  ReadyCallback on_ready_;
  FailedCallback on_failed_;
  bool dead_ = false;
  bool shutting_down_ = false;
  bool write_wait_ = false;
  bool gone_ = false;  // found gone; Fail pending until the messages in hand are handed over
  std::string gone_why_;
  uint64_t next_id_ = 1;
  std::map<uint64_t, PendingRun> runs_;
  std::deque<Outgoing> outgoing_;
};

}  // namespace fcgi

#endif  // FCGI_RUN_LAUNCHER_SHIM_PARKED_PROGRAM_H_
