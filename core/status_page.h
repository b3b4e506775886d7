// Status page (--status-path): a snapshot of the launcher's counters and its
// renderings as plain text (default), JSON (`?json`) and OpenMetrics
// (`?openmetrics`, the Prometheus exposition format). `full` (`?full`) adds a
// row per active request. Pure: the caller (launcher/request/builtin_pages.cc) fills
// the snapshot from ServerContext, the runners and the clock.
#ifndef FCGI_RUN_CORE_STATUS_PAGE_H_
#define FCGI_RUN_CORE_STATUS_PAGE_H_

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/metrics.h"

namespace fcgi {

// Processes of one worker class (one program, one runner) by state. `busy`
// counts programs running a request; `parked` a fork-mode parked process
// ready to fork; `idle` persistent workers waiting; `starting` either one
// starting up.
struct WorkerClassStatus {
  std::string program;
  std::string mode;
  uint64_t starting = 0, idle = 0, busy = 0, parked = 0;
};

struct ActiveRequestStatus {
  int pid = -1;
  std::string program, mode, method, uri;
  double elapsed_seconds = 0;
};

struct StatusSnapshot {
  int64_t start_time_unix = 0;  // seconds since the epoch
  double uptime_seconds = 0;
  uint64_t accepted_connections = 0;
  uint64_t requests_total = 0;
  uint64_t requests_active = 0;
  uint64_t requests_queued = 0;
  uint64_t max_queue_reached = 0;
  uint64_t worker_slots = 0;         // --workers
  uint64_t worker_slots_in_use = 0;  // programs running (or starting) now
  uint64_t timeouts = 0;
  uint64_t aborts = 0;
  uint64_t launcher_5xx = 0;  // 5xx responses the launcher made itself
  uint64_t slow_requests = 0;
  uint64_t responses[6] = {};  // by class: [2] = 2xx ... [5] = 5xx, [0] = none
  std::map<std::string, ModeCounters> modes;
  std::vector<WorkerClassStatus> classes;
  bool full = false;
  std::vector<ActiveRequestStatus> active;  // only when full
};

enum class StatusFormat { kText, kJson, kOpenMetrics };

struct StatusQuery {
  StatusFormat format = StatusFormat::kText;
  bool full = false;
};

// From QUERY_STRING: words separated by '&' ("json", "openmetrics", "full",
// "text"; "html" and "xml" are not offered and read as text). Unknown words
// are ignored, as php-fpm does.
StatusQuery ParseStatusQuery(std::string_view query_string);

// The Content-Type header value for a format.
const char* StatusContentType(StatusFormat format);

std::string RenderStatus(const StatusSnapshot& snapshot, StatusFormat format);

// The active-request rows of `metrics`, oldest first, elapsed up to `now`.
std::vector<ActiveRequestStatus> ActiveRows(const Metrics& metrics,
                                            std::chrono::steady_clock::time_point now);

}  // namespace fcgi

#endif  // FCGI_RUN_CORE_STATUS_PAGE_H_
