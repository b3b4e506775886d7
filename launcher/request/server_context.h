// ServerContext: what every connection and request of one fcgi-run process
// shares. Owned by Server (launcher/server.h), which outlives all connections
// and requests; they hold a reference.
#ifndef FCGI_RUN_LAUNCHER_REQUEST_SERVER_CONTEXT_H_
#define FCGI_RUN_LAUNCHER_REQUEST_SERVER_CONTEXT_H_

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/connection_state.h"
#include "core/fcgi_name_value.h"
#include "core/metrics.h"
#include "core/worker_slots.h"
#include "launcher/config/options.h"
#include "launcher/request/program_source.h"

namespace fcgi {

struct ServerCounters {
  uint64_t accepted_connections = 0;
  uint64_t requests_total = 0;
  uint64_t requests_active = 0;
  uint64_t timeouts = 0;
  uint64_t aborts = 0;
  uint64_t errors_5xx = 0;
};

class AccessLog;
class SlowLog;

// Status page, access log and slow log (launcher/request/builtin_pages.h,
// access_log.h, slow_log.h). The logs are owned by Server; null when off.
struct Observability {
  Metrics metrics;
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
  int64_t started_unix = 0;
  AccessLog* access_log = nullptr;
  SlowLog* slow_log = nullptr;
};

struct ServerContext {
  boost::asio::io_context& io;
  const Config& config;  // the running configuration (a SIGHUP reload may change it between requests)
  WorkerSlots& slots;
  ProgramSource* programs = nullptr;  // set by Server::Init, owned by Server
  ConnectionLimits limits;
  ServerCounters counters;
  // Called whenever a request finishes (the server uses it to complete a
  // graceful stop once nothing is active).
  std::function<void()> on_request_finished;
  Observability observability;
};

}  // namespace fcgi

#endif  // FCGI_RUN_LAUNCHER_REQUEST_SERVER_CONTEXT_H_
