// Metrics: the counters behind the status page (--status-path) that are not
// already in ServerCounters: per-mode runner events (programs started, parked
// processes / persistent workers started, park failures, fallbacks to exec,
// recycles by reason), responses by status class, slow requests, and the table
// of active requests shown by `?full`. Pure: no I/O, no clock (callers pass
// time points in). Owned by ServerContext; single-threaded like the reactor.
//
// Every counter is fed by a real event: CgiRequest (start, pid, end, status),
// the runners (fork_runner.cc, persistent_runner.cc) through RunnerEvent, and
// the slow-request timer.
#ifndef FCGI_RUN_CORE_METRICS_H_
#define FCGI_RUN_CORE_METRICS_H_

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace fcgi {

// What a runner reports besides request starts.
enum class RunnerEvent {
  kParkStarted,     // fork: a parked process started; persistent: a worker started
  kParkFailed,      // it died or failed before it was ready
  kFallbackToExec,  // the runner serves in exec mode from now on
  kRecycled,        // a parked process / worker replaced (reason key given)
};

struct ModeCounters {
  uint64_t starts = 0;                       // program runs started for requests (exec: spawns; fork: forks)
  uint64_t park_starts = 0;                  // RunnerEvent::kParkStarted
  uint64_t park_failures = 0;                // RunnerEvent::kParkFailed
  uint64_t fallbacks_to_exec = 0;            // RunnerEvent::kFallbackToExec
  std::map<std::string, uint64_t> recycles;  // reason key -> count
  uint64_t recycles_total() const;
};

// One request that has started and not finished.
struct ActiveRequestInfo {
  uint64_t id = 0;  // Metrics' own id (unique for the process lifetime)
  int pid = -1;     // -1 while queued or starting
  std::string program, mode, method, uri;
  std::chrono::steady_clock::time_point started{};
};

class Metrics {
 public:
  Metrics() = default;
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  // Active-request table. Begin returns the id to pass to the others.
  // EndRequest counts the response by status class; its id may be 0 or
  // unknown (a request never in the table, e.g. the status page itself).
  uint64_t BeginRequest(std::string program, std::string method, std::string uri,
                        std::chrono::steady_clock::time_point now);
  // The program started with `pid` in `mode` ("exec", "fork", "persistent"):
  // counts a start for that mode.
  void RequestStarted(uint64_t id, int pid, std::string_view mode);
  // The program chosen for the request (its path).
  void SetProgram(uint64_t id, std::string program);
  // `status`: the HTTP status the client got (0 = none). Call once per request.
  void EndRequest(uint64_t id, int status);
  void SlowRequest() { ++slow_requests_; }

  void OnRunnerEvent(std::string_view mode, RunnerEvent event, std::string_view reason_key = {});

  const std::map<uint64_t, ActiveRequestInfo>& active() const { return active_; }
  const std::map<std::string, ModeCounters>& modes() const { return modes_; }
  uint64_t slow_requests() const { return slow_requests_; }
  // Responses by status class: index 1..5 for 1xx..5xx, 0 for "none/other".
  uint64_t responses(int status_class) const;

 private:
  uint64_t next_id_ = 1;
  std::map<uint64_t, ActiveRequestInfo> active_;
  std::map<std::string, ModeCounters> modes_;
  uint64_t slow_requests_ = 0;
  uint64_t responses_[6] = {};
};

// A stable label for a recycle reason text, for counters: the reasons of
// RecyclePolicy ("a thread was left running ..." -> "thread_left",
// "exit_in_cxx", "max_rss", "fd_leak", "max_requests"), "sighup" (SIGHUP),
// "program_changed" (the file changed on disk), "worker_exited" (a persistent
// worker died between requests), else "other".
std::string RecycleReasonKey(std::string_view reason);

}  // namespace fcgi

#endif  // FCGI_RUN_CORE_METRICS_H_
