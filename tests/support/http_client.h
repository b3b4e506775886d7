// HTTP clients for the end-to-end tests: curl as a subprocess (everything
// curl can do: POST from a file, chunked upload) and a tiny raw HTTP/1.0
// client over a socket that timestamps every arrival (to prove streaming).
#ifndef FCGI_RUN_TESTS_SUPPORT_HTTP_CLIENT_H_
#define FCGI_RUN_TESTS_SUPPORT_HTTP_CLIENT_H_

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace fcgi::test {

struct HttpResponse {
  bool ok = false;          // a complete status line and header block arrived
  std::string error;        // why not (curl's stderr, a socket error, ...)
  int status = 0;           // 200, 502, ...
  std::string status_line;  // "HTTP/1.1 200 OK"
  std::vector<std::pair<std::string, std::string>> headers;  // in order, as sent
  std::string body;
  double seconds = 0;  // total wall time of the exchange

  // Arrivals (raw client only): after each read, the seconds since the request
  // was sent and the number of body bytes received so far.
  struct Arrival {
    double seconds;
    size_t body_bytes;
  };
  std::vector<Arrival> arrivals;

  // Value of the first header named `name` (case-insensitive), "" if none.
  std::string Header(std::string_view name) const;
  bool HasHeader(std::string_view name) const;
  // Seconds at which the body first contained `needle`; -1 if it never did.
  double ArrivalOf(std::string_view needle) const;
};

// Parses "HTTP/1.x NNN ...\r\nheaders\r\n\r\nbody", skipping any 1xx blocks.
HttpResponse ParseHttpResponse(std::string_view raw);

struct CurlRequest {
  std::string url{};
  std::string method{};                   // "" = GET, or POST when a body is given
  std::vector<std::string> headers{};     // "Name: value"
  std::string body{};                     // sent with --data-binary @- (stdin)
  std::string body_file{};                // or --data-binary @file
  bool chunked = false;                   // Transfer-Encoding: chunked upload
  std::vector<std::string> extra_args{};  // anything else for curl (e.g. "-F", "file=@x")
  double max_time = 30;                   // --max-time
};

// Runs `curl -sS -i --max-time N ...`. ok=false (with curl's stderr) when curl
// fails, e.g. on a timeout or a connection reset.
HttpResponse Curl(const CurlRequest& request);
// GET shorthand.
HttpResponse CurlGet(const std::string& url, double max_time = 30);

// Raw HTTP/1.0 GET to 127.0.0.1:port (Connection: close; the response is read
// to EOF), with timestamps of every arrival. `extra_headers`: "Name: value".
HttpResponse RawHttpGet(int port, const std::string& path, const std::vector<std::string>& extra_headers = {},
                        double timeout_seconds = 30);

}  // namespace fcgi::test

#endif  // FCGI_RUN_TESTS_SUPPORT_HTTP_CLIENT_H_
