// CgiToHttp: turns a CGI response (the normalised header block CgiResponseParser
// hands out, then the body) into an HTTP/1.x response for the built-in HTTP
// front. Pure; no I/O.
//
// RFC 3875 s6.2: a document response keeps its Status (default 200); a client
// redirect (Location with an absolute URI, no Status) becomes 302; a local
// redirect (Location starting with '/', no Status) is not sent to the client:
// the front serves the new path itself (GET, no body, as Apache does), at most
// kMaxLocalRedirects times per request. NPH output arrives here already turned
// into "Status:" by CgiResponseParser.
//
// Framing: the program's Content-Length is kept when it is a valid number
// (the front then checks the body against it); otherwise an HTTP/1.1 response
// is chunked and an HTTP/1.0 one ends when the connection closes. HEAD
// responses and 1xx/204/304 carry no body.
#ifndef FCGI_RUN_CORE_CGI_TO_HTTP_H_
#define FCGI_RUN_CORE_CGI_TO_HTTP_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/status.h"

namespace fcgi {

inline constexpr int kMaxLocalRedirects = 10;

struct CgiHttpHead {
  enum class Kind { kDocument, kClientRedirect, kLocalRedirect };
  Kind kind = Kind::kDocument;
  int status = 200;
  std::string reason;  // never empty
  // Header fields to send, in order (Status and hop-by-hop fields removed:
  // Connection, Keep-Alive, Transfer-Encoding, TE, Trailer, Upgrade,
  // Proxy-Connection; Content-Length too: see content_length).
  std::vector<std::pair<std::string, std::string>> headers;
  std::optional<uint64_t> content_length;  // the program's, when valid
  std::string local_location;              // kLocalRedirect: "/path?query"
};

// Parses a complete CGI header block ("Name: value\r\n"... "\r\n"). Errors
// (kProtocolError) for a block without its blank line or a malformed line or
// Status: the front then answers 502.
Status ParseCgiHead(std::string_view block, CgiHttpHead* out);

struct HttpFraming {
  bool send_body = true;  // false: HEAD, 1xx, 204, 304
  bool chunked = false;   // Transfer-Encoding: chunked
  bool close = false;     // Connection: close, end the connection after the body
};

// How to frame `head` for a request of `method` over HTTP/1.<minor_version>.
// `keep_alive`: the client allows another request on this connection and the
// request body was read to its end.
HttpFraming ChooseFraming(const CgiHttpHead& head, std::string_view method, int minor_version,
                          bool keep_alive);

// "HTTP/1.1 200 OK\r\n" + fields + framing fields + "\r\n". `server`: the
// Server field's value ("" = none).
std::string SerializeHttpHead(const CgiHttpHead& head, const HttpFraming& framing, int minor_version,
                              std::string_view server);

// Chunked transfer coding: the size line before `size` bytes of data, the
// CRLF after them, and the last chunk.
std::string ChunkPrefix(size_t size);
inline constexpr std::string_view kChunkSuffix = "\r\n";
inline constexpr std::string_view kLastChunk = "0\r\n\r\n";

}  // namespace fcgi

#endif  // FCGI_RUN_CORE_CGI_TO_HTTP_H_
