// OutputQueue: the write side of a stream connection on the reactor, shared by
// the FastCGI Connection and the HTTP front's HttpConnection. Bytes appended
// while a write is in flight wait in a second buffer; at most one async_write
// is outstanding, and it always carries everything that was pending when it
// started.
//
// Two ways to start a write: Flush starts it now; FlushSoon posts it to the
// reactor (at most one posted flush outstanding), so that everything appended
// by the handlers already queued in this reactor turn (a request's last
// STDOUT, its END_REQUEST) leaves in one send(2). An owner that closes the
// socket must call WritePostedNow first: it performs a posted flush at once.
//
// Ownership: a member of its connection. REQUIRES: the handler given to Flush
// or FlushSoon keeps that connection (and so the queue and the stream) alive
// until it runs, as a shared_from_this() capture does.
#ifndef FCGI_RUN_LAUNCHER_FRONT_OUTPUT_QUEUE_H_
#define FCGI_RUN_LAUNCHER_FRONT_OUTPUT_QUEUE_H_

#include <sys/socket.h>

#include <boost/asio/buffer.hpp>
#include <boost/asio/post.hpp>
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
  // A FlushSoon is posted and has not run yet.
  bool flush_posted() const { return flush_posted_; }
  // Nothing in flight and nothing pending.
  bool idle() const { return !writing_active_ && out_.empty(); }
  // Drops what is pending (the connection is closing) and cancels a posted
  // flush; the write in flight, if any, still completes.
  void ClearPending() {
    out_.clear();
    flush_posted_ = false;
  }

  // Starts writing everything pending, unless a write is already in flight or
  // nothing is pending. When the write completes the queue forgets it, then
  // calls on_done(ec).
  template <typename Stream, typename Handler>
  void Flush(Stream& stream, Handler on_done) {
    if (writing_active_ || out_.empty()) return;
    writing_.swap(out_);
    writing_active_ = true;
    boost::asio::async_write(
        stream, boost::asio::buffer(writing_),
        [this, on_done = std::move(on_done)](const boost::system::error_code& ec, size_t) mutable {
          writing_active_ = false;
          writing_.clear();
          on_done(ec);
        });
  }

  // Like Flush, but from a handler posted to the stream's executor, so that
  // output appended meanwhile goes out in the same write. Does nothing while
  // a write is in flight (its completion handler flushes again), while a
  // flush is already posted, or when nothing is pending.
  template <typename Stream, typename Handler>
  void FlushSoon(Stream& stream, Handler on_done) {
    if (flush_posted_ || writing_active_ || out_.empty()) return;
    flush_posted_ = true;
    boost::asio::post(stream.get_executor(), [this, &stream, on_done = std::move(on_done)]() mutable {
      if (!flush_posted_) return;  // cancelled: WritePostedNow or ClearPending ran first
      flush_posted_ = false;
      Flush(stream, std::move(on_done));
    });
  }

  // For an owner about to close `fd`: if a FlushSoon is outstanding, writes
  // what is pending now with one non-blocking send(2) (best effort, as the
  // immediate write of Flush would have been) and cancels the posted flush.
  // What the socket does not take at once is dropped.
  void WritePostedNow(int fd) {
    if (!flush_posted_) return;
    flush_posted_ = false;
    if (writing_active_ || out_.empty()) return;
    (void)::send(fd, out_.data(), out_.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
    out_.clear();
  }

 private:
  std::string out_;      // output not yet handed to the socket
  std::string writing_;  // output of the write in flight
  bool writing_active_ = false;
  bool flush_posted_ = false;
};

}  // namespace fcgi

#endif  // FCGI_RUN_LAUNCHER_FRONT_OUTPUT_QUEUE_H_
