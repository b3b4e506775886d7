// StartRetry: what fork and persistent modes do after a shim process failed
// to start (no HELLO, REFUSED, died at start-up): count the failures in a
// row, retry after a backoff that doubles (200 ms, 400 ms, ...: 100 ms <<
// failures), and after max_failures in a row give up, at which point the
// runner falls back to exec mode.
//
// Ownership: a member of its runner, on the reactor thread. Destroying it or
// Cancel() drops a pending retry: its callback never runs then.
#ifndef FCGI_RUN_LAUNCHER_RUN_START_RETRY_H_
#define FCGI_RUN_LAUNCHER_RUN_START_RETRY_H_

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <functional>

namespace fcgi {

class StartRetry {
 public:
  StartRetry(boost::asio::io_context& io, int max_failures) : timer_(io), max_failures_(max_failures) {}
  StartRetry(const StartRetry&) = delete;
  StartRetry& operator=(const StartRetry&) = delete;

  // A start failed. Returns false when that makes max_failures in a row: no
  // retry is scheduled, the caller falls back. Otherwise schedules on_retry
  // after delay() and returns true.
  bool Failed(std::function<void()> on_retry);
  // A process started and served, or a new start is not a retry: the count of
  // failures in a row starts again.
  void ClearFailures() { failures_ = 0; }
  // Drops a pending retry (a new start supersedes it, or the runner stops).
  void Cancel();

  bool pending() const { return pending_; }
  int failures() const { return failures_; }
  // The backoff of the retry Failed() scheduled last.
  std::chrono::milliseconds delay() const { return std::chrono::milliseconds(100 << failures_); }

 private:
  boost::asio::steady_timer timer_;
  int max_failures_;
  int failures_ = 0;
  bool pending_ = false;
};

}  // namespace fcgi

#endif  // FCGI_RUN_LAUNCHER_RUN_START_RETRY_H_
