// The CGI params (RFC 3875 meta-variables) of an HTTP request received by the
// built-in HTTP front (--http). Pure; no I/O and no HTTP library types: the
// caller passes the request line and the header fields as plain strings.
//
// The result is what nginx sends for the same request with the configuration
// the README's Quick start documents (Debian's /etc/nginx/fastcgi_params plus
// SCRIPT_FILENAME = the program), so a program sees the same environment
// behind either. Deliberate differences (docs/guide/http-front.md "Environment"):
//  - SERVER_SOFTWARE is "fcgi-run/<version>", not "nginx/<version>";
//  - SERVER_NAME is the Host header's host (nginx: its configured server_name);
//  - REMOTE_USER is always empty (fcgi-run authenticates no one; nginx copies
//    the unverified user name of an "Authorization: Basic" header);
//  - repeated header fields are joined with ", " ("; " for Cookie), as nginx
//    >= 1.23 and Apache do (nginx 1.22 sends each one, and the last one wins);
//  - a chunked request body is streamed, so CONTENT_LENGTH is empty (nginx
//    with request buffering on sends the length it buffered).
#ifndef FCGI_RUN_CORE_HTTP_CGI_PARAMS_H_
#define FCGI_RUN_CORE_HTTP_CGI_PARAMS_H_

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/fcgi_name_value.h"
#include "core/status.h"

namespace fcgi {

using HttpHeaderFields = std::vector<std::pair<std::string, std::string>>;

struct HttpRequestLine {
  std::string method;                    // "GET"
  std::string target;                    // request-target as received: "/a%20b/c?x=1"
  std::string protocol;                  // "HTTP/1.1"
  HttpHeaderFields headers;              // in order, names as received
  std::string server_addr, server_port;  // the accepting socket's address: "127.0.0.1", "8080"
  std::string remote_addr, remote_port;  // the client's
};

struct HttpCgiSettings {
  // Single-program mode: the program's absolute path (SCRIPT_FILENAME) and
  // directory (DOCUMENT_ROOT); every path of the site runs it.
  std::string program_path;
  std::string program_dir;
  // Dispatcher mode (--root DIR): non-empty. DOCUMENT_ROOT = DIR,
  // SCRIPT_FILENAME = DIR + path, and the dispatcher splits PATH_INFO.
  std::string document_root;
  std::string server_software = "fcgi-run";
};

// Fills *out. Errors (the caller answers 400): a target that is neither
// origin-form ("/...") nor absolute-form ("http://host/..."), a path with an
// invalid %-escape or NUL, or one whose ".." climbs above "/".
Status BuildHttpCgiParams(const HttpRequestLine& request, const HttpCgiSettings& settings,
                          NameValuePairs* out);

// The path of a request-target, %-decoded, with "//" merged and "." / ".."
// resolved (nginx's $uri). False when it is invalid (see above).
bool NormalizeRequestPath(std::string_view raw_path, std::string* out);

// Splits a request-target into its raw path and query ("" when there is no
// '?'). Absolute-form targets lose their "scheme://authority" part. False when
// the target is neither origin-form nor absolute-form.
bool SplitRequestTarget(std::string_view target, std::string* path, std::string* query);

// The host of a Host header value, lowercased, without its port:
// "Example.com:8080" -> "example.com", "[::1]:80" -> "[::1]" (nginx's $host).
std::string HostWithoutPort(std::string_view host);

// "User-Agent" -> "HTTP_USER_AGENT"; "" when the name has a character other
// than letters, digits and '-' (nginx ignores such fields by default).
std::string HttpHeaderParamName(std::string_view field_name);

}  // namespace fcgi

#endif  // FCGI_RUN_CORE_HTTP_CGI_PARAMS_H_
