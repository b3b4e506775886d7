// RecyclePolicy: when a persistent-mode worker must be replaced after a
// request (never during one). Pure: it sees what the shim reported
// (core/control_protocol.h REPORT) and answers with a reason or nothing.
//
// Reasons, in the order they are checked:
//   - the shim said the worker cannot serve again (the request closed fds
//     the worker needs to put itself back in order);
//   - a thread still running after the request (it would run on, unrestored);
//   - exit()/_exit() intercepted in a program that links libstdc++ (locks
//     held by scopes the exit skipped stay held: a deadlock waits next time);
//   - --max-rss exceeded;
//   - the open fd count grew after `fd_growth_requests` requests in a row, or
//     exceeds the baseline by more than `max_extra_fds` (a leak; one lazily
//     opened log file grows it once and then stays flat, so it is tolerated);
//   - --max-requests reached.
// One RecyclePolicy per worker (it remembers the previous fd count).
#ifndef FCGI_RUN_CORE_RECYCLE_POLICY_H_
#define FCGI_RUN_CORE_RECYCLE_POLICY_H_

#include <cstdint>
#include <string>

namespace fcgi {

struct RecycleLimits {
  uint32_t max_requests = 500;  // 0 = no limit
  uint64_t max_rss_kib = 0;     // 0 = no limit
  uint32_t fd_growth_requests = 3;
  uint32_t max_extra_fds = 64;
};

// What one request left behind, as the shim measured it after restoring.
struct RequestAftermath {
  bool worker_retires = false;  // REPORT flag kReportWorkerRetires
  bool exit_intercepted = false;
  bool links_libstdcxx = false;  // from HELLO
  uint32_t threads = 1;
  uint32_t open_fds = 0;
  uint32_t baseline_fds = 0;
  uint32_t rss_kib = 0;
  uint32_t requests = 0;  // served by this worker so far, this one included
};

class RecyclePolicy {
 public:
  explicit RecyclePolicy(RecycleLimits limits) : limits_(limits) {}
  // Returns "" to keep the worker, else a log-ready reason
  // ("a thread was left running (3 threads)").
  std::string AfterRequest(const RequestAftermath& a);
  // Requests in a row after which the fd count had grown.
  uint32_t fd_growth_streak() const { return growth_streak_; }

 private:
  RecycleLimits limits_;
  uint32_t previous_fds_ = 0;  // 0: no request seen yet (compare with the baseline)
  uint32_t growth_streak_ = 0;
};

}  // namespace fcgi

#endif  // FCGI_RUN_CORE_RECYCLE_POLICY_H_
