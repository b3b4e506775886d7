// HttpConnection: one HTTP/1.x client connection of the built-in HTTP front
// (--http), on the reactor. Parses requests with Boost.Beast, turns each into
// CGI params (core/http_cgi_params) and serves it through a CgiRequest exactly
// as the FastCGI Connection does, then turns the CGI response into HTTP
// (core/cgi_to_http): chunked or Content-Length framing, HEAD without a body,
// keep-alive, local redirects served internally (at most kMaxLocalRedirects).
//
// One request at a time per connection (no pipelining of responses: the next
// request is read once the previous response is finished). Bounded like the
// FastCGI side: output beyond --buffer pauses the program (through
// WaitForOutputSpace); request body beyond --body-spool not yet taken by the
// program pauses reading the socket. A header block above --http-max-header
// gets 431; --max-body is enforced by CgiRequest (413).
//
// Ownership: created as shared_ptr by HttpFront's accept loop; kept alive by
// its pending I/O and by its CgiRequest (which holds it as its RequestSink).
#ifndef FCGI_RUN_LAUNCHER_FRONT_HTTP_CONNECTION_H_
#define FCGI_RUN_LAUNCHER_FRONT_HTTP_CONNECTION_H_

#include <array>
#include <boost/asio/generic/stream_protocol.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "core/cgi_to_http.h"
#include "core/error_pages.h"
#include "core/http_cgi_params.h"
#include "launcher/front/output_queue.h"
#include "launcher/request/request_sink.h"
#include "launcher/request/server_context.h"

namespace fcgi {

class CgiRequest;

struct HttpFrontSettings {
  HttpCgiSettings cgi;
  size_t max_header_bytes = 64 * 1024;
  std::chrono::steady_clock::duration idle_timeout = std::chrono::seconds(60);
};

class HttpConnection : public std::enable_shared_from_this<HttpConnection>, public RequestSink {
 public:
  using Socket = boost::asio::generic::stream_protocol::socket;

  // `settings` must outlive the connection (owned by HttpFront).
  HttpConnection(ServerContext& ctx, const HttpFrontSettings& settings, Socket socket);
  HttpConnection(const HttpConnection&) = delete;
  HttpConnection& operator=(const HttpConnection&) = delete;
  ~HttpConnection() override;

  void Start();
  // Graceful shutdown: the response in progress finishes, then the connection closes.
  void StopReading();
  // Closes now; a running request is aborted.
  void Abort(std::string_view why) { Close(why); }
  bool closed() const { return closed_; }

  // RequestSink (called by the CgiRequest).
  void SendStdout(uint16_t id, std::string_view data) override;
  void SendStderr(uint16_t id, std::string_view data) override;
  void FinishRequest(uint16_t id, uint32_t app_status, ProtocolStatus status) override;
  size_t OutputBacklog() const override { return output_.backlog(); }
  void WaitForOutputSpace(uint16_t id) override;
  void StdinDrained() override;
  Origin RequestOrigin() const override { return Origin{true, remote_addr_, redirects_ > 0}; }

 private:
  using Parser = boost::beast::http::request_parser<boost::beast::http::buffer_body>;

  // Parses what buffer_ holds, reading from the socket as needed, until the
  // header block is complete (kHeader) or the parser made any progress
  // (kProgress: body bytes, a chunk header, the end), then calls `then`.
  // Beast's own async_read_header/async_read_some loop the same way but
  // wait for ever for a CRLF that a bare LF never gives; here, whenever the
  // parser needs more, the bytes it holds unparsed are checked
  // (core/http_framing.h: no bare LF; past the header, at most
  // --http-max-header of a chunk line or trailer).
  enum class ParseUntil { kHeader, kProgress };
  void Parse(ParseUntil until, std::function<void(const boost::system::error_code&)> then);
  void ReadHeader();
  void OnHeader(const boost::system::error_code& ec);
  // Runs the program for the current exchange (target_, method_); false when
  // the request was answered without one (bad target).
  bool StartCgi(const HttpHeaderFields& headers);
  void ReadBody();
  void OnBody(const boost::system::error_code& ec);
  void WatchPeer();
  void HandleHead(std::string_view block_and_body);
  void WriteBody(std::string_view data);
  // A complete response made by fcgi-run itself (400, 431, 500...); the
  // connection closes after it.
  void RespondLocally(ErrorPage page);
  // The request's framing is broken (RFC 9112: answer 400 and close): the
  // program, if one runs, is stopped and its output dropped; 400 if no
  // response has begun, else the connection just closes.
  void RefuseMalformed(std::string_view why);
  void EndExchange();
  void LogExchange(const std::string& suffix);
  void Flush();
  void OnWrite(const boost::system::error_code& ec);
  void AfterResponse();
  void Linger();
  void Drain();
  void ArmIdleTimer();
  void Close(std::string_view why);

  ServerContext& ctx_;
  const HttpFrontSettings& settings_;
  Socket socket_;
  boost::asio::steady_timer idle_timer_;
  std::string peer_;  // "127.0.0.1:45678"
  std::string local_addr_, local_port_, remote_addr_, remote_port_;
  boost::beast::flat_buffer buffer_;
  std::optional<Parser> parser_;
  std::array<char, 64 * 1024> body_chunk_;
  bool reading_ = false;
  bool input_paused_ = false;
  bool watching_ = false;
  bool stop_reading_ = false;
  bool lingering_ = false;
  bool closed_ = false;

  // The exchange in progress.
  std::shared_ptr<CgiRequest> request_;
  uint16_t request_id_ = 0;
  bool in_exchange_ = false;
  std::string method_, target_, protocol_;
  std::string original_method_, original_target_;
  int minor_version_ = 1;
  bool client_keep_alive_ = true;
  bool body_done_ = false;
  HttpHeaderFields headers_;
  std::chrono::steady_clock::time_point started_;
  int redirects_ = 0;
  std::string redirect_to_;  // a local redirect is pending: output of this run is discarded
  std::string head_buf_;
  bool head_done_ = false;
  HttpFraming framing_;
  int status_ = 0;
  std::optional<uint64_t> length_left_;  // the program's Content-Length not yet sent
  uint64_t body_bytes_ = 0;
  bool response_done_ = false;
  bool close_after_ = false;
  bool output_waiting_ = false;

  OutputQueue output_;
};

}  // namespace fcgi

#endif  // FCGI_RUN_LAUNCHER_FRONT_HTTP_CONNECTION_H_
