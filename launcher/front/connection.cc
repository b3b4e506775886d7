#include "launcher/front/connection.h"

#include <utility>
#include <vector>

#include "launcher/log/log.h"
#include "launcher/request/cgi_request.h"

namespace fcgi {

Connection::Connection(ServerContext& ctx, Socket socket, std::string peer)
    : ctx_(ctx),
      socket_(std::move(socket)),
      linger_timer_(socket_.get_executor()),
      peer_(std::move(peer)),
      state_(this, ctx.limits) {}

Connection::~Connection() = default;

void Connection::Start() { Read(); }

void Connection::StopReading() {
  stop_reading_ = true;
  if (requests_.empty() && output_.idle()) {
    Close("");  // idle: nothing in flight from the peer's point of view
  }
}

void Connection::Linger() {
  if (closed_ || lingering_) return;
  // Everything we had to say is written. When the peer has sent all it will
  // (every request's empty STDIN, and DATA for FILTER, was read and the last
  // read drained the socket), nothing can follow: close at once.
  if (state_.PeerInputComplete() && !last_read_full_) {
    Close("", CloseHow::kPlain);
    return;
  }
  // Closing now, with records of the peer still unread (Apache writes the
  // empty STDIN after we may already have answered), would make its writes
  // fail (EPIPE) or turn our close into a reset that loses the response. So:
  // half-close, read and discard until the peer closes too, for at most a
  // second.
  lingering_ = true;
  boost::system::error_code ignored;
  socket_.shutdown(Socket::shutdown_send, ignored);
  linger_timer_.expires_after(std::chrono::seconds(1));
  linger_timer_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
    if (!ec) self->Close("");
  });
  Read();
}

void Connection::Read() {
  if (lingering_) {
    if (reading_ || closed_) return;
  } else if (reading_ || closed_ || input_paused_ || stop_reading_) {
    return;
  }
  reading_ = true;
  socket_.async_read_some(
      boost::asio::buffer(read_buf_),
      [self = shared_from_this()](const boost::system::error_code& ec, size_t n) { self->OnRead(ec, n); });
}

void Connection::OnRead(const boost::system::error_code& ec, size_t n) {
  reading_ = false;
  if (closed_) return;
  if (ec && lingering_) {
    Close("");
    return;
  }
  if (ec) {
    if (ec == boost::asio::error::operation_aborted) return;
    const bool clean = ec == boost::asio::error::eof && requests_.empty() && state_.AtRecordBoundary();
    if (!clean)
      LogDebug("connection " + peer_ + ": " +
               (ec == boost::asio::error::eof ? "closed by peer" : ec.message()));
    Close(ec == boost::asio::error::eof ? "web server closed the connection" : ec.message());
    return;
  }
  if (lingering_) {  // after our last response: discard what the peer still sends
    Read();
    return;
  }
  last_read_full_ = n == read_buf_.size();
  Status s = state_.Feed(std::string_view(read_buf_.data(), n), output_.pending());
  if (!s.ok()) {
    LogWarning("connection " + peer_ + ": " + s.message() + "; closing it");
    Flush();
    Close("protocol error");
    return;
  }
  Flush();
  if (state_.ShouldClose() && OutputBacklog() == 0 && !output_.writing()) {
    Linger();
    return;
  }
  if (!state_.ShouldClose()) Read();
}

void Connection::Flush(FlushWhen when) {
  if (closed_) return;
  auto on_written = [self = shared_from_this()](const boost::system::error_code& ec) { self->OnWrite(ec); };
  // Once the connection is closing, nothing more can be appended: no reason
  // to wait for the end of the reactor turn.
  if (when == FlushWhen::kNow || state_.ShouldClose()) {
    output_.Flush(socket_, std::move(on_written));
  } else {
    output_.FlushSoon(socket_, std::move(on_written));
  }
}

void Connection::OnWrite(const boost::system::error_code& ec) {
  if (closed_) return;
  if (ec) {
    LogDebug("connection " + peer_ + ": write failed: " + ec.message());
    Close("write to the web server failed: " + ec.message());
    return;
  }
  // Wake requests waiting for output space once the backlog is below half.
  if (!output_waiters_.empty() && OutputBacklog() < ctx_.config.buffer_bytes / 2) {
    std::set<uint16_t> waiters;
    waiters.swap(output_waiters_);
    for (uint16_t id : waiters) {
      auto it = requests_.find(id);
      if (it != requests_.end()) {
        auto request = it->second;
        request->ResumeOutput();
      }
    }
  }
  Flush(FlushWhen::kNow);  // what was appended during the write has waited long enough
  if (output_.idle()) {
    if (state_.ShouldClose() || (stop_reading_ && requests_.empty())) {
      Linger();
      return;
    }
  }
}

