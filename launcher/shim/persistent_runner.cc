#include "launcher/shim/persistent_runner.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <deque>
#include <list>
#include <utility>

#include "core/base_environment.h"
#include "launcher/log/log.h"
#include "launcher/run/exec_runner.h"
#include "launcher/run/file_stamp.h"
#include "launcher/run/owned_spawn_spec.h"
#include "launcher/run/start_retry.h"
#include "launcher/shim/elf_inspector.h"
#include "launcher/shim/fork_runner.h"
#include "launcher/shim/persistent_worker.h"

namespace fcgi {

namespace {

// One request, shared by the ProgramRun the request holds and the callbacks.
struct RunState {
  pid_t pid = -1;
  bool exited = false;
  bool dropped = false;
  std::weak_ptr<PersistentWorker> worker;  // while it runs this request
  std::unique_ptr<ProgramRun> fallback_run;
};

class PersistentRun : public ProgramRun {
 public:
  explicit PersistentRun(std::shared_ptr<RunState> state) : state_(std::move(state)) {}
  ~PersistentRun() override {
    state_->dropped = true;
    if (state_->fallback_run) return;                                     // its own destructor stops it
    if (auto w = state_->worker.lock(); w && !state_->exited) w->Kill();  // must not outlive the request
  }
  void SignalGroup(int sig) override {
    if (state_->fallback_run) return state_->fallback_run->SignalGroup(sig);
    if (state_->exited) return;
    if (auto w = state_->worker.lock()) w->SignalRequest(sig);
  }
  pid_t pid() const override { return state_->fallback_run ? state_->fallback_run->pid() : state_->pid; }

 private:
  std::shared_ptr<RunState> state_;
};

struct Member {
  std::shared_ptr<PersistentWorker> worker;
  RecyclePolicy policy;
  std::string recycle_reason;  // decided from the last REPORT
};

class PersistentRunner : public ProgramRunner {
 public:
  PersistentRunner(boost::asio::io_context& io, Spawner& spawner, PersistentRunnerOptions options)
      : ProgramRunner(io),
        spawner_(spawner),
        options_(std::move(options)),
        retry_(io, options_.max_failures) {
    stamp_ = FileStamp::Of(options_.park.program);
    FillPool();
  }

  ~PersistentRunner() override {
    for (auto& m : members_) m->worker->Kill();
    for (auto& w : retiring_) w->Kill();
  }

  const char* mode_name() const override { return exec_ ? "exec" : "persistent"; }
  bool LendsOutput() const override { return !exec_; }

  WorkerCounts Workers() const override {
    WorkerCounts c;
    for (const auto& m : members_) {
      if (m->worker->idle()) ++c.idle;
      else if (!m->worker->busy() && !m->worker->gone()) ++c.starting;
    }
    return c;
  }

  void Recycle(const char* why) override {
    if (exec_ || shutting_down_) return;
    LogInfo(std::string("persistent mode: replacing the workers of ") + options_.park.program + ": " + why);
    stamp_ = FileStamp::Of(options_.park.program);
    retry_.ClearFailures();
    auto members = std::move(members_);
    members_.clear();
    for (auto& m : members) {
      Count(RunnerEvent::kRecycled, RecycleReasonKey(why));
      RetireWorker(m->worker);
    }
    FillPool();
  }

  void Shutdown() override {
    shutting_down_ = true;
    retry_.Cancel();
    for (auto& m : members_) m->worker->Retire();
    if (exec_) exec_->Shutdown();
  }

