#include "launcher/direct_supervisor.h"

#include <time.h>

#include <algorithm>
#include <limits>
#include <utility>

#include "launcher/child_watcher.h"
#include "launcher/core/recycle_policy.h"
#include "launcher/log.h"
#include "launcher/persistent_runner.h"  // CheckPersistentFit

namespace fcgi {

namespace {

constexpr uint32_t kDirectReadTimeoutMs = 30000;

uint32_t Clamp32(uint64_t v) {
  return static_cast<uint32_t>(std::min<uint64_t>(v, std::numeric_limits<uint32_t>::max()));
}

uint64_t MonotonicNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

std::string Seconds(std::chrono::milliseconds ms) {
  std::string s = std::to_string(static_cast<double>(ms.count()) / 1000);
  s.erase(s.find_last_not_of('0') + 1);  // "2.500000" -> "2.5", "60.000000" -> "60."
  if (!s.empty() && s.back() == '.') s.pop_back();
  return s;
}

}  // namespace

CompatDirectRequest DirectLimitsFromConfig(const Config& config) {
  CompatDirectRequest d;
  switch (config.stderr_mode) {
    case StderrMode::kFcgi:
      d.flags = compat::kDirectStderrToClient;
      break;
    case StderrMode::kLog:
      d.flags = compat::kDirectStderrToLog;
      break;
    case StderrMode::kBoth:
      d.flags = compat::kDirectStderrToClient | compat::kDirectStderrToLog;
      break;
    case StderrMode::kDiscard:
      d.flags = 0;
      break;
  }
  d.max_params_bytes = Clamp32(config.max_params_bytes);
  d.max_body_bytes = config.max_body;
  d.max_header_bytes = Clamp32(config.max_header_bytes);
  d.read_timeout_ms = kDirectReadTimeoutMs;
  RecycleLimits defaults;
  d.max_requests = config.max_requests;
  d.max_rss_kib = Clamp32(config.max_rss_mib * 1024);
  d.fd_growth_requests = defaults.fd_growth_requests;
  d.max_extra_fds = defaults.max_extra_fds;
  return d;
}

bool CanServeDirect(const ParkSpec& park, std::string* why) {
  return CheckPersistentFit(park, why) == PersistentFit::kPersistent;
}

DirectSupervisor::DirectSupervisor(boost::asio::io_context& io, Spawner& spawner,
                                   DirectSupervisorOptions options, FallbackCallback on_fallback)
    : io_(io),
      spawner_(spawner),
      options_(std::move(options)),
      on_fallback_(std::move(on_fallback)),
      retry_(io, options_.max_failures),
      sweep_timer_(io) {
  if (options_.workers == 0) options_.workers = 1;
}

DirectSupervisor::~DirectSupervisor() {
  for (auto& w : members_) w->Kill();
  for (auto& w : retiring_) w->Kill();
}

void DirectSupervisor::Start() {
  stamp_ = FileStamp::Of(options_.worker.park.program);
  FillPool();
  ArmSweep();
}

void DirectSupervisor::Count(RunnerEvent event, const std::string& reason) {
  if (options_.metrics != nullptr) options_.metrics->OnRunnerEvent("persistent", event, reason);
}

void DirectSupervisor::FillPool() {
  while (!fell_back_ && !shutting_down_ && !retry_.pending() && members_.size() < options_.workers) {
    auto worker = std::make_shared<DirectWorker>(io_, spawner_, options_.worker);
    std::weak_ptr<DirectWorker> weak = worker;
    members_.push_back(worker);
    DirectWorker::Callbacks cb;
    cb.on_serving = [this]() { OnServing(); };
    cb.on_retire = [this, weak](const std::string& reason, uint64_t requests) {
      if (auto w = weak.lock()) OnRetire(w.get(), reason, requests);
    };
    cb.on_gone = [this, weak](const std::string& why, bool before_serving, bool running, int raw_status) {
      if (auto w = weak.lock()) OnGone(w.get(), why, before_serving, running, raw_status);
    };
    Status s = worker->Spawn(std::move(cb));
    if (!s.ok()) {
      // Not startable at all (fd or memory exhaustion, spawn failure): count
      // it as a failed start, so that the backoff paces the next attempt.
      members_.pop_back();
      LogError("direct mode: cannot start " + options_.worker.park.program + ": " + s.message());
      if (!retry_.Failed([this]() { FillPool(); })) FallBack(s.message());
      return;
    }
    Count(RunnerEvent::kParkStarted);
  }
}

void DirectSupervisor::OnServing() { retry_.ClearFailures(); }

void DirectSupervisor::Demote(DirectWorker* w) {
  auto it = std::find_if(members_.begin(), members_.end(), [w](const auto& m) { return m.get() == w; });
  if (it == members_.end()) return;
  if (!(*it)->gone()) retiring_.push_back(*it);
  members_.erase(it);
}

void DirectSupervisor::OnRetire(DirectWorker* w, const std::string& reason, uint64_t requests) {
  LogInfo("recycling persistent worker pid " + std::to_string(w->pid()) + " after " +
          std::to_string(requests) + " requests: " + reason);
  Count(RunnerEvent::kRecycled, RecycleReasonKey(reason));
  Demote(w);
  FillPool();
}

void DirectSupervisor::OnGone(DirectWorker* w, const std::string& why, bool before_serving,
                              bool request_running, int /*raw_status*/) {
  auto keep_it =
      std::find_if(retiring_.begin(), retiring_.end(), [w](const auto& r) { return r.get() == w; });
  if (keep_it != retiring_.end()) {  // expected: it retired, was shut down or terminated
    LogDebug("direct mode: " + options_.worker.park.program + ": " + why);
    auto keep = *keep_it;
    retiring_.erase(keep_it);
    MaybeAllGone();
    return;
  }
  auto it = std::find_if(members_.begin(), members_.end(), [w](const auto& m) { return m.get() == w; });
  if (it == members_.end()) return;
  auto keep = *it;
  members_.erase(it);
  if (shutting_down_ || fell_back_) {
    MaybeAllGone();
    return;
  }
  if (!before_serving) {
    Count(RunnerEvent::kRecycled, "worker_exited");
    LogWarning("direct mode: " + options_.worker.park.program + ": " + why +
               (request_running ? " while a request was running" : " between requests") +
               "; starting a new worker");
    FillPool();
    return;
  }
  Count(RunnerEvent::kParkFailed);
  if (w->refused_threads()) {  // deterministic: no retries
    FallBack(why);
    return;
  }
  if (!retry_.Failed([this]() { FillPool(); })) {
    FallBack(why + " (" + std::to_string(retry_.failures()) + " failed starts in a row)");
    return;
  }
  LogWarning("direct mode: " + why + "; starting a new worker in " + std::to_string(retry_.delay().count()) +
             " ms");
}

void DirectSupervisor::FallBack(const std::string& why) {
  if (fell_back_) return;
  fell_back_ = true;
  Count(RunnerEvent::kFallbackToExec);
  retry_.Cancel();
  sweep_timer_.cancel();
  for (auto& w : members_) {
    w->Kill();
    if (!w->gone()) retiring_.push_back(w);
  }
  members_.clear();
  if (on_fallback_) on_fallback_(why);
}

void DirectSupervisor::Recycle(const std::string& why) {
  if (fell_back_ || shutting_down_) return;
  LogInfo("direct mode: replacing the workers of " + options_.worker.park.program + ": " + why);
  stamp_ = FileStamp::Of(options_.worker.park.program);
  retry_.ClearFailures();
  retry_.Cancel();
  auto members = std::move(members_);
  members_.clear();
  for (auto& w : members) {
    Count(RunnerEvent::kRecycled, RecycleReasonKey(why));
    w->Shutdown();
    if (!w->gone()) retiring_.push_back(w);
  }
  FillPool();
}

void DirectSupervisor::ArmSweep() {
  sweep_timer_.expires_after(options_.sweep_interval);
  sweep_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec || shutting_down_ || fell_back_) return;
    Sweep();
    ArmSweep();
  });
}