void Connection::Close(std::string_view why, CloseHow how) {
  if (closed_) return;
  closed_ = true;
  if (lingering_) linger_timer_.cancel();
  // Output this turn asked to send (an error response, a protocol answer)
  // goes out before the close, as an immediate write would have.
  output_.WritePostedNow(socket_.native_handle());
  boost::system::error_code ignored;
  if (how == CloseHow::kShutdown) socket_.shutdown(Socket::shutdown_both, ignored);
  socket_.close(ignored);
  output_.ClearPending();
  output_waiters_.clear();
  // Abort what still runs; the requests finish (and leave the table) once
  // their programs are gone.
  std::vector<std::shared_ptr<CgiRequest>> running;
  for (auto& [id, request] : requests_) running.push_back(request);
  for (auto& request : running) request->Abort(why.empty() ? "connection closed" : why);
}

void Connection::SendStdout(uint16_t id, std::string_view data) {
  if (closed_ || data.empty()) return;
  state_.AppendStdout(id, data, output_.pending());
  Flush();
}

void Connection::SendStderr(uint16_t id, std::string_view data) {
  if (closed_ || data.empty()) return;
  state_.AppendStderr(id, data, output_.pending());
  Flush();
}

void Connection::FinishRequest(uint16_t id, uint32_t app_status, ProtocolStatus status) {
  auto keep = shared_from_this();
  requests_.erase(id);
  output_waiters_.erase(id);
  if (!closed_) {
    state_.EndRequest(id, app_status, status, output_.pending());
    Flush();
    if (state_.ShouldClose() && output_.idle()) Linger();
    else if (stop_reading_ && requests_.empty() && output_.idle()) Linger();
    else StdinDrained();  // the finished request may have been what paused input
  }
  if (ctx_.on_request_finished) ctx_.on_request_finished();
}

void Connection::StdinDrained() {
  if (!input_paused_) return;
  for (auto& [id, request] : requests_) {
    if (request->InputShouldPause()) return;
  }
  input_paused_ = false;
  LogDebug("connection " + peer_ + ": resuming input");
  Read();
}

void Connection::CheckInputBackpressure(uint16_t id) {
  auto it = requests_.find(id);
  if (it != requests_.end() && it->second->InputShouldPause() && !input_paused_) {
    input_paused_ = true;
    if (it->second->stdin_backlog() > ctx_.config.body_spool_bytes) {
      LogWarning("connection " + peer_ + ": request " + std::to_string(id) +
                 " has more than --body-spool bytes of body its program has not read: pausing input");
    }
  }
}

void Connection::OnRequestReady(uint16_t id, Role role, bool keep_conn, NameValuePairs params) {
  (void)keep_conn;
  auto request = std::make_shared<CgiRequest>(ctx_, shared_from_this(), id, role);
  requests_[id] = request;
  request->Start(std::move(params));
}

std::shared_ptr<CgiRequest> Connection::FindRequest(uint16_t id) const {
  auto it = requests_.find(id);
  return it == requests_.end() ? nullptr : it->second;
}

void Connection::OnStdin(uint16_t id, std::string_view data) {
  if (auto request = FindRequest(id)) {
    request->OnStdin(data);
    CheckInputBackpressure(id);
  }
}

void Connection::OnStdinEnd(uint16_t id) {
  if (auto request = FindRequest(id)) request->OnStdinEnd();
}

void Connection::OnData(uint16_t id, std::string_view data) {
  if (auto request = FindRequest(id)) {
    request->OnData(data);
    CheckInputBackpressure(id);
  }
}

void Connection::OnDataEnd(uint16_t id) {
  if (auto request = FindRequest(id)) request->OnDataEnd();
}

void Connection::OnAbort(uint16_t id) {
  if (auto request = FindRequest(id)) request->Abort("FCGI_ABORT_REQUEST from the web server");
}

}  // namespace fcgi
