// Builds a CGI program's environment from FastCGI params (RFC 3875). Pure; no I/O.
//
// Rules (each one is documented in docs/guide/guarantees.md "Environment"):
//  - start from `base` (the launcher-provided variables chosen with --env), then
//    add every param; a param overrides a base variable of the same name, and of
//    duplicate params the last one wins;
//  - a name that is empty or contains '=' or NUL, or a value containing NUL, is
//    dropped and reported in `dropped` (the caller logs it);
//  - HTTP_PROXY is always dropped (httpoxy: a client's "Proxy:" header must not
//    become the program's proxy setting);
//  - GATEWAY_INTERFACE=CGI/1.1 is added when absent, QUERY_STRING="" when absent.
#ifndef FCGI_RUN_CORE_CGI_ENVIRONMENT_H_
#define FCGI_RUN_CORE_CGI_ENVIRONMENT_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/fcgi_name_value.h"
#include "core/fcgi_protocol.h"
#include "core/status.h"

namespace fcgi {

struct CgiEnvironment {
  std::vector<std::string> entries;  // "NAME=VALUE", in a stable order, names unique
  // Value of NAME as a NUL-terminated string inside `entries` (valid until they
  // change), or nullptr.
  const char* Find(std::string_view name) const;
};

struct DroppedParam {
  std::string name;    // as received (may contain odd bytes; escape before logging)
  std::string reason;  // "name contains '='", "HTTP_PROXY (httpoxy)", ...
};

CgiEnvironment BuildCgiEnvironment(const NameValuePairs& params, const NameValuePairs& base,
                                   std::vector<DroppedParam>* dropped);

// A request's whole environment, as the program gets it in every mode:
// `overrides` (what program
// resolution sets, e.g. SCRIPT_FILENAME) replace params of the same name, then
// BuildCgiEnvironment, then FCGI_ROLE for the request's role unless a param
// set it.
CgiEnvironment BuildRequestEnvironment(NameValuePairs params, const NameValuePairs& overrides,
                                       const NameValuePairs& base, Role role,
                                       std::vector<DroppedParam>* dropped);

// CONTENT_LENGTH as a number. nullopt when absent or empty (nginx sends it empty
// for a chunked body with request buffering off); an error value when it is not
// a plain decimal number.
Status ParseContentLength(const NameValuePairs& params, std::optional<uint64_t>* out);

// Escapes bytes outside printable ASCII as \xNN, truncating to `max_len` with "...":
// for putting peer-supplied text into log lines and error bodies.
std::string EscapeForLog(std::string_view text, size_t max_len = 80);

}  // namespace fcgi

#endif  // FCGI_RUN_CORE_CGI_ENVIRONMENT_H_