 protected:
  std::unique_ptr<ProgramRun> StartRun(const SpawnSpec& spec, StartedCallback on_started,
                                       ExitCallback on_exit) override {
    auto state = std::make_shared<RunState>();
    auto run = std::make_unique<PersistentRun>(state);
    if (exec_) {
      state->fallback_run = exec_->Start(spec, std::move(on_started), std::move(on_exit));
      return run;
    }
    if (!(FileStamp::Of(options_.park.program) == stamp_)) Recycle("program file changed on disk");
    if (Member* m = IdleMember()) {
      RunOn(*m, spec, state, std::move(on_started), std::move(on_exit));
      return run;
    }
    waiting_.push_back(Waiting{OwnedSpawnSpec(spec), state, std::move(on_started), std::move(on_exit)});
    FillPool();
    return run;
  }

 private:
  struct Waiting {
    OwnedSpawnSpec spec;
    std::shared_ptr<RunState> state;
    StartedCallback on_started;
    ExitCallback on_exit;
  };

  void Count(RunnerEvent event, const std::string& reason = "") {
    if (options_.metrics != nullptr) options_.metrics->OnRunnerEvent("persistent", event, reason);
  }

  Member* IdleMember() {
    for (auto& m : members_) {
      if (m->worker->idle()) return m.get();
    }
    return nullptr;
  }

  Member* Find(const PersistentWorker* w) {
    for (auto& m : members_) {
      if (m->worker.get() == w) return m.get();
    }
    return nullptr;
  }

  void RetireWorker(const std::shared_ptr<PersistentWorker>& w) {
    w->Retire();
    std::erase_if(retiring_, [](const std::shared_ptr<PersistentWorker>& r) { return r->gone(); });
    if (!w->gone()) retiring_.push_back(w);
  }

  // Starts workers until the pool is full (not during a start-up backoff).
  void FillPool() {
    while (!exec_ && !shutting_down_ && !retry_.pending() && members_.size() < options_.workers) {
      auto worker = std::make_shared<PersistentWorker>(io_, spawner_, options_.park);
      std::weak_ptr<PersistentWorker> weak = worker;
      members_.push_back(std::make_unique<Member>(Member{worker, RecyclePolicy(options_.limits), ""}));
      Status s = worker->Spawn([this]() { OnWorkerReady(); },
                               [this, weak](const std::string& why, bool before_ready) {
                                 OnWorkerGone(weak.lock().get(), why, before_ready);
                               });
      if (!s.ok()) {
        // Not startable at all (missing, not executable): retrying will not
        // help until a request asks again; fail the waiting requests now.
        members_.pop_back();
        LogError("persistent mode: cannot start " + options_.park.program + ": " + s.message());
        FailWaiting(s);
        return;
      }
      Count(RunnerEvent::kParkStarted);
    }
  }

  void OnWorkerReady() {
    retry_.ClearFailures();
    DispatchWaiting();
  }

  void OnWorkerGone(PersistentWorker* w, const std::string& why, bool before_ready) {
    std::erase_if(retiring_, [](const std::shared_ptr<PersistentWorker>& r) { return r->gone(); });
    auto it =
        std::find_if(members_.begin(), members_.end(), [w](const auto& m) { return m->worker.get() == w; });
    if (it == members_.end()) return;  // retired on purpose
    auto keep = (*it)->worker;
    members_.erase(it);
    if (shutting_down_) return;
    Count(before_ready ? RunnerEvent::kParkFailed : RunnerEvent::kRecycled,
          before_ready ? "" : "worker_exited");
    if (!before_ready) {
      LogWarning("persistent mode: " + options_.park.program + ": " + why + "; starting a new worker");
      FillPool();
      return;
    }
    if (w->refused_threads()) {  // deterministic: no retries, one log line (--persistent fallbacks)
      FallBack(why);
      return;
    }
    if (!retry_.Failed([this]() { FillPool(); })) {
      FallBack(why + " (" + std::to_string(retry_.failures()) + " failed starts in a row)");
      return;
    }
    LogWarning("persistent mode: " + why + "; starting a new worker in " +
               std::to_string(retry_.delay().count()) + " ms");
  }

