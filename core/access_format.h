// Access log line format (--access-format): a template of literal text and
// %-tokens, parsed once at start-up and rendered per request. Pure.
//
// Tokens:
//   %t  time the request ended, [day/Mon/year:HH:MM:SS +zone] without brackets
//   %T  the same time as ISO 8601 (2026-11-30T12:40:00+0000)
//   %m  request method          %u  request URI (REQUEST_URI, else SCRIPT_NAME)
//   %q  query string            %s  HTTP status sent (499: the client left first)
//   %b  response body bytes     %B  response bytes including the CGI header block
//   %d  duration in ms (integer)       %D  duration in microseconds
//   %p  pid of the program ("-" if none ran)
//   %P  program (file name)     %M  mode that served it (exec, fork, persistent, "-")
//   %r  remote address (REMOTE_ADDR)   %H  server protocol (SERVER_PROTOCOL)
//   %{NAME}e  the FastCGI param NAME (e.g. %{HTTP_USER_AGENT}e)
//   %%  a percent sign
// Empty values print as "-". Control characters, '"' and '\' in values are
// written as \xHH so one request stays one line and fields stay quotable.
#ifndef FCGI_RUN_CORE_ACCESS_FORMAT_H_
#define FCGI_RUN_CORE_ACCESS_FORMAT_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/fcgi_name_value.h"
#include "core/status.h"

namespace fcgi {

// The default: a common-log-style line with duration, program, mode and pid.
inline constexpr const char* kDefaultAccessFormat = "%r - - [%t] \"%m %u %H\" %s %b %d %P %M %p";

// One finished request, as the access log sees it.
struct AccessRecord {
  int64_t end_unix = 0;        // when it ended, seconds since the epoch
  int utc_offset_seconds = 0;  // local time zone at that moment (east positive)
  std::string method, uri, query, remote_addr, protocol;
  int status = 0;
  uint64_t body_bytes = 0;
  uint64_t response_bytes = 0;
  uint64_t duration_us = 0;
  int pid = -1;
  std::string program, mode;
  const NameValuePairs* params = nullptr;  // for %{NAME}e; may be null
};

class AccessFormat {
 public:
  // Parses `format`; an unknown token or a lone '%' at the end is an error
  // naming it.
  static Status Parse(std::string_view format, AccessFormat* out);
  // The line, without the trailing newline.
  std::string Render(const AccessRecord& record) const;
  // Whether any token needs the request params (%{NAME}e).
  bool uses_params() const { return uses_params_; }

 private:
  struct Piece {
    char token = 0;    // 0 = literal text
    std::string text;  // the literal, or NAME for %{NAME}e
  };
  std::vector<Piece> pieces_;
  bool uses_params_ = false;
};

}  // namespace fcgi

#endif  // FCGI_RUN_CORE_ACCESS_FORMAT_H_
