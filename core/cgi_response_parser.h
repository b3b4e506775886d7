// CgiResponseParser: checks a CGI program's output as it streams (RFC 3875 s6).
// Pure; no I/O.
//
// The parser holds back output only until the header block is complete (a blank
// line, "\n\n" or "\r\n\r\n"), bounded by max_header_bytes. Then it hands out a
// normalised header block ("Name: value\r\n" lines, then "\r\n") followed by the
// body bytes that came with it; after that the caller forwards the program's
// output directly (headers_done() is true) without calling Feed again.
// NPH output (first line "HTTP/1.x NNN reason") becomes "Status: NNN reason".
// Output that does not start with a valid header block is an error whose
// message quotes the offending first bytes (escaped).
#ifndef FCGI_RUN_CORE_CGI_RESPONSE_PARSER_H_
#define FCGI_RUN_CORE_CGI_RESPONSE_PARSER_H_

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace fcgi {

inline constexpr size_t kDefaultMaxHeaderBytes = 64 * 1024;

class CgiResponseParser {
 public:
  enum class State { kHeaders, kBody, kError };

  explicit CgiResponseParser(size_t max_header_bytes = kDefaultMaxHeaderBytes)
      : max_header_bytes_(max_header_bytes) {}
  CgiResponseParser(const CgiResponseParser&) = delete;
  CgiResponseParser& operator=(const CgiResponseParser&) = delete;

  // Feeds program output. When the header block completes, appends the
  // normalised block plus any body bytes in `data` to *to_client and returns
  // kBody. Returns kHeaders while more is needed, kError on invalid output or
  // when the header block exceeds max_header_bytes.
  // REQUIRES: state() == kHeaders.
  State Feed(std::string_view data, std::string* to_client);
  // The program's stdout ended. In kHeaders this is an error: "no output" when
  // nothing came, otherwise "incomplete header block".
  State Finish();

  State state() const { return state_; }
  bool headers_done() const { return state_ == State::kBody; }
  bool saw_any_output() const { return saw_output_; }
  // From "Status:" (or the NPH line); 200 when absent, 302 when absent and
  // Location holds an absolute URI.
  int status_code() const { return status_code_; }
  const std::string& status_reason() const { return status_reason_; }
  // Header fields other than Status, as sent (names keep their case).
  const std::vector<std::pair<std::string, std::string>>& headers() const { return headers_; }
  // Value of a header (case-insensitive name) or nullptr.
  const std::string* FindHeader(std::string_view name) const;
  bool is_nph() const { return nph_; }
  // Why kError: e.g. "output does not start with a CGI header: \"Hello\"".
  const std::string& error() const { return error_; }

 private:
  // Parses a complete header block (ending with its blank line) into the
  // members below; false (and kError) when it is invalid.
  bool ParseBlock(std::string_view block);
  State Fail(std::string message);

  size_t max_header_bytes_;
  State state_ = State::kHeaders;
  std::string buffer_;  // the header block so far (plus body bytes of the last chunk)
  bool saw_output_ = false;
  bool nph_ = false;
  bool has_status_ = false;  // a Status header or NPH line was sent
  int status_code_ = 200;
  std::string status_reason_;
  std::vector<std::pair<std::string, std::string>> headers_;
  std::string error_;
};

// A complete CGI response made by the launcher itself (errors it reports to the
// client): "Status: <status> <reason>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
// followed by `body` and a newline. An empty `reason` becomes ReasonPhrase(status). `body` must not reveal
// file layout beyond what the caller chose to say.
std::string MakeCgiErrorResponse(int status, std::string_view reason, std::string_view body);

// Standard reason phrase for a status code ("Bad Gateway"), or "Unknown".
const char* ReasonPhrase(int status);

}  // namespace fcgi

#endif  // FCGI_RUN_CORE_CGI_RESPONSE_PARSER_H_