  void FallBack(const std::string& why) {
    Count(RunnerEvent::kFallbackToExec);
    LogWarning("persistent mode: " + why + "; serving " + options_.park.program + " in exec mode");
    exec_ = MakeExecRunner(io_, spawner_);
    for (auto& m : members_) m->worker->Kill();
    members_.clear();
    DispatchWaiting();
  }

  void FailWaiting(const Status& s) {
    std::deque<Waiting> waiting;
    waiting.swap(waiting_);
    for (Waiting& w : waiting) {
      w.spec.Release();
      if (!w.state->dropped) w.on_started(s, -1, nullptr);
    }
  }

  void DispatchWaiting() {
    while (!waiting_.empty()) {
      Member* m = exec_ ? nullptr : IdleMember();
      if (!exec_ && m == nullptr) return;
      Waiting w = std::move(waiting_.front());
      waiting_.pop_front();
      if (!w.state->dropped) {
        if (exec_) {
          // Asked while this runner lent output: exec's Start makes the pipes.
          w.state->fallback_run = exec_->Start(w.spec.spec(), std::move(w.on_started), std::move(w.on_exit));
        } else {
          RunOn(*m, w.spec.spec(), w.state, std::move(w.on_started), std::move(w.on_exit));
        }
      }
    }
  }

  void RunOn(Member& m, const SpawnSpec& spec, const std::shared_ptr<RunState>& state,
             StartedCallback on_started, ExitCallback on_exit) {
    std::shared_ptr<PersistentWorker> worker = m.worker;
    state->worker = worker;
    m.recycle_reason.clear();
    std::weak_ptr<PersistentWorker> weak = worker;
    worker->Run(
        spec,
        [state, on_started = std::move(on_started)](const Status& s, pid_t pid,
                                                    std::shared_ptr<ProgramOutput> output) {
          state->pid = pid;
          if (!s.ok()) state->worker.reset();
          on_started(s, pid, std::move(output));
        },
        [this, weak](const CompatReport& report) { OnReport(weak.lock().get(), report); },
        [this, weak, state, on_exit = std::move(on_exit)](int raw_status) {
          state->exited = true;
          state->worker.reset();
          AfterRequest(weak.lock().get());
          on_exit(raw_status);
          boost::asio::post(io_, [this]() { DispatchWaiting(); });
        });
  }

  void OnReport(PersistentWorker* w, const CompatReport& r) {
    Member* m = Find(w);
    if (m == nullptr) return;
    RequestAftermath a = AftermathOf(r, w->links_libstdcxx());
    m->recycle_reason = m->policy.AfterRequest(a);
    if (Log::Enabled(LogLevel::kDebug) && r.flags != 0) {
      LogDebug("persistent mode: worker " + std::to_string(w->pid()) +
               " repaired: " + DescribeReportFlags(r.flags));
    }
    if (options_.on_report) options_.on_report(r, a, m->recycle_reason);
  }

  // After a request ended on worker `w` (REPORT already seen, if any).
  void AfterRequest(PersistentWorker* w) {
    Member* m = Find(w);
    if (m == nullptr || w->gone()) return;
    std::string reason = m->recycle_reason;
    if (reason.empty()) return;
    LogInfo("persistent mode: recycling worker " + std::to_string(w->pid()) + " of " + options_.park.program +
            ": " + reason);
    Count(RunnerEvent::kRecycled, RecycleReasonKey(reason));
    auto keep = m->worker;
    std::erase_if(members_, [w](const auto& x) { return x->worker.get() == w; });
    RetireWorker(keep);
    FillPool();
  }

