// Pages the launcher answers itself, without running a program (php-fpm's
// pm.status_path and ping.path): --status-path and --ping-path, matched on
// the request's DOCUMENT_URI or SCRIPT_NAME param (nginx's fastcgi_params and
// the HTTP front send both; Apache sends SCRIPT_NAME). Off unless configured.
// Both go through CgiRequest like any request, so they are counted, logged in
// the access log and reachable from the HTTP front too.
//
// Who gets them: a local redirect made by the HTTP front (a program's
// "Location: /path") never reaches either page: it runs the program as any
// other path would. The status page (which lists every running request's
// URI and query string with ?full) answers only clients allowed by
// --status-allow, matched against the HTTP front's peer address or, over
// FastCGI, the REMOTE_ADDR param; without the option: loopback peers of the
// HTTP front (no web server stands in front of it to restrict the path) and
// every FastCGI request (the web server's location decides). Others get 403.
// The ping page answers anyone: it says nothing but --ping-response.
#ifndef FCGI_RUN_LAUNCHER_REQUEST_BUILTIN_PAGES_H_
#define FCGI_RUN_LAUNCHER_REQUEST_BUILTIN_PAGES_H_

#include <string>

#include "core/fcgi_name_value.h"
#include "core/status_page.h"
#include "launcher/request/request_sink.h"
#include "launcher/request/server_context.h"

namespace fcgi {

// If `params` ask for the status or ping page: *cgi_response = the complete
// CGI response (header block and body), *status = its HTTP status; true.
bool AnswerBuiltinPage(const ServerContext& ctx, const NameValuePairs& params,
                       const RequestSink::Origin& origin, std::string* cgi_response, int* status);

// The status snapshot now (counters, queue, worker classes; active requests
// when `full`).
StatusSnapshot TakeStatusSnapshot(const ServerContext& ctx, bool full);

}  // namespace fcgi

#endif  // FCGI_RUN_LAUNCHER_REQUEST_BUILTIN_PAGES_H_
