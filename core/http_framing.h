// How the built-in HTTP front (--http) delimits a request's body: the checks
// of RFC 9112 it applies on top of Boost.Beast's parser. Pure; no I/O and no
// HTTP library types.
//
// What Beast does, and what it leaves to us:
//  - it takes a Transfer-Encoding whose last coding is "chunked" as a chunked
//    body, and refuses Transfer-Encoding together with Content-Length and
//    conflicting Content-Lengths; but a Transfer-Encoding that does not end in
//    "chunked" ("gzip", "identity", "xchunked", "chunked, identity") makes it
//    treat the request as having no body, so the body would be read as the
//    next request (request smuggling). CheckRequestFraming refuses those.
//  - it decodes the chunked coding but no other coding: "gzip, chunked" would
//    reach the program still compressed. CheckRequestFraming answers 501.
//  - it ends lines at CRLF only and, meanwhile, waits for more input: a chunk
//    line (or a header line) ending in a bare LF never completes and the
//    request hangs. PendingLinesValid lets the caller refuse it (400): fcgi-run
//    takes the strict reading of RFC 9112 section 2.2 (a lone LF is not a line
//    end: a proxy in front may read it differently) for the header block, the
//    chunk-size lines and the trailer fields alike.
//  - it does not bound a chunk line (extensions) or the trailer section: the
//    caller bounds what it holds unparsed (--http-max-header).
#ifndef FCGI_RUN_CORE_HTTP_FRAMING_H_
#define FCGI_RUN_CORE_HTTP_FRAMING_H_

#include <string_view>

#include "core/http_cgi_params.h"  // HttpHeaderFields
#include "core/status.h"

namespace fcgi {

// Checks the request's Transfer-Encoding fields (RFC 9112 sections 6.1 and
// 6.3) for an HTTP/1.`minor_version` request. OK: no Transfer-Encoding, or
// exactly the chunked coding on HTTP/1.1. Otherwise an error whose message
// says why, and *status = the response's status (the connection closes after
// it): 400 for a Transfer-Encoding that does not end in "chunked", names
// "chunked" twice, is empty, or comes with HTTP/1.0; 501 for a coding before
// "chunked" (gzip, deflate...), which fcgi-run does not decode.
Status CheckRequestFraming(const HttpHeaderFields& headers, int minor_version, int* status);

// `pending`: the bytes a parser holds unparsed while it waits for the end of
// a line. False when a bare LF (one not preceded by CR) is among them: such a
// line never ends for the parser.
bool PendingLinesValid(std::string_view pending);

}  // namespace fcgi

#endif  // FCGI_RUN_CORE_HTTP_FRAMING_H_
