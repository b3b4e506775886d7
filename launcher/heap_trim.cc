#include "launcher/heap_trim.h"

#include <malloc.h>

#include <utility>

#include "launcher/log/log.h"

namespace fcgi {

HeapTrim::HeapTrim(boost::asio::io_context& io, std::function<bool()> idle)
    : timer_(io), idle_(std::move(idle)) {}

void HeapTrim::RequestFinished() {
  if (armed_ || !idle_()) return;
  armed_ = true;
  timer_.expires_after(kIdleDelay);
  timer_.async_wait([this](const boost::system::error_code& ec) {
    armed_ = false;
    if (ec || !idle_()) return;  // busy again: the next request to finish re-arms
    TrimIfWorthIt();
  });
}

size_t HeapTrim::TrimIfWorthIt() {
#if defined(__GLIBC__)
  const size_t free_bytes = mallinfo2().fordblks;
  if (free_bytes > kMinFreeBytes) {
    malloc_trim(0);
    if (Log::Enabled(LogLevel::kDebug)) {
      LogDebug("idle: returned the heap's free memory to the system (malloc held " +
               std::to_string(free_bytes / 1024) + " KiB free; malloc_trim(3))");
    }
  }
  return free_bytes;
#else
  return 0;
#endif
}

}  // namespace fcgi