  Spawner& spawner_;
  PersistentRunnerOptions options_;
  StartRetry retry_;                              // restarts after failed starts; the exec fallback
  std::vector<std::unique_ptr<Member>> members_;  // starting, idle or busy; not retiring
  std::vector<std::shared_ptr<PersistentWorker>> retiring_;
  std::deque<Waiting> waiting_;
  std::unique_ptr<ProgramRunner> exec_;  // set after the exec fallback
  FileStamp stamp_;
  bool shutting_down_ = false;
};

}  // namespace

PersistentFit CheckPersistentFit(const ParkSpec& park, std::string* why) {
  if (park.compat_library.empty()) {
    *why = "libfcgi-run-compat.so not found (give --compat-library)";
    return PersistentFit::kExec;
  }
  ParkCheck check = InspectForForkMode(park.program, SearchPathOf(park.env));
  if (!check.can_park) {
    *why = check.reason;
    return PersistentFit::kExec;
  }
  if (check.chain.size() > 1) {
    *why = park.program + " is a script (interpreter " + check.chain[1] + ")";
    return PersistentFit::kFork;
  }
  return PersistentFit::kPersistent;
}

std::unique_ptr<ProgramRunner> MakePersistentRunner(boost::asio::io_context& io, Spawner& spawner,
                                                    PersistentRunnerOptions options) {
  const std::string& program = options.park.program;
  std::string why;
  switch (CheckPersistentFit(options.park, &why)) {
    case PersistentFit::kExec: {
      if (options.metrics != nullptr)
        options.metrics->OnRunnerEvent("persistent", RunnerEvent::kFallbackToExec);
      LogWarning("persistent mode: " + why + "; serving " + program + " in exec mode");
      return MakeExecRunner(io, spawner);
    }
    case PersistentFit::kFork: {
      LogWarning("persistent mode: " + why +
                 ": interpreters do not survive main() running twice; serving it in fork mode");
      ForkRunnerOptions fo;
      fo.park = std::move(options.park);
      fo.max_failures = options.max_failures;
      fo.metrics = options.metrics;
      fo.park_scripts = options.park_scripts;
      return MakeForkRunner(io, spawner, std::move(fo));
    }
    case PersistentFit::kPersistent:
      break;
  }
  if (options.workers == 0) options.workers = 1;
  return std::make_unique<PersistentRunner>(io, spawner, std::move(options));
}

std::string DescribeReportFlags(uint32_t flags) {
  static const std::pair<uint32_t, const char*> kNames[] = {
      {compat::kReportExitIntercepted, "exit intercepted"},
      {compat::kReportOutputDiscarded, "_exit: buffered output discarded"},
      {compat::kReportEnvironChanged, "environment changed"},
      {compat::kReportSignalsRestored, "signal handlers restored"},
      {compat::kReportMaskRestored, "signal mask restored"},
      {compat::kReportTimerCancelled, "timer (alarm/setitimer) cancelled"},
      {compat::kReportCwdRestored, "working directory restored"},
      {compat::kReportUmaskRestored, "umask restored"},
      {compat::kReportStdinUnread, "unread stdin purged"},
      {compat::kReportSignalsDiscarded, "pending signals discarded"},
      {compat::kReportOutputReleased, "output pipes given up"},
      {compat::kReportChildrenLeft, "a process it started still runs"},
      {compat::kReportStdioReopened, "closed standard stream reopened"},
      {compat::kReportWorkerRetires, "the worker's own file descriptors closed"},
  };
  std::string out;
  for (const auto& [bit, name] : kNames) {
    if ((flags & bit) == 0) continue;
    if (!out.empty()) out += ", ";
    out += name;
  }
  return out;
}

RequestAftermath AftermathOf(const CompatReport& r, bool links_libstdcxx) {
  RequestAftermath a;
  a.worker_retires = (r.flags & compat::kReportWorkerRetires) != 0;
  a.exit_intercepted = (r.flags & compat::kReportExitIntercepted) != 0;
  a.links_libstdcxx = links_libstdcxx;
  a.threads = r.threads;
  a.open_fds = r.open_fds;
  a.baseline_fds = r.baseline_fds;
  a.rss_kib = r.rss_kib;
  a.requests = r.requests;
  return a;
}

}  // namespace fcgi
