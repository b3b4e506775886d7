// OutputQueue: the write side of a stream connection on the reactor, shared by
// the FastCGI Connection and the HTTP front's HttpConnection. Bytes appended
// while a write is in flight wait in a second buffer; at most one async_write
// is outstanding, and it always carries everything that was pending when it
// started.
//
// Ownership: a member of its connection. REQUIRES: the handler given to Flush
// keeps that connection (and so the queue) alive until it runs, as a
// shared_from_this() capture does.
#ifndef FCGI_RUN_OUTPUT_QUEUE_H_
#define FCGI_RUN_OUTPUT_QUEUE_H_

#include <boost/asio/buffer.hpp>
#include <boost/asio/write.hpp>
#include <boost/system/error_code.hpp>
#include <cstddef>
#include <string>
#include <string_view>
#include <utility>

namespace fcgi {

class OutputQueue {
 public:
  OutputQueue() = default;
  OutputQueue(const OutputQueue&) = delete;
  OutputQueue& operator=(const OutputQueue&) = delete;

  // Output not yet handed to the socket: append here, then Flush.
  std::string* pending() { return &out_; }
  void Append(std::string_view data) { out_.append(data); }
  // Bytes not yet written: pending plus the write in flight.
  size_t backlog() const { return out_.size() + writing_.size(); }
  bool writing() const { return writing_active_; }
  // Nothing in flight and nothing pending.
  bool idle() const { return !writing_active_ && out_.empty(); }
  // Drops what is pending (the connection is closing); the write in flight, if
  // any, still completes.
  void ClearPending() { out_.clear(); }

  // Starts writing everything pending, unless a write is already in flight or
  // nothing is pending. When the write completes the queue forgets it, then
  // calls on_done(ec).
  template <typename Stream, typename Handler>
  void Flush(Stream& stream, Handler on_done) {
    if (writing_active_ || out_.empty()) return;
    writing_.swap(out_);
    writing_active_ = true;
    boost::asio::async_write(stream, boost::asio::buffer(writing_),
                             [this, on_done = std::move(on_done)](const boost::system::error_code& ec,
                                                                  size_t) mutable {
                               writing_active_ = false;
                               writing_.clear();
                               on_done(ec);
                             });
  }

 private:
  std::string out_;      // output not yet handed to the socket
  std::string writing_;  // output of the write in flight
  bool writing_active_ = false;
};

}  // namespace fcgi

#endif  // FCGI_RUN_OUTPUT_QUEUE_H_
