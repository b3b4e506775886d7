#include "launcher/front/http_connection.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/beast/http/error.hpp>
#include <cstdio>
#include <utility>

#include "core/cgi_environment.h"  // EscapeForLog
#include "core/error_pages.h"
#include "core/http_framing.h"
#include "launcher/log/log.h"
#include "launcher/request/cgi_request.h"

namespace fcgi {
namespace http = boost::beast::http;

namespace {

void SplitSockaddr(const sockaddr* sa, std::string* addr, std::string* port) {
  char host[INET6_ADDRSTRLEN] = "";
  if (sa->sa_family == AF_INET) {
    auto* in = reinterpret_cast<const sockaddr_in*>(sa);
    inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
    *port = std::to_string(ntohs(in->sin_port));
  } else if (sa->sa_family == AF_INET6) {
    auto* in6 = reinterpret_cast<const sockaddr_in6*>(sa);
    inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
    *port = std::to_string(ntohs(in6->sin6_port));
  }
  *addr = host;
}

std::string ServerSoftware() { return std::string("fcgi-run/") + FCGI_RUN_VERSION; }

constexpr const char* kDirectoryIndex = "index.cgi";

// Dispatcher mode: a directory's URL ("/", "/sub/") runs the directory's
// index.cgi when it has an executable one, as a web server's index directive
// does (REQUEST_URI stays as requested). Otherwise the request goes on as it
// is (the dispatcher refuses a directory with 403).
void ApplyDirectoryIndex(NameValuePairs* params) {
  std::string* filename = nullptr;
  std::string* script_name = nullptr;
  std::string* document_uri = nullptr;
  for (auto& [name, value] : *params) {
    if (name == "SCRIPT_FILENAME") filename = &value;
    else if (name == "SCRIPT_NAME") script_name = &value;
    else if (name == "DOCUMENT_URI") document_uri = &value;
  }
  if (filename == nullptr || script_name == nullptr || script_name->empty() || script_name->back() != '/')
    return;
  const std::string index = *filename + kDirectoryIndex;
  struct stat st;
  if (stat(index.c_str(), &st) != 0 || !S_ISREG(st.st_mode) || access(index.c_str(), X_OK) != 0) return;
  *filename = index;
  *script_name += kDirectoryIndex;
  if (document_uri != nullptr) *document_uri = *script_name;
}

}  // namespace

HttpConnection::HttpConnection(ServerContext& ctx, const HttpFrontSettings& settings, Socket socket)
    : ctx_(ctx), settings_(settings), socket_(std::move(socket)), idle_timer_(socket_.get_executor()) {
  boost::system::error_code ec;
  auto local = socket_.local_endpoint(ec);
  if (!ec) SplitSockaddr(local.data(), &local_addr_, &local_port_);
  auto remote = socket_.remote_endpoint(ec);
  if (!ec) SplitSockaddr(remote.data(), &remote_addr_, &remote_port_);
  peer_ = (remote_addr_.find(':') != std::string::npos ? "[" + remote_addr_ + "]" : remote_addr_) + ":" +
          remote_port_;
}

HttpConnection::~HttpConnection() = default;

void HttpConnection::Start() { ReadHeader(); }

void HttpConnection::StopReading() {
  stop_reading_ = true;
  if (!in_exchange_ && output_.idle()) Close("");
}

void HttpConnection::ArmIdleTimer() {
  idle_timer_.expires_after(settings_.idle_timeout);
  idle_timer_.async_wait([weak = weak_from_this()](const boost::system::error_code& ec) {
    auto self = weak.lock();
    if (ec || !self || (self->in_exchange_ && !self->lingering_)) return;
    if (!self->lingering_) LogDebug("http " + self->peer_ + ": idle for too long; closing");
    self->Close("");
  });
}

void HttpConnection::Parse(ParseUntil until, std::function<void(const boost::system::error_code&)> then) {
  for (;;) {
    boost::system::error_code ec = http::error::need_more;
    size_t used = 0;
    if (buffer_.size() > 0) {
      ec = {};
      used = parser_->put(buffer_.data(), ec);
      buffer_.consume(used);
    }
    const bool reached =
        until == ParseUntil::kHeader ? parser_->is_header_done() : used > 0 || parser_->is_done();
    if (!ec && !reached && used > 0) continue;
    if (ec != http::error::need_more && (ec || reached)) {
      then(ec);
      return;
    }
    const std::string_view pending(static_cast<const char*>(buffer_.data().data()), buffer_.size());
    if (!PendingLinesValid(pending)) {
      then(http::error::bad_line_ending);
      return;
    }
    if (parser_->is_header_done() && pending.size() > settings_.max_header_bytes) {
      then(http::error::bad_chunk);  // a chunk line or trailer section past --http-max-header
      return;
    }
    break;
  }
  constexpr size_t kReadBytes = 64 * 1024;
  socket_.async_read_some(buffer_.prepare(kReadBytes),
                          [self = shared_from_this(), until, then = std::move(then)](
                              const boost::system::error_code& ec, size_t n) {
                            self->buffer_.commit(n);
                            if (ec == boost::asio::error::eof) {
                              boost::system::error_code end = http::error::end_of_stream;
                              if (self->parser_->got_some()) {
                                end = {};
                                self->parser_->put_eof(end);
                                if (!end) end = http::error::partial_message;
                              }
                              then(end);
                            } else if (ec || self->closed_) {
                              then(ec ? ec : boost::asio::error::operation_aborted);
                            } else {
                              self->Parse(until, then);
                            }
                          });
}

void HttpConnection::ReadHeader() {
  if (closed_ || stop_reading_ || reading_) return;
  parser_.emplace();
  parser_->header_limit(static_cast<uint32_t>(settings_.max_header_bytes));
  parser_->body_limit(boost::none);  // --max-body is CgiRequest's business
  reading_ = true;
  ArmIdleTimer();
  Parse(ParseUntil::kHeader,
        [self = shared_from_this()](const boost::system::error_code& ec) { self->OnHeader(ec); });
}

void HttpConnection::OnHeader(const boost::system::error_code& ec) {
  reading_ = false;
  idle_timer_.cancel();
  if (closed_) return;
  if (ec) {
    if (ec == http::error::header_limit) {
      LogWarning("http " + peer_ + ": request header block larger than --http-max-header (" +
                 std::to_string(settings_.max_header_bytes) + " bytes): 431");
      RespondLocally(ErrorPage::kHeaderFieldsTooLarge);
    } else if (ec == http::error::end_of_stream || ec == boost::asio::error::eof ||
               ec == boost::asio::error::operation_aborted || ec == boost::asio::error::connection_reset) {
      Close("");
    } else {
      LogWarning("http " + peer_ + ": bad request: " + ec.message() +
                 (ec == http::error::bad_line_ending ? " (a line ends in a bare LF)" : ""));
      RespondLocally(ErrorPage::kBadRequest);
    }
    return;
  }
  auto& req = parser_->get();
  in_exchange_ = true;
  started_ = std::chrono::steady_clock::now();
  method_ = std::string(req.method_string());
  target_ = std::string(req.target());
  original_method_ = method_;
  original_target_ = target_;
  minor_version_ = req.version() == 10 ? 0 : 1;
  protocol_ = minor_version_ == 0 ? "HTTP/1.0" : "HTTP/1.1";
  client_keep_alive_ = req.keep_alive();
  {
    // Beast takes a Transfer-Encoding that does not end in chunked for no body
    // at all: the body would then be read as the next request.
    HttpHeaderFields te;
    for (const auto& field : req) {
      if (field.name() == http::field::transfer_encoding)
        te.emplace_back(std::string(field.name_string()), std::string(field.value()));
    }
    int status = 400;
    if (Status framing = CheckRequestFraming(te, minor_version_, &status); !framing.ok()) {
      LogWarning("http " + peer_ + ": " + framing.message() + ": " + std::to_string(status));
      RespondLocally(status == 501 ? ErrorPage::kTransferCodingNotImplemented : ErrorPage::kBadRequest);
      return;
    }
  }
  headers_.clear();
  for (const auto& field : req)
    headers_.emplace_back(std::string(field.name_string()), std::string(field.value()));
  redirects_ = 0;
  body_done_ = parser_->is_done();
  if (!StartCgi(headers_)) return;
  if (body_done_) {
    if (request_) request_->OnStdinEnd();
    WatchPeer();
    return;
  }
  // A client waiting for "100 Continue" gets it once the request is accepted.
  auto expect = req.find(http::field::expect);
  if (request_ && expect != req.end() && minor_version_ == 1) {
    std::string_view v = expect->value();
    if (v.size() == 12 && (v[0] == '1') && v.substr(3) == "-continue") {
      output_.Append("HTTP/1.1 100 Continue\r\n\r\n");
      Flush();
    }
  }
  ReadBody();
}

bool HttpConnection::StartCgi(const HttpHeaderFields& headers) {
  HttpRequestLine line;
  line.method = method_;
  line.target = target_;
  line.protocol = protocol_;
  line.headers = headers;
  line.server_addr = local_addr_;
  line.server_port = local_port_;
  line.remote_addr = remote_addr_;
  line.remote_port = remote_port_;
  NameValuePairs params;
  HttpCgiSettings cgi = settings_.cgi;
  cgi.server_software = ServerSoftware();
  Status s = BuildHttpCgiParams(line, cgi, &params);
  if (!s.ok()) {
    LogWarning("http " + peer_ + ": " + EscapeForLog(target_) + ": " + s.message() + ": 400");
    RespondLocally(ErrorPage::kBadRequestTarget);
    return false;
  }
  if (!cgi.document_root.empty()) ApplyDirectoryIndex(&params);
  head_buf_.clear();
  head_done_ = false;
  redirect_to_.clear();
  length_left_.reset();
  body_bytes_ = 0;
  status_ = 0;
  response_done_ = false;
  output_waiting_ = false;
  ++request_id_;
  auto request = std::make_shared<CgiRequest>(ctx_, shared_from_this(), request_id_, Role::kResponder);
  request_ = request;
  request->Start(std::move(params));  // may finish at once (413, 503...)
  return true;
}

void HttpConnection::ReadBody() {
  if (closed_ || reading_ || input_paused_ || body_done_ || !request_) return;
  auto& body = parser_->get().body();
  body.data = body_chunk_.data();
  body.size = body_chunk_.size();
  body.more = true;
  reading_ = true;
  Parse(ParseUntil::kProgress,
        [self = shared_from_this()](const boost::system::error_code& ec) { self->OnBody(ec); });
}

void HttpConnection::OnBody(const boost::system::error_code& ec_in) {
  reading_ = false;
  if (closed_) return;
  if (lingering_) {
    Drain();
    return;
  }
  boost::system::error_code ec = ec_in;
  if (ec == http::error::need_buffer) ec = {};
  if (ec && ec.category() == http::make_error_code(http::error::need_more).category() &&
      ec != http::error::partial_message && ec != http::error::end_of_stream) {
    // The body's framing is broken (an overflowing chunk size, a bare LF...).
    RefuseMalformed("request body: " + ec.message() +
                    (ec == http::error::bad_line_ending ? " (a line ends in a bare LF)" : ""));
    return;
  }
  if (ec) {
    Close(ec == http::error::partial_message || ec == boost::asio::error::eof
              ? "client closed the connection during the request body"
              : "reading the request body: " + ec.message());
    return;
  }
  const size_t got = body_chunk_.size() - parser_->get().body().size;
  if (!request_) return;  // the response already ended (413...): the connection closes
  auto request = request_;
  if (got > 0) request->OnStdin(std::string_view(body_chunk_.data(), got));
  if (parser_->is_done()) {
    body_done_ = true;
    if (request_ == request) request->OnStdinEnd();
    WatchPeer();
    return;
  }
  if (request_ && request_->stdin_backlog() > ctx_.config.body_spool_bytes) {
    input_paused_ = true;
    LogWarning("http " + peer_ +
               ": more than --body-spool bytes of body its program has not read: pausing input");
    return;
  }
  ReadBody();
}

void HttpConnection::StdinDrained() {
  if (!input_paused_ || !request_) return;
  if (request_->stdin_backlog() > ctx_.config.body_spool_bytes) return;
  input_paused_ = false;
  ReadBody();
}

// While a program runs after the whole body arrived, notice a client that
// goes away (EOF) without consuming what it may have pipelined.
void HttpConnection::WatchPeer() {
  if (watching_ || closed_ || !request_) return;
  watching_ = true;
  socket_.async_wait(Socket::wait_read, [self = shared_from_this()](const boost::system::error_code& ec) {
    self->watching_ = false;
    if (ec || self->closed_ || !self->request_ || self->reading_) return;
    char c;
    const ssize_t n = ::recv(self->socket_.native_handle(), &c, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
      self->Close("client closed the connection");
    } else if (n < 0) {
      self->WatchPeer();
    }
    // n > 0: the client pipelined its next request; it is read after this response.
  });
}

void HttpConnection::SendStdout(uint16_t id, std::string_view data) {
  if (closed_ || id != request_id_ || !redirect_to_.empty() || data.empty()) return;
  if (head_done_) {
    WriteBody(data);
    return;
  }
  head_buf_.append(data);
  if (head_buf_.find("\r\n\r\n") == std::string::npos) return;  // CgiResponseParser bounds it
  std::string buf;
  buf.swap(head_buf_);
  HandleHead(buf);
}

void HttpConnection::HandleHead(std::string_view buf) {
  const size_t end = buf.find("\r\n\r\n") + 4;
  CgiHttpHead head;
  Status s = ParseCgiHead(buf.substr(0, end), &head);
  std::string_view rest = buf.substr(end);
  std::string replacement;
  if (!s.ok()) {
    LogWarning("http " + peer_ + ": " + s.message());
    replacement = ErrorResponse(ErrorPage::kInvalidHttpResponse);
  } else if (head.kind == CgiHttpHead::Kind::kLocalRedirect) {
    if (redirects_ < kMaxLocalRedirects) {
      redirect_to_ = head.local_location;  // served once this run finishes
      return;
    }
    LogWarning("http " + peer_ + ": " + EscapeForLog(original_target_) + ": more than " +
               std::to_string(kMaxLocalRedirects) + " local redirects (last to " +
               EscapeForLog(head.local_location) + ")");
    replacement = ErrorResponse(ErrorPage::kTooManyRedirects);
  }
  if (!replacement.empty()) {
    const size_t e = replacement.find("\r\n\r\n") + 4;
    (void)ParseCgiHead(std::string_view(replacement).substr(0, e), &head);
    head.content_length = replacement.size() - e;
    rest = {};
    head_done_ = true;
    framing_ = ChooseFraming(head, method_, minor_version_, false);
    output_.Append(SerializeHttpHead(head, framing_, minor_version_, ServerSoftware()));
    status_ = head.status;
    length_left_ = head.content_length;
    WriteBody(std::string_view(replacement).substr(e));
    redirect_to_ = "-";  // discard the rest of this run's output
    return;
  }
  head_done_ = true;
  const bool keep = client_keep_alive_ && body_done_ && !stop_reading_;
  framing_ = ChooseFraming(head, method_, minor_version_, keep);
  output_.Append(SerializeHttpHead(head, framing_, minor_version_, ServerSoftware()));
  status_ = head.status;
  length_left_ = head.content_length;
  if (!rest.empty()) WriteBody(rest);
  Flush();
}

void HttpConnection::WriteBody(std::string_view data) {
  if (!framing_.send_body || data.empty()) return;
  if (length_left_) {
    if (data.size() > *length_left_) {
      LogWarning("http " + peer_ + ": " + EscapeForLog(original_target_) +
                 ": the program wrote more than its Content-Length; the excess is dropped");
      data = data.substr(0, *length_left_);
    }
    *length_left_ -= data.size();
  }
  if (data.empty()) return;
  body_bytes_ += data.size();
  if (framing_.chunked) {
    output_.Append(ChunkPrefix(data.size()));
    output_.Append(data);
    output_.Append(kChunkSuffix);
  } else {
    output_.Append(data);
  }
  Flush();
}

void HttpConnection::SendStderr(uint16_t id, std::string_view data) {
  (void)id;
  while (!data.empty() && (data.back() == '\n' || data.back() == '\r')) data.remove_suffix(1);
  if (!data.empty()) LogWarning("http " + EscapeForLog(original_target_) + ": stderr: " + std::string(data));
}

void HttpConnection::WaitForOutputSpace(uint16_t id) {
  if (id == request_id_) output_waiting_ = true;
}

void HttpConnection::FinishRequest(uint16_t id, uint32_t app_status, ProtocolStatus status) {
  (void)app_status;
  (void)status;
  auto keep = shared_from_this();
  if (id != request_id_) {  // a request RefuseMalformed stopped: only the graceful stop cares
    if (ctx_.on_request_finished) ctx_.on_request_finished();
    return;
  }
  request_.reset();
  output_waiting_ = false;
  if (closed_) {
    if (head_done_) LogExchange(" (connection closed early)");
    if (ctx_.on_request_finished) ctx_.on_request_finished();
    return;
  }
  if (!redirect_to_.empty() && redirect_to_ != "-" && !closed_) {
    // Local redirect: a new GET without a body for the new path (RFC 3875
    // s6.2.2; Apache turns every method into GET here too).
    ++redirects_;
    LogDebug("http " + peer_ + ": local redirect " + std::to_string(redirects_) + " to " +
             EscapeForLog(redirect_to_));
    method_ = original_method_ == "HEAD" ? "HEAD" : "GET";
    target_ = redirect_to_;
    HttpHeaderFields headers;
    for (const auto& [name, value] : headers_) {
      if (name.size() == 14 || name.size() == 12) {
        std::string lower;
        for (char c : name) lower += static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
        if (lower == "content-length" || lower == "content-type") continue;
      }
      headers.emplace_back(name, value);
    }
    if (ctx_.on_request_finished) ctx_.on_request_finished();
    if (StartCgi(headers) && request_) request_->OnStdinEnd();
    return;
  }
  if (ctx_.on_request_finished) ctx_.on_request_finished();
  EndExchange();
}

void HttpConnection::EndExchange() {
  if (!head_done_) {
    // No response at all (the request was aborted): nothing sensible to send.
    Close("");
    return;
  }
  if (framing_.chunked) output_.Append(kLastChunk);
  bool truncated = false;
  if (framing_.send_body && length_left_ && *length_left_ > 0) {
    truncated = true;
    LogWarning("http " + peer_ + ": " + EscapeForLog(original_target_) + ": the program wrote " +
               std::to_string(*length_left_) + " bytes less than its Content-Length; closing the connection");
  }
  LogExchange(redirects_ > 0 ? " (" + std::to_string(redirects_) + " local redirects)" : "");
  response_done_ = true;
  close_after_ = framing_.close || !body_done_ || stop_reading_ || truncated;
  Flush();
  if (output_.idle()) AfterResponse();
}

// The request's log line: peer, request line, status, body bytes, duration.
void HttpConnection::LogExchange(const std::string& suffix) {
  const double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started_).count();
  char duration[32];
  std::snprintf(duration, sizeof duration, "%.1f ms", ms);
  LogInfo("http " + peer_ + " \"" + original_method_ + " " + EscapeForLog(original_target_, 200) + " " +
          protocol_ + "\" " + std::to_string(status_) + " " + std::to_string(body_bytes_) + " bytes " +
          duration + suffix);
}

