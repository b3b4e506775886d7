// HeapTrim: gives the heap's free memory back to the system once fcgi-run is
// idle after a burst.
//
// glibc's malloc returns memory by itself only from the top of the heap. A
// burst of requests (many connections, each multiplexing many requests)
// leaves free chunks below chunks still in use, and those pages stay
// resident: fragmentation, not a leak (the same memory is reused by the next
// burst). malloc_trim(3) releases them. So, once the last running request has
// finished, a timer of kIdleDelay starts; if fcgi-run is still idle when it
// fires and malloc holds more than kMinFreeBytes free, malloc_trim(0) runs.
// One trim per idle period at most; none while requests run. Elsewhere than
// glibc it does nothing.
//
// Ownership: a member of Server, on its reactor; `idle` is called on it.
#ifndef FCGI_RUN_LAUNCHER_HEAP_TRIM_H_
#define FCGI_RUN_LAUNCHER_HEAP_TRIM_H_

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstddef>
#include <functional>

namespace fcgi {

class HeapTrim {
 public:
  static constexpr std::chrono::milliseconds kIdleDelay{1000};
  static constexpr size_t kMinFreeBytes = 1 << 20;

  // `idle`: whether no request is running (or queued) now.
  HeapTrim(boost::asio::io_context& io, std::function<bool()> idle);
  HeapTrim(const HeapTrim&) = delete;
  HeapTrim& operator=(const HeapTrim&) = delete;

  // A request finished: if fcgi-run is idle now, the timer starts.
  void RequestFinished();
  // Trims now if malloc holds more than kMinFreeBytes free; returns the bytes
  // it held free before (0 where malloc cannot say).
  static size_t TrimIfWorthIt();

 private:
  boost::asio::steady_timer timer_;
  std::function<bool()> idle_;
  bool armed_ = false;
};

}  // namespace fcgi

#endif  // FCGI_RUN_LAUNCHER_HEAP_TRIM_H_
