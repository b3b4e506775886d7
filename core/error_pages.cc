#include "core/error_pages.h"

#include "core/cgi_response_parser.h"  // MakeCgiErrorResponse
#include "core/strings.h"

namespace fcgi {

int ErrorStatus(ErrorPage page) {
  switch (page) {
    case ErrorPage::kInvalidContentLength:
    case ErrorPage::kParamsRejected:
    case ErrorPage::kBadRequest:
    case ErrorPage::kBadRequestTarget:
    case ErrorPage::kBadRequestBody:
      return 400;
    case ErrorPage::kProgramDenied:
    case ErrorPage::kStatusPageRefused:
      return 403;
    case ErrorPage::kNoSuchProgram:
      return 404;
    case ErrorPage::kBodyTooLarge:
      return 413;
    case ErrorPage::kParamsTooLarge:
    case ErrorPage::kHeaderFieldsTooLarge:
      return 431;
    case ErrorPage::kNoProgram:
    case ErrorPage::kTooManyRedirects:
      return 500;
    case ErrorPage::kCannotStart:
    case ErrorPage::kInvalidResponse:
    case ErrorPage::kNoValidResponse:
    case ErrorPage::kInvalidHttpResponse:
      return 502;
    case ErrorPage::kOverloaded:
    case ErrorPage::kOutOfResources:
    case ErrorPage::kCannotStoreBody:
    case ErrorPage::kCannotReadBody:
      return 503;
    case ErrorPage::kTransferCodingNotImplemented:
      return 501;
    case ErrorPage::kTimedOut:
      return 504;
  }
  return 500;
}

std::string ErrorBody(ErrorPage page, std::string_view program, std::string_view detail) {
  const std::string name(program), more(detail);
  switch (page) {
    case ErrorPage::kInvalidContentLength:
      return "fcgi-run: invalid CONTENT_LENGTH";
    case ErrorPage::kParamsRejected:
    case ErrorPage::kParamsTooLarge:
      return "fcgi-run: request parameters rejected: " + more;
    case ErrorPage::kBodyTooLarge:
      return "fcgi-run: request body too large";
    case ErrorPage::kNoSuchProgram:
      return "fcgi-run: no such program";
    case ErrorPage::kProgramDenied:
      return "fcgi-run: this program may not be run";
    case ErrorPage::kStatusPageRefused:
      return "fcgi-run: the status page is not available to this client";
    case ErrorPage::kNoProgram:
      return "fcgi-run: cannot choose the program";
    case ErrorPage::kOverloaded:
      return "fcgi-run: server overloaded, try again later";
    case ErrorPage::kOutOfResources:
      return "fcgi-run: cannot start the program (out of resources)";
    case ErrorPage::kCannotStoreBody:
      return "fcgi-run: cannot store the request body";
    case ErrorPage::kCannotReadBody:
      return "fcgi-run: cannot read back the request body";
    case ErrorPage::kCannotStart:
      return "fcgi-run: could not start " + name;
    case ErrorPage::kInvalidResponse:
      return "fcgi-run: " + name + " sent an invalid response: " + more;
    case ErrorPage::kNoValidResponse:
      return "fcgi-run: " + name + " ended without a valid response (" + more + ")";
    case ErrorPage::kTimedOut:
      return "fcgi-run: " + name + " did not finish in time";
    case ErrorPage::kHeaderFieldsTooLarge:
      return "fcgi-run: request header fields too large";
    case ErrorPage::kBadRequest:
      return "fcgi-run: bad request";
    case ErrorPage::kBadRequestTarget:
      return "fcgi-run: bad request target";
    case ErrorPage::kBadRequestBody:
      return "fcgi-run: bad request body";
    case ErrorPage::kTransferCodingNotImplemented:
      return "fcgi-run: transfer coding not implemented";
    case ErrorPage::kInvalidHttpResponse:
      return "fcgi-run: the program sent an invalid response";
    case ErrorPage::kTooManyRedirects:
      return "fcgi-run: too many local redirects";
  }
  return "fcgi-run: error";
}

std::string ErrorResponse(ErrorPage page, std::string_view program, std::string_view detail) {
  return MakeCgiErrorResponse(ErrorStatus(page), "", ErrorBody(page, program, detail));
}

std::string StderrLogLine(std::string_view program, std::string_view chunk) {
  chunk = TrimLineEnds(chunk);
  if (chunk.empty()) return "";
  std::string line(program);
  line += " stderr: ";
  line += chunk;
  return line;
}

}  // namespace fcgi