void HttpConnection::RespondLocally(ErrorPage page) {
  std::string cgi = ErrorResponse(page);
  const size_t e = cgi.find("\r\n\r\n") + 4;
  CgiHttpHead head;
  (void)ParseCgiHead(std::string_view(cgi).substr(0, e), &head);
  head.content_length = cgi.size() - e;
  HttpFraming framing;
  framing.close = true;
  output_.Append(SerializeHttpHead(head, framing, minor_version_, ServerSoftware()));
  output_.Append(std::string_view(cgi).substr(e));
  LogInfo("http " + peer_ + " \"" + (method_.empty() ? "-" : method_) + " " +
          (target_.empty() ? "-" : EscapeForLog(target_, 200)) + "\" " + std::to_string(head.status) + " " +
          std::to_string(cgi.size() - e) + " bytes");
  in_exchange_ = true;
  response_done_ = true;
  close_after_ = true;
  Flush();
}

void HttpConnection::RefuseMalformed(std::string_view why) {
  LogWarning("http " + peer_ + ": " + EscapeForLog(original_target_, 200) + ": " + std::string(why) +
             (head_done_ ? "; closing the connection" : ": 400"));
  if (head_done_ || response_done_) {
    Close(why);
    return;
  }
  if (request_) {
    auto request = request_;
    request_.reset();  // its FinishRequest is no longer this exchange's
    ++request_id_;
    request->Abort(why);
  }
  RespondLocally(ErrorPage::kBadRequestBody);
}

