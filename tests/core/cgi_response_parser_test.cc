#include "core/cgi_response_parser.h"

#include <catch2/catch.hpp>

#include <string>

namespace fcgi {
namespace {

using State = CgiResponseParser::State;
using Headers = std::vector<std::pair<std::string, std::string>>;
using std::string_literals::operator""s;

// Everything the parser tells about one run, for comparing runs.
struct Outcome {
  State state;
  std::string to_client;  // normalised headers + body, as the caller would forward it
  std::string error;
  int status = 0;
  std::string reason;
  Headers headers;
  bool nph = false;
  bool operator==(const Outcome&) const = default;
};

// Feeds `output` in the given pieces the way the launcher does: once the headers
// are done, the rest is forwarded without the parser; at the end, Finish().
Outcome Run(const std::vector<std::string_view>& pieces, size_t max = kDefaultMaxHeaderBytes) {
  CgiResponseParser parser(max);
  Outcome o;
  for (std::string_view piece : pieces) {
    if (parser.state() == State::kHeaders) {
      parser.Feed(piece, &o.to_client);
    } else if (parser.state() == State::kBody) {
      o.to_client.append(piece);
    }
  }
  o.state = parser.Finish();
  o.error = parser.error();
  o.status = parser.status_code();
  o.reason = parser.status_reason();
  o.headers = parser.headers();
  o.nph = parser.is_nph();
  return o;
}

Outcome RunWhole(std::string_view output, size_t max = kDefaultMaxHeaderBytes) { return Run({output}, max); }

Outcome RunBytewise(std::string_view output, size_t max = kDefaultMaxHeaderBytes) {
  std::vector<std::string_view> pieces;
  for (size_t i = 0; i < output.size(); ++i) pieces.push_back(output.substr(i, 1));
  return Run(pieces, max);
}

// Asserts that every way of cutting `output` in two or three gives `expected`.
void CheckAllSplits(std::string_view output, const Outcome& expected, size_t max = kDefaultMaxHeaderBytes) {
  for (size_t i = 0; i <= output.size(); ++i) {
    for (size_t j = i; j <= output.size(); ++j) {
      INFO("split at " << i << " and " << j);
      REQUIRE(Run({output.substr(0, i), output.substr(i, j - i), output.substr(j)}, max) == expected);
    }
  }
  REQUIRE(RunBytewise(output, max) == expected);
}

std::string ErrorOf(std::string_view output, size_t max = kDefaultMaxHeaderBytes) {
  Outcome o = RunWhole(output, max);
  CHECK(o.state == State::kError);
  CHECK(RunBytewise(output, max).error == o.error);
  return o.error;
}

TEST_CASE("CgiResponseParser: a plain response is normalised to CRLF", "[cgi_response]") {
  Outcome o = RunWhole("Content-Type: text/html\n\n<p>hi</p>\n");
  CHECK(o.state == State::kBody);
  CHECK(o.to_client == "Content-Type: text/html\r\n\r\n<p>hi</p>\n");
  CHECK(o.status == 200);
  CHECK(o.reason.empty());
  CHECK(o.headers == Headers{{"Content-Type", "text/html"}});
  CHECK_FALSE(o.nph);
}

TEST_CASE("CgiResponseParser: every split point gives the same result", "[cgi_response]") {
  const std::string sample =
      "Status: 404 Not Found\r\n"
      "Content-Type: text/plain\n"
      "Set-Cookie: a=1\r\n"
      "Set-Cookie: b=2\n"
      "\r\n"
      "Location: http://body.example/\n\nStatus: 500\r\n";
  Outcome expected = RunWhole(sample);
  REQUIRE(expected.state == State::kBody);
  CHECK(expected.to_client ==
        "Status: 404 Not Found\r\nContent-Type: text/plain\r\nSet-Cookie: a=1\r\n"
        "Set-Cookie: b=2\r\n\r\nLocation: http://body.example/\n\nStatus: 500\r\n");
  CHECK(expected.status == 404);
  CHECK(expected.reason == "Not Found");
  CheckAllSplits(sample, expected);
}

TEST_CASE("CgiResponseParser: split points of NPH and error outputs", "[cgi_response]") {
  for (std::string_view output :
       {std::string_view("HTTP/1.1 301 Moved\r\nLocation: /x\r\n\r\nbody"),
        std::string_view("Hello world\nmore\n\n"), std::string_view("X: 1\nbad line\n\n"),
        std::string_view("\r\nbody"), std::string_view("Status: 7\n\n"),
        std::string_view("Content-Type: text/plain\n")}) {
    INFO(output);
    CheckAllSplits(output, RunWhole(output));
  }
}

TEST_CASE("CgiResponseParser: CRLF, LF and mixed line ends", "[cgi_response]") {
  const std::string expected = "A: 1\r\nB: 2\r\n\r\nz";
  CHECK(RunWhole("A: 1\r\nB: 2\r\n\r\nz").to_client == expected);
  CHECK(RunWhole("A: 1\nB: 2\n\nz").to_client == expected);
  CHECK(RunWhole("A: 1\r\nB: 2\n\r\nz").to_client == expected);
  CHECK(RunWhole("A: 1\nB: 2\r\n\nz").to_client == expected);
}

TEST_CASE("CgiResponseParser: NPH status line becomes a Status header", "[cgi_response]") {
  Outcome o = RunWhole("HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nServer: x\r\n\r\nno");
  CHECK(o.state == State::kBody);
  CHECK(o.nph);
  CHECK(o.status == 404);
  CHECK(o.reason == "Not Found");
  CHECK(o.to_client == "Status: 404 Not Found\r\nContent-Type: text/plain\r\nServer: x\r\n\r\nno");
  CHECK(o.headers == Headers{{"Content-Type", "text/plain"}, {"Server", "x"}});

  o = RunWhole("HTTP/1.0 200 OK\n\n");
  CHECK(o.to_client == "Status: 200 OK\r\n\r\n");
  CHECK(o.nph);
  o = RunWhole("HTTP/1.0 204\n\n");
  CHECK(o.status == 204);
  CHECK(o.to_client == "Status: 204\r\n\r\n");

  for (const char* bad : {"HTTP/1.1\n\n", "HTTP/1.1 abc\n\n", "HTTP/1.1 099 x\n\n", "HTTP/1.1  200 OK\n\n",
                          "HTTP/x.1 200 OK\n\n", "HTTP/1.1 200OK\n\n"}) {
    INFO(bad);
    CHECK(ErrorOf(bad).rfind("invalid NPH status line: \"HTTP/", 0) == 0);
  }
  // A header merely named like the prefix is not NPH.
  CHECK(RunWhole("HTTP: 1\n\n").headers == Headers{{"HTTP", "1"}});
}

TEST_CASE("CgiResponseParser: Status header", "[cgi_response]") {
  Outcome o = RunWhole("status: 201\nContent-Type: a/b\n\n");
  CHECK(o.status == 201);
  CHECK(o.reason.empty());
  CHECK(o.to_client == "Status: 201\r\nContent-Type: a/b\r\n\r\n");
  CHECK(o.headers == Headers{{"Content-Type", "a/b"}});  // Status is not among headers()

  o = RunWhole("Status:   503   Busy, try later  \n\n");
  CHECK(o.status == 503);
  CHECK(o.reason == "Busy, try later");

  o = RunWhole("Status: 500 A\nStatus: 502 B\n\n");  // last one wins
  CHECK(o.status == 502);
  CHECK(o.to_client == "Status: 502 B\r\n\r\n");

  for (const char* bad : {"Status: 600\n\n", "Status: 99\n\n", "Status: 099 x\n\n", "Status: abc\n\n",
                          "Status: 200OK\n\n", "Status:\n\n", "Status: 2000\n\n", "Status: -200\n\n"}) {
    INFO(bad);
    CHECK(ErrorOf(bad).rfind("invalid CGI Status header \"", 0) == 0);
  }
  CHECK(ErrorOf("Status: 600 Odd\n\n") ==
        "invalid CGI Status header \"600 Odd\" (expected NNN[ reason], 100-599)");
}

TEST_CASE("CgiResponseParser: status_code from Location", "[cgi_response]") {
  CHECK(RunWhole("Location: https://example.org/x\n\n").status == 302);
  CHECK(RunWhole("Location: svn+ssh://h/p\n\n").status == 302);
  CHECK(RunWhole("Location: /local/path\n\n").status == 200);
  CHECK(RunWhole("Location: //host/x\n\n").status == 200);
  CHECK(RunWhole("Location: 1http://x\n\n").status == 200);
  CHECK(RunWhole("Status: 301 Moved\nLocation: http://e/\n\n").status == 301);
  // No Status line is invented: the web server does that.
  CHECK(RunWhole("Location: http://e/\n\n").to_client == "Location: http://e/\r\n\r\n");
}

TEST_CASE("CgiResponseParser: header fields as sent", "[cgi_response]") {
  CgiResponseParser parser;
  std::string out;
  REQUIRE(parser.Feed("Set-Cookie: a=1\nX-Empty:\nset-cookie: b=2\nX-Sp: \t v  w \t\n\n", &out) ==
          State::kBody);
  CHECK(parser.headers() ==
        Headers{{"Set-Cookie", "a=1"}, {"X-Empty", ""}, {"set-cookie", "b=2"}, {"X-Sp", "v  w"}});
  CHECK(out == "Set-Cookie: a=1\r\nX-Empty: \r\nset-cookie: b=2\r\nX-Sp: v  w\r\n\r\n");
  REQUIRE(parser.FindHeader("SET-COOKIE") != nullptr);
  CHECK(*parser.FindHeader("SET-COOKIE") == "a=1");
  CHECK(parser.FindHeader("Content-Type") == nullptr);
  CHECK(parser.headers_done());
  CHECK(parser.saw_any_output());
  // Lenient like nginx: no Content-Type, no Location, no Status is accepted.
  CHECK(parser.status_code() == 200);
  // Obs-text (UTF-8) in values is kept.
  CHECK(RunWhole("X: caf\xc3\xa9\n\n").headers == Headers{{"X", "caf\xc3\xa9"}});
}

TEST_CASE("CgiResponseParser: body bytes are untouched", "[cgi_response]") {
  const std::string body = "Status: 500\r\nX: y\n\n\r\n\0binary\xff"s;
  Outcome o = RunWhole("Content-Type: a/b\n\n" + body);
  CHECK(o.to_client == "Content-Type: a/b\r\n\r\n" + body);
  CHECK(o.status == 200);
  CHECK(o.headers.size() == 1);
}

TEST_CASE("CgiResponseParser: output that is not a header block", "[cgi_response]") {
  CHECK(ErrorOf("Hello world\n") == "output does not start with a CGI header: \"Hello world\"");
  CHECK(ErrorOf("<html>\r\n") == "output does not start with a CGI header: \"<html>\"");
  CHECK(ErrorOf("NoColon\n\n") == "output does not start with a CGI header: \"NoColon\"");
  CHECK(ErrorOf(": x\n\n") == "output does not start with a CGI header: \": x\"");
  CHECK(ErrorOf(" A: x\n\n") == "output does not start with a CGI header: \" A: x\"");
  CHECK(ErrorOf("Bad Name: x\n\n") == "output does not start with a CGI header: \"Bad Name: x\"");
  CHECK(ErrorOf("\x1b[1mA\n") == "output does not start with a CGI header: \"\\x1b[1mA\"");
  // Without a newline: reported by Finish, with the same text.
  CHECK(ErrorOf("Hello world") == "output does not start with a CGI header: \"Hello world\"");
  // A long first line is reported early, quoted and truncated.
  const std::string long_line = "Hello " + std::string(200, 'x');
  CgiResponseParser parser;
  std::string out;
  CHECK(parser.Feed(long_line, &out) == State::kError);
  CHECK(parser.error() ==
        "output does not start with a CGI header: \"Hello " + std::string(54, 'x') + "...\"");
  CHECK(out.empty());
  CheckAllSplits(long_line + "\n", RunWhole(long_line));
}

TEST_CASE("CgiResponseParser: invalid later lines", "[cgi_response]") {
  CHECK(ErrorOf("A: 1\nbogus\n\n") == "invalid CGI header line: \"bogus\"");
  CHECK(ErrorOf("A: 1\nBad Name: 2\n\n") == "invalid CGI header line: \"Bad Name: 2\"");
  CHECK(ErrorOf("A: 1\n: 2\n\n") == "invalid CGI header line: \": 2\"");
  CHECK(ErrorOf("A: 1\n folded\n\n") ==
        "CGI header continuation lines (obs-fold) are not supported: \" folded\"");
  CHECK(ErrorOf("A: 1\n\tfolded\n\n").find("obs-fold") != std::string::npos);
  CHECK(ErrorOf("A: x\ry\n\n") == "invalid character in CGI header A: \"x\\x0dy\"");
  CHECK(ErrorOf("A: x\0y\n\n"s) == "invalid character in CGI header A: \"x\\x00y\"");
  CHECK(ErrorOf("A: x\x7f\n\n") == "invalid character in CGI header A: \"x\\x7f\"");
}

TEST_CASE("CgiResponseParser: empty header block", "[cgi_response]") {
  CHECK(ErrorOf("\nHello") == "empty CGI header block");
  CHECK(ErrorOf("\r\nHello") == "empty CGI header block");
  CHECK(ErrorOf("\n") == "empty CGI header block");
}

TEST_CASE("CgiResponseParser: header block size limit", "[cgi_response]") {
  // "A: 0123456789\n\n" is 15 bytes.
  const std::string block = "A: 0123456789\n\n";
  CHECK(RunWhole(block + "body", 15).state == State::kBody);
  CHECK(RunBytewise(block + "body", 15).to_client == "A: 0123456789\r\n\r\nbody");
  CHECK(ErrorOf(block, 14) == "CGI header block larger than 14 bytes");
  // The body does not count.
  CHECK(RunWhole(block + std::string(100, 'b'), 15).state == State::kBody);
  // No blank line yet: fails as soon as the limit is reached, not at Finish.
  CgiResponseParser parser(16);
  std::string out;
  CHECK(parser.Feed("X: aaaaaaaaaaa\n", &out) == State::kHeaders);  // 15: "\n" could end it
  CHECK(parser.Feed("Y", &out) == State::kError);
  CHECK(parser.error() == "CGI header block larger than 16 bytes");
  CHECK(out.empty());
  CheckAllSplits(std::string(40, 'A') + ": 1\n\n", RunWhole(std::string(40, 'A') + ": 1\n\n", 20), 20);
}

TEST_CASE("CgiResponseParser: Finish", "[cgi_response]") {
  SECTION("nothing came") {
    CgiResponseParser parser;
    std::string out;
    CHECK(parser.Feed("", &out) == State::kHeaders);
    CHECK_FALSE(parser.saw_any_output());
    CHECK(parser.Finish() == State::kError);
    CHECK(parser.error() == "no output");
  }
  SECTION("partial header block") {
    CgiResponseParser parser;
    std::string out;
    CHECK(parser.Feed("Content-Type: text/html\n", &out) == State::kHeaders);
    CHECK(parser.saw_any_output());
    CHECK(out.empty());
    CHECK(parser.Finish() == State::kError);
    CHECK(parser.error() == "incomplete CGI header block (24 bytes, no blank line)");
    CHECK(RunWhole("\r").error == "incomplete CGI header block (1 byte, no blank line)");
  }
  SECTION("after the headers Finish changes nothing") {
    CgiResponseParser parser;
    std::string out;
    CHECK(parser.Feed("A: b\n\n", &out) == State::kBody);
    CHECK(parser.Finish() == State::kBody);
    CHECK(parser.error().empty());
  }
  SECTION("after an error the error stays") {
    CgiResponseParser parser;
    std::string out;
    CHECK(parser.Feed("\n", &out) == State::kError);
    CHECK(parser.Feed("A: b\n\n", &out) == State::kError);
    CHECK(parser.Finish() == State::kError);
    CHECK(parser.error() == "empty CGI header block");
    CHECK(out.empty());
  }
}

TEST_CASE("MakeCgiErrorResponse and ReasonPhrase", "[cgi_response]") {
  CHECK(MakeCgiErrorResponse(502, "Bad Gateway", "program exited") ==
        "Status: 502 Bad Gateway\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
        "program exited\n");
  CHECK(MakeCgiErrorResponse(504, "", "") ==
        "Status: 504 Gateway Timeout\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\n");
  // The launcher's own response passes its own parser.
  Outcome o = RunWhole(MakeCgiErrorResponse(503, "Busy", "try later"));
  CHECK(o.state == State::kBody);
  CHECK(o.status == 503);
  CHECK(o.reason == "Busy");
  CHECK(std::string(ReasonPhrase(200)) == "OK");
  CHECK(std::string(ReasonPhrase(404)) == "Not Found");
  CHECK(std::string(ReasonPhrase(500)) == "Internal Server Error");
  CHECK(std::string(ReasonPhrase(502)) == "Bad Gateway");
  CHECK(std::string(ReasonPhrase(299)) == "Unknown");
  CHECK(std::string(ReasonPhrase(-1)) == "Unknown");
}

}  // namespace
}  // namespace fcgi
