#include "core/error_pages.h"

#include <catch2/catch.hpp>

namespace fcgi {
namespace {

TEST_CASE("Error pages: the program's failures name the program and their detail", "[error_pages]") {
  CHECK(ErrorStatus(ErrorPage::kTimedOut) == 504);
  CHECK(ErrorBody(ErrorPage::kTimedOut, "hello.cgi") == "fcgi-run: hello.cgi did not finish in time");
  CHECK(ErrorStatus(ErrorPage::kInvalidResponse) == 502);
  CHECK(ErrorBody(ErrorPage::kInvalidResponse, "a.cgi", "no Content-Type") ==
        "fcgi-run: a.cgi sent an invalid response: no Content-Type");
  CHECK(ErrorBody(ErrorPage::kNoValidResponse, "a.cgi", "no header; exited with status 1") ==
        "fcgi-run: a.cgi ended without a valid response (no header; exited with status 1)");
  CHECK(ErrorStatus(ErrorPage::kCannotStart) == 502);
  CHECK(ErrorBody(ErrorPage::kCannotStart, "a.cgi") == "fcgi-run: could not start a.cgi");
}

TEST_CASE("Error pages: the request's refusals say nothing of paths", "[error_pages]") {
  CHECK(ErrorStatus(ErrorPage::kNoSuchProgram) == 404);
  CHECK(ErrorBody(ErrorPage::kNoSuchProgram, "secret.cgi", "/srv/secret.cgi") == "fcgi-run: no such program");
  CHECK(ErrorStatus(ErrorPage::kProgramDenied) == 403);
  CHECK(ErrorStatus(ErrorPage::kOverloaded) == 503);
  CHECK(ErrorStatus(ErrorPage::kBodyTooLarge) == 413);
  CHECK(ErrorStatus(ErrorPage::kParamsTooLarge) == 431);
  CHECK(ErrorBody(ErrorPage::kParamsRejected, "", "truncated pair") ==
        "fcgi-run: request parameters rejected: truncated pair");
}

TEST_CASE("ErrorResponse is a whole CGI response", "[error_pages]") {
  CHECK(ErrorResponse(ErrorPage::kTimedOut, "x") ==
        "Status: 504 Gateway Timeout\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
        "fcgi-run: x did not finish in time\n");
}

TEST_CASE("StderrLogLine", "[error_pages]") {
  CHECK(StderrLogLine("a.cgi", "oops\r\n") == "a.cgi stderr: oops");
  CHECK(StderrLogLine("a.cgi", "\n\n").empty());
  CHECK(StderrLogLine("a.cgi", "one\ntwo\n") == "a.cgi stderr: one\ntwo");
}

}  // namespace
}  // namespace fcgi
