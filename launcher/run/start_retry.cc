#include "launcher/run/start_retry.h"

#include <utility>

namespace fcgi {

bool StartRetry::Failed(std::function<void()> on_retry) {
  if (++failures_ >= max_failures_) return false;
  pending_ = true;
  timer_.expires_after(delay());
  timer_.async_wait([this, on_retry = std::move(on_retry)](const boost::system::error_code& ec) {
    if (ec) return;  // cancelled: by Cancel() or the owner's destruction (`this` may be gone)
    pending_ = false;
    on_retry();
  });
  return true;
}

void StartRetry::Cancel() {
  timer_.cancel();
  pending_ = false;
}

}  // namespace fcgi
