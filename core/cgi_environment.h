// Builds a CGI program's environment from FastCGI params (RFC 3875). Pure; no I/O.
//
// Rules (each one is documented in docs/guide/guarantees.md "Environment"):
//  - start from `base` (the launcher-provided variables chosen with --env, and
//    PATH), then add every param; a param never replaces a base variable (the
//    operator's setting wins), and of duplicate params the last one wins;
//  - a name that is empty or contains '=' or NUL, or a value containing NUL, is
//    dropped and reported in `dropped` (the caller logs it);
//  - HTTP_PROXY is always dropped (httpoxy: a client's "Proxy:" header must not
//    become the program's proxy setting);
//  - a param that configures the dynamic loader, libc or an interpreter
//    (ProtectedVariable below: LD_PRELOAD, BASH_ENV, PERL5OPT, ...) is dropped
//    unless its exact name is in `pass` (--pass-env); --env may set them;
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
  // For a protected variable: the entry of the list it matched ("LD_*",
  // "PERL5OPT"), so that a caller can log each entry once; "" otherwise.
  std::string protected_entry;
};

// A variable that changes how the dynamic loader, libc or an interpreter
// starts the program: what a request may not set. The list, one per line in
// cgi_environment.cc: glibc's variables ignored in secure-execution mode
// (unsecvars.h) and every LD_* and MALLOC_* name; the shells' start-up files,
// options and imported functions (BASH_ENV, ENV, BASH_FUNC_*, SHELLOPTS, ...);
// the module paths and option variables of Perl, Python, Node.js, Ruby, PHP,
// Java, Lua and Tcl; OpenSSL's configuration; git's configuration injection.
// Returns the entry NAME matched ("LD_*" for a prefix entry, the name itself
// for an exact one), or nullptr when NAME is an ordinary variable.
const char* ProtectedVariable(std::string_view name);

// `pass`: protected names (exact) that params may set nonetheless (--pass-env).
CgiEnvironment BuildCgiEnvironment(const NameValuePairs& params, const NameValuePairs& base,
                                   const std::vector<std::string>& pass, std::vector<DroppedParam>* dropped);

// A request's whole environment, as the program gets it in every mode:
// `overrides` (what program resolution sets, e.g. SCRIPT_FILENAME) replace
// params of the same name, then BuildCgiEnvironment, then FCGI_ROLE for the
// request's role (a FCGI_ROLE param is dropped: the role is BEGIN_REQUEST's).
CgiEnvironment BuildRequestEnvironment(NameValuePairs params, const NameValuePairs& overrides,
                                       const NameValuePairs& base, const std::vector<std::string>& pass,
                                       Role role, std::vector<DroppedParam>* dropped);

// CONTENT_LENGTH as a number. nullopt when absent or empty (nginx sends it empty
// for a chunked body with request buffering off); an error value when it is not
// a plain decimal number.
Status ParseContentLength(const NameValuePairs& params, std::optional<uint64_t>* out);

// Escapes bytes outside printable ASCII as \xNN, truncating to `max_len` with "...":
// for putting peer-supplied text into log lines and error bodies.
std::string EscapeForLog(std::string_view text, size_t max_len = 80);

}  // namespace fcgi

#endif  // FCGI_RUN_CORE_CGI_ENVIRONMENT_H_
