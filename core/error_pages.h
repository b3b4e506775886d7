// What fcgi-run says when it answers in a program's place: the status and the
// one-line body of every error response the launcher makes itself (the
// FastCGI side and the HTTP front), in one table, and what a program's stderr
// becomes in fcgi-run's log.
//
// A body names the program by its display name (its basename) at most, and
// carries a detail only where the table says so: the rest of what went wrong
// (paths, system errors) goes to the log, not to the client. Pure.
#ifndef FCGI_RUN_CORE_ERROR_PAGES_H_
#define FCGI_RUN_CORE_ERROR_PAGES_H_

#include <string>
#include <string_view>

namespace fcgi {

enum class ErrorPage {
  // The request itself (before any program runs).
  kInvalidContentLength,  // 400
  kParamsRejected,        // 400: FastCGI params not decodable (detail: why)
  kParamsTooLarge,        // 431: FastCGI params past --max-params (detail: why)
  kBodyTooLarge,          // 413: past --max-body
  kNoSuchProgram,         // 404
  kProgramDenied,         // 403
  kStatusPageRefused,     // 403: --status-path for a client --status-allow leaves out
  kNoProgram,             // 500: the program could not be chosen
  kOverloaded,            // 503: --workers and --queue are full
  kOutOfResources,        // 503: no pipes for the program
  kCannotStoreBody,       // 503
  kCannotReadBody,        // 503
  // The program.
  kCannotStart,      // 502
  kInvalidResponse,  // 502: its header block is invalid (detail: the parser's error)
  kNoValidResponse,  // 502: it ended without a whole header block (detail: why, how it ended)
  kTimedOut,         // 504: --timeout
  // The HTTP front (http_front.h).
  kHeaderFieldsTooLarge,          // 431: past --http-max-header
  kBadRequest,                    // 400
  kBadRequestTarget,              // 400
  kBadRequestBody,                // 400: its framing is broken (RFC 9112)
  kTransferCodingNotImplemented,  // 501: a coding before chunked (gzip...)
  kInvalidHttpResponse,           // 502: the program's header block does not make an HTTP response
  kTooManyRedirects,              // 500: local redirects
};

// The HTTP status of the page.
int ErrorStatus(ErrorPage page);

// The page's body line ("fcgi-run: hello.cgi did not finish in time").
// `program`: the display name, for the pages of the program; `detail`: for
// the pages that say they carry one.
std::string ErrorBody(ErrorPage page, std::string_view program = {}, std::string_view detail = {});

// The whole CGI response (MakeCgiErrorResponse): what the client is sent.
std::string ErrorResponse(ErrorPage page, std::string_view program = {}, std::string_view detail = {});

// The log line for what a program wrote to its stderr (--stderr log): the
// chunk without its trailing line ends, after "PROGRAM stderr: ". Empty when
// nothing is left to log.
std::string StderrLogLine(std::string_view program, std::string_view chunk);

}  // namespace fcgi

#endif  // FCGI_RUN_CORE_ERROR_PAGES_H_
