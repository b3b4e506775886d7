#include "core/recycle_policy.h"

namespace fcgi {

std::string RecyclePolicy::AfterRequest(const RequestAftermath& a) {
  const uint32_t before = previous_fds_ == 0 ? a.baseline_fds : previous_fds_;
  growth_streak_ = a.open_fds > before ? growth_streak_ + 1 : 0;
  previous_fds_ = a.open_fds;
  if (a.worker_retires) {
    return "the request closed file descriptors the worker needs to put itself back in order";
  }
  if (a.threads > 1) {
    return "a thread was left running (" + std::to_string(a.threads) + " threads after the request)";
  }
  if (a.exit_intercepted && a.links_libstdcxx) {
    return "exit() was intercepted in a program that links libstdc++ (destructors were skipped)";
  }
  if (limits_.max_rss_kib > 0 && a.rss_kib > limits_.max_rss_kib) {
    return "resident memory " + std::to_string(a.rss_kib / 1024) + " MiB exceeds --max-rss " +
           std::to_string(limits_.max_rss_kib / 1024) + " MiB";
  }
  if (limits_.fd_growth_requests > 0 && growth_streak_ >= limits_.fd_growth_requests) {
    return "open file descriptors grew after " + std::to_string(growth_streak_) + " requests in a row (" +
           std::to_string(a.baseline_fds) + " -> " + std::to_string(a.open_fds) + ")";
  }
  if (a.open_fds > a.baseline_fds + limits_.max_extra_fds) {
    return std::to_string(a.open_fds - a.baseline_fds) +
           " file descriptors left open since the worker started";
  }
  if (limits_.max_requests > 0 && a.requests >= limits_.max_requests) {
    return "served --max-requests " + std::to_string(limits_.max_requests) + " requests";
  }
  return "";
}

}  // namespace fcgi
