// DirectSupervisor: direct mode's pool (`fcgi-run --mode persistent --direct
// PROGRAM`). It keeps --workers DirectWorkers alive, each accepting on the
// launcher's listening sockets itself, and supervises them without seeing a
// request:
//   - a worker that RETIREs (a recycle limit, decided by the worker) is
//     logged ("recycling persistent worker pid P after R requests: REASON")
//     and replaced at once;
//   - a worker that dies is logged as a warning (its wait status, and whether
//     a request was running) and replaced;
//   - the sweep, every second: a request whose main() runs for --timeout or
//     longer (the slot's started_ns) gets its worker terminated (SIGTERM to
//     the process group, SIGKILL after --kill-grace) and replaced; the
//     program file changing on disk recycles every worker, as Recycle()
//     (SIGHUP) does: SHUTDOWN to the old ones (served between requests), new
//     ones started at once;
//   - start-up failures are retried with StartRetry's backoff; after
//     --park-retries in a row, or a refusal (threads at main()), the
//     supervisor gives up and calls on_fallback: the Server then accepts and
//     runs the program in exec mode, as without --direct.
//
// Ownership: owned by the Server, which owns the listening fds (borrowed
// here) and outlives it; all on the reactor thread. Destroying it kills every
// worker.
#ifndef FCGI_RUN_DIRECT_SUPERVISOR_H_
#define FCGI_RUN_DIRECT_SUPERVISOR_H_

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "launcher/core/metrics.h"
#include "launcher/direct_worker.h"
#include "launcher/file_stamp.h"
#include "launcher/options.h"
#include "launcher/start_retry.h"

namespace fcgi {

struct DirectSupervisorOptions {
  DirectWorkerSpec worker;  // park spec, DIRECT fields, listeners
  unsigned workers = 1;
  int max_failures = 3;
  std::chrono::milliseconds timeout{0};  // --timeout; 0 = none
  std::chrono::milliseconds kill_grace{5000};
  std::chrono::milliseconds sweep_interval{1000};
  Metrics* metrics = nullptr;  // runner events (may be null)
};

// The DIRECT fields that come from the options (stderr routing, limits; the
// read timeout is 30 s: connections have no other read timeout). The base
// environment, overrides, name and listener count are the caller's.
CompatDirectRequest DirectLimitsFromConfig(const Config& config);

// Whether `park.program` can run in persistent mode at all (persistent
// mode's pre-flight, CheckPersistentFit). When not, *why says why.
bool CanServeDirect(const ParkSpec& park, std::string* why);

class DirectSupervisor {
 public:
  using FallbackCallback = std::function<void(const std::string& why)>;

  DirectSupervisor(boost::asio::io_context& io, Spawner& spawner, DirectSupervisorOptions options,
                   FallbackCallback on_fallback);
  DirectSupervisor(const DirectSupervisor&) = delete;
  DirectSupervisor& operator=(const DirectSupervisor&) = delete;
  ~DirectSupervisor();

  // Starts the workers and the sweep.
  void Start();
  // Replaces every worker (SIGHUP, program change): SHUTDOWN to the old ones,
  // new ones started now.
  void Recycle(const std::string& why);
  // Graceful stop: SHUTDOWN to every worker, no replacements; on_all_gone
  // runs once every worker process has ended (maybe at once).
  void Shutdown(std::function<void()> on_all_gone);
  // SIGKILL every worker (--shutdown-timeout passed, or a second signal).
  void KillAll();
  // No worker process left.
  bool AllGone() const;
  // Workers serving (HELLO came, DIRECT sent) and not stopping.
  unsigned ServingWorkers() const;
  bool fell_back() const { return fell_back_; }

 private:
  void FillPool();
  void Sweep();
  void ArmSweep();
  void OnServing();
  void OnRetire(DirectWorker* w, const std::string& reason, uint64_t requests);
  void OnGone(DirectWorker* w, const std::string& why, bool before_serving, bool request_running,
              int raw_status);
  void FallBack(const std::string& why);
  // Moves `w` from members_ to retiring_ (no longer capacity; still watched).
  void Demote(DirectWorker* w);
  void Count(RunnerEvent event, const std::string& reason = "");
  void MaybeAllGone();

  boost::asio::io_context& io_;
  Spawner& spawner_;
  DirectSupervisorOptions options_;
  FallbackCallback on_fallback_;
  StartRetry retry_;
  boost::asio::steady_timer sweep_timer_;
  std::vector<std::shared_ptr<DirectWorker>> members_;   // starting or serving
  std::vector<std::shared_ptr<DirectWorker>> retiring_;  // retired, shut down or terminated; until they exit
  FileStamp stamp_;
  bool shutting_down_ = false;
  bool fell_back_ = false;
  std::function<void()> on_all_gone_;
};

}  // namespace fcgi

#endif  // FCGI_RUN_DIRECT_SUPERVISOR_H_
