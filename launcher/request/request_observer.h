// RequestObserver: what one request tells the status page (the metrics'
// active-request table and counts, core/metrics.h), the slow log and the
// access log. The CgiRequest reports each fact as it becomes known (params,
// program, start, every response byte, exit, abort); this class makes the
// metrics calls, arms the slow-log timer and writes the access log line.
//
// Ownership: a member of its CgiRequest; it refers to the ServerContext,
// which outlives every request, and to the logs it points to.
#ifndef FCGI_RUN_LAUNCHER_REQUEST_REQUEST_OBSERVER_H_
#define FCGI_RUN_LAUNCHER_REQUEST_REQUEST_OBSERVER_H_

#include <sys/types.h>

#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "core/access_format.h"
#include "core/fcgi_name_value.h"
#include "launcher/request/program_source.h"
#include "launcher/request/server_context.h"

namespace fcgi {

class RequestObserver {
 public:
  explicit RequestObserver(ServerContext& ctx);
  RequestObserver(const RequestObserver&) = delete;
  RequestObserver& operator=(const RequestObserver&) = delete;
  // A request gone without Finish() leaves the active-request table.
  ~RequestObserver();

  // The params (PARAMS complete): what the logs show of the request.
  void SetParams(const NameValuePairs& params);
  // The request enters the active-request table (built-in pages do not).
  void Begin();
  void SetProgram(const ProgramTarget& target);
  // The program runs (`mode`: the runner's mode_name()).
  void Started(pid_t pid, const char* mode);
  // The program ended, or the client left: nothing more to call slow.
  void Exited() {
    exited_ = true;
    slow_timer_.cancel();
  }
  void Aborted() { aborted_ = true; }
  // Past --slow-threshold (counted from the request's start) with its
  // program not ended: counted, and reported to the slow log. `owner` (the
  // request) is held weakly: the timer does not keep it alive.
  void WatchSlow(std::weak_ptr<void> owner);

  // Every response byte the request sends, in order (the header block is
  // always sent whole, first).
  void Sent(std::string_view data);
  // The HTTP status of the response (its header, or the launcher's page).
  void SetStatus(int status) { record_.status = status; }

  // Once, as the request ends: the metrics count it and the access log
  // writes its line.
  void Finish();

  const std::string& method() const { return record_.method; }
  const std::string& uri() const { return record_.uri; }
  std::chrono::steady_clock::time_point started() const { return started_; }
  double elapsed_seconds() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
  }

 private:
  void OnSlow();

  ServerContext& ctx_;
  const std::chrono::steady_clock::time_point started_;
  uint64_t metrics_id_ = 0;
  AccessRecord record_;           // filled as the facts arrive
  std::string program_path_;      // for the slow log
  NameValuePairs logged_params_;  // kept only for %{NAME}e
  uint64_t header_bytes_ = 0;
  bool exited_ = false;
  bool aborted_ = false;
  bool finished_ = false;
  boost::asio::steady_timer slow_timer_;
};

}  // namespace fcgi

#endif  // FCGI_RUN_LAUNCHER_REQUEST_REQUEST_OBSERVER_H_
