// DirectWorker: one process of direct mode (--mode persistent --direct). The
// program starts under libcompat's persistent loop, as a PersistentWorker
// does, says HELLO, and then gets one DIRECT message (libcompat/
// control_protocol.h) with the FastCGI listening sockets, its supervision
// slot and the limits: from then on it accepts and answers connections
// itself (libcompat/direct_server.h) and the launcher sends it no RUN.
//
// What the launcher still sees: LOG lines (logged as "worker pid P: TEXT"
// at their level; the shim's text names the program and the request), RETIRE (a recycle limit was reached;
// BYE and exit 0 follow), the process's exit, and the slot: a memfd the worker writes and this class maps
// read-only, whose started_ns says since when a request's main() runs (0 between requests). DirectSupervisor
// reads it for --timeout.
//
// States: starting -> serving -> (retiring | terminating) -> gone. Never
// reused once it retired, was asked to shut down or was signalled.
//
// Ownership: owned by the DirectSupervisor through shared_ptr; async
// handlers hold weak references; all callbacks run on the reactor thread.
// The listening fds are borrowed (the Server owns them and outlives the worker); the slot memfd and
// its mapping are owned. Destroying the worker kills and reaps the process.
#ifndef FCGI_RUN_DIRECT_WORKER_H_
#define FCGI_RUN_DIRECT_WORKER_H_

#include <sys/types.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "launcher/compat_channel.h"
#include "launcher/core/status.h"
#include "launcher/shim_process.h"
#include "launcher/spawner.h"

namespace fcgi {

// What every worker of one program is given (DirectSupervisor builds it).
struct DirectWorkerSpec {
  ParkSpec park;
  CompatDirectRequest direct;  // limits, base env, overrides, name; listener_count = listeners.size()
  std::vector<int> listeners;  // borrowed FastCGI listening sockets
};

class DirectWorker : public std::enable_shared_from_this<DirectWorker> {
 public:
  struct Callbacks {
    std::function<void()> on_serving;  // HELLO came and DIRECT went out
    // RETIRE: the worker stops accepting and ends after this (reason: RecyclePolicy's sentence).
    std::function<void(const std::string& reason, uint64_t requests)> on_retire;
    // The process is gone (or given up before HELLO). before_serving: a
    // start-up failure (`why` says which). request_running: the slot showed
    // a request in main() when it ended. raw_status: -1 if not known yet.
    std::function<void(const std::string& why, bool before_serving, bool request_running, int raw_status)>
        on_gone;
  };

  DirectWorker(boost::asio::io_context& io, Spawner& spawner, const DirectWorkerSpec& spec);
  DirectWorker(const DirectWorker&) = delete;
  DirectWorker& operator=(const DirectWorker&) = delete;
  ~DirectWorker();

  // Creates the slot and spawns the program. Errors: memfd_create, ftruncate,
  // mmap, or ShimProcess::Spawn's.
  Status Spawn(Callbacks callbacks);

  // SHUTDOWN: the worker ends between requests (BYE, exit 0); a worker that
  // has not said HELLO yet is killed. Idempotent.
  void Shutdown();
  // SIGTERM to the worker's process group now, SIGKILL after `grace`.
  void Terminate(std::chrono::milliseconds grace);
  // SIGKILL to the worker's process group.
  void Kill();

  // CLOCK_MONOTONIC ns at which the running request's main() started, 0
  // between requests (and before the worker serves).
  uint64_t RequestStartedNs() const;
  uint64_t RequestsServed() const;

  bool serving() const { return serving_; }
  bool gone() const { return gone_; }
  // Asked to stop (RETIRE, SHUTDOWN or a signal): no longer counts as capacity.
  bool stopping() const { return retired_ || shutdown_sent_ || terminating_; }
  bool refused_threads() const { return refused_threads_; }
  pid_t pid() const { return shim_.pid(); }

 private:
  void WaitReadable();  // the control channel, through ShimProcess::WatchMessages
  void Dispatch(const CompatMessage& m);
  void SendDirect(bool links_libstdcxx);
  void Fail(const std::string& why);
  void OnProcessExit(int raw_status);

  boost::asio::io_context& io_;
  Spawner& spawner_;
  DirectWorkerSpec spec_;
  ShimProcess shim_;
  boost::asio::steady_timer kill_timer_;
  Callbacks callbacks_;
  int slot_fd_ = -1;            // until DIRECT carried it
  const void* slot_ = nullptr;  // compat::DirectSlot, mapped read-only
  bool serving_ = false;
  bool gone_ = false;
  bool retired_ = false;
  bool shutdown_sent_ = false;
  bool terminating_ = false;
  bool refused_threads_ = false;
};

}  // namespace fcgi

#endif  // FCGI_RUN_DIRECT_WORKER_H_