void HttpConnection::Flush() {
  if (closed_) return;
  output_.Flush(socket_,
                [self = shared_from_this()](const boost::system::error_code& ec) { self->OnWrite(ec); });
}

void HttpConnection::OnWrite(const boost::system::error_code& ec) {
  if (closed_) return;
  if (ec) {
    LogDebug("http " + peer_ + ": write failed: " + ec.message());
    Close("write to the client failed: " + ec.message());
    return;
  }
  if (output_waiting_ && request_ && OutputBacklog() < ctx_.config.buffer_bytes / 2) {
    output_waiting_ = false;
    auto request = request_;
    request->ResumeOutput();
  }
  Flush();
  if (output_.idle() && response_done_) AfterResponse();
}

void HttpConnection::AfterResponse() {
  if (closed_) return;
  if (close_after_ || stop_reading_) {
    Linger();
    return;
  }
  in_exchange_ = false;
  response_done_ = false;
  head_done_ = false;
  method_.clear();
  target_.clear();
  ReadHeader();
}

// Everything is written. Closing with request bytes still unread (a body
// refused with 413, headers past 431) would reset the connection and could
// destroy the response before the client read it: half-close, then read and
// discard until the client closes too, for at most a second.
void HttpConnection::Linger() {
  if (closed_ || lingering_) return;
  lingering_ = true;
  boost::system::error_code ignored;
  socket_.shutdown(Socket::shutdown_send, ignored);
  idle_timer_.expires_after(std::chrono::seconds(1));
  idle_timer_.async_wait([weak = weak_from_this()](const boost::system::error_code& ec) {
    auto self = weak.lock();
    if (!ec && self) self->Close("");
  });
  if (!reading_) Drain();
}

void HttpConnection::Drain() {
  reading_ = true;
  socket_.async_read_some(boost::asio::buffer(body_chunk_),
                          [self = shared_from_this()](const boost::system::error_code& ec, size_t) {
                            self->reading_ = false;
                            if (self->closed_) return;
                            if (ec) {
                              self->Close("");
                              return;
                            }
                            self->Drain();
                          });
}

void HttpConnection::Close(std::string_view why) {
  if (closed_) return;
  closed_ = true;
  idle_timer_.cancel();
  boost::system::error_code ignored;
  socket_.shutdown(Socket::shutdown_both, ignored);
  socket_.close(ignored);
  output_.ClearPending();
  if (request_) {
    auto request = request_;
    request->Abort(why.empty() ? "connection closed" : why);
  }
}

}  // namespace fcgi
