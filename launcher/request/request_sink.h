// RequestSink: where a CgiRequest sends what its program produces, and how it
// learns about backpressure. Implemented by the FastCGI Connection; an HTTP
// front implements it too, so both serve requests through the same CgiRequest.
//
// All calls happen on the reactor thread. `id` is the request's id within the
// sink (the FastCGI requestId).
#ifndef FCGI_RUN_LAUNCHER_REQUEST_REQUEST_SINK_H_
#define FCGI_RUN_LAUNCHER_REQUEST_REQUEST_SINK_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/fcgi_protocol.h"

namespace fcgi {

class RequestSink {
 public:
  virtual ~RequestSink() = default;
  // CGI response bytes (the header block, then the body), in order.
  virtual void SendStdout(uint16_t id, std::string_view data) = 0;
  virtual void SendStderr(uint16_t id, std::string_view data) = 0;
  // The request is over; the sink drops its reference to the request.
  virtual void FinishRequest(uint16_t id, uint32_t app_status, ProtocolStatus status) = 0;
  // Output accepted but not yet written to the peer.
  virtual size_t OutputBacklog() const = 0;
  // Asks for CgiRequest::ResumeOutput() once the backlog has drained.
  virtual void WaitForOutputSpace(uint16_t id) = 0;
  // The request consumed buffered input: the sink may read its peer again.
  virtual void StdinDrained() = 0;

  // Where the request comes from, for the built-in pages' access rule
  // (builtin_pages.h). The FastCGI connection's default: a web server, which
  // knows its client (REMOTE_ADDR); the HTTP front gives its own client's
  // address and whether the request is a local redirect it makes itself.
  struct Origin {
    bool http_front = false;
    std::string client_addr;      // the HTTP front's peer ("" for FastCGI)
    bool local_redirect = false;  // the HTTP front serves a CGI's "Location: /path"
  };
  virtual Origin RequestOrigin() const { return {}; }
};

}  // namespace fcgi

#endif  // FCGI_RUN_LAUNCHER_REQUEST_REQUEST_SINK_H_