void DirectSupervisor::Sweep() {
  if (options_.timeout.count() > 0) {
    const uint64_t now = MonotonicNs();
    const uint64_t limit = static_cast<uint64_t>(options_.timeout.count()) * 1000000ull;
    std::vector<DirectWorker*> overdue;
    for (auto& w : members_) {
      uint64_t started = w->RequestStartedNs();
      if (started != 0 && now > started && now - started >= limit) overdue.push_back(w.get());
    }
    for (DirectWorker* w : overdue) {
      LogWarning(options_.worker.park.program + ": request still running after " + Seconds(options_.timeout) +
                 " s (--timeout): terminating worker pid " + std::to_string(w->pid()));
      Count(RunnerEvent::kRecycled, "timeout");
      w->Terminate(options_.kill_grace);
      Demote(w);
    }
    if (!overdue.empty()) FillPool();
  }
  if (!(FileStamp::Of(options_.worker.park.program) == stamp_)) Recycle("program file changed on disk");
}

void DirectSupervisor::Shutdown(std::function<void()> on_all_gone) {
  shutting_down_ = true;
  on_all_gone_ = std::move(on_all_gone);
  retry_.Cancel();
  sweep_timer_.cancel();
  for (auto& w : members_) {
    w->Shutdown();
    if (!w->gone()) retiring_.push_back(w);
  }
  members_.clear();
  for (auto& w : retiring_) w->Shutdown();
  MaybeAllGone();
}

void DirectSupervisor::KillAll() {
  for (auto& w : members_) w->Kill();
  for (auto& w : retiring_) w->Kill();
}

bool DirectSupervisor::AllGone() const {
  auto gone = [](const auto& w) { return w->gone(); };
  return std::all_of(members_.begin(), members_.end(), gone) &&
         std::all_of(retiring_.begin(), retiring_.end(), gone);
}

unsigned DirectSupervisor::ServingWorkers() const {
  return static_cast<unsigned>(std::count_if(members_.begin(), members_.end(),
                                             [](const auto& w) { return w->serving() && !w->stopping(); }));
}

void DirectSupervisor::MaybeAllGone() {
  if (!shutting_down_ || !on_all_gone_ || !AllGone()) return;
  auto cb = std::move(on_all_gone_);
  on_all_gone_ = nullptr;
  cb();
}

}  // namespace fcgi
