// ServerContext: what every connection and request of one fcgi-run process
// shares. Owned by Server (launcher/server.h), which outlives all connections
// and requests; they hold a reference.
#ifndef FCGI_RUN_LAUNCHER_REQUEST_SERVER_CONTEXT_H_
#define FCGI_RUN_LAUNCHER_REQUEST_SERVER_CONTEXT_H_

#include <array>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "core/address_filter.h"
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

// The protected params (core/cgi_environment.h) already logged: each name is
// logged once per process, as a warning. Bounded: at most kNamesPerEntry
// names per entry of the list (a prefix entry such as BASH_FUNC_* matches
// endless names; past it they are logged at debug level), each kept as its
// escaped log form, at most 80 bytes.
class ProtectedParamLog {
 public:
  static constexpr size_t kNamesPerEntry = 16;
  // True the first time `logged_name` is seen for `entry` while the entry has
  // room; *last: that name filled the entry.
  bool First(const std::string& entry, const std::string& logged_name, bool* last) {
    std::set<std::string>& names = names_[entry];
    if (names.size() >= kNamesPerEntry || !names.insert(logged_name).second) return false;
    *last = names.size() == kNamesPerEntry;
    return true;
  }

 private:
  std::map<std::string, std::set<std::string>> names_;  // list entry -> names logged
};

struct ServerContext {
  boost::asio::io_context& io;
  const Config& config;  // the running configuration (a SIGHUP reload may change it between requests)
  WorkerSlots& slots;
  ProgramSource* programs = nullptr;  // set by Server::Init, owned by Server
  ProtectedParamLog protected_params_logged;
  ConnectionLimits limits;
  ServerCounters counters;
  // Where every request reads its program's output (CgiRequest::Read): one
  // buffer for the reactor, not one per request (a request waiting in the
  // queue would carry it for nothing). A read's bytes are handled, and copied
  // where they must stay, before the next read.
  std::array<char, 64 * 1024> read_buffer;
  // Called whenever a request finishes (the server uses it to complete a
  // graceful stop once nothing is active).
  std::function<void()> on_request_finished;
  Observability observability;
};

}  // namespace fcgi

#endif  // FCGI_RUN_LAUNCHER_REQUEST_SERVER_CONTEXT_H_
