#include "core/cgi_response_parser.h"

#include <algorithm>
#include <string>

#include "core/cgi_environment.h"  // EscapeForLog
#include "core/strings.h"

namespace fcgi {
namespace {

// How many bytes of a bad first line are quoted in the error (escaped). The
// parser waits for the whole first line or this many bytes before it reports,
// so the message does not depend on how the output was split into chunks.
constexpr size_t kQuoteBytes = 64;
constexpr size_t kQuoteChars = 60;
// The first line is checked as it arrives only while it is this short; a longer
// one is checked with the complete block (or by Finish).
constexpr size_t kEarlyCheckBytes = 256;
constexpr std::string_view kNphPrefix = "HTTP/";

bool IsTchar(char c) {  // RFC 7230 token character
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool IsToken(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!IsTchar(c)) return false;
  }
  return true;
}

// RFC 7230 field-value bytes: HTAB, SP, VCHAR, obs-text. A lone CR, NUL and
// other controls are refused: they can split or truncate the header downstream.
bool IsValidFieldValue(std::string_view s) {
  for (char c : s) {
    const unsigned char b = static_cast<unsigned char>(c);
    if (b == '\t' || b >= 0x80) continue;
    if (b < 0x20 || b == 0x7f) return false;
  }
  return true;
}

std::string Quote(std::string_view text) { return "\"" + EscapeForLog(text, kQuoteChars) + "\""; }

// "scheme://..." with an RFC 3986 scheme.
bool IsAbsoluteUri(std::string_view v) {
  size_t sep = v.find("://");
  if (sep == std::string_view::npos || sep == 0) return false;
  const char first = v[0];
  if (!((first >= 'a' && first <= 'z') || (first >= 'A' && first <= 'Z'))) return false;
  for (char c : v.substr(0, sep)) {
    const bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || IsDigit(c);
    if (!alnum && c != '+' && c != '-' && c != '.') return false;
  }
  return true;
}

// "NNN" or "NNN reason" with 100 <= NNN <= 599.
bool ParseStatusValue(std::string_view v, int* code, std::string* reason) {
  if (v.size() < 3 || !IsDigit(v[0]) || !IsDigit(v[1]) || !IsDigit(v[2])) return false;
  if (v.size() > 3 && v[3] != ' ' && v[3] != '\t') return false;
  const int n = (v[0] - '0') * 100 + (v[1] - '0') * 10 + (v[2] - '0');
  if (n < 100 || n > 599) return false;
  *code = n;
  *reason = std::string(Trim(v.substr(3)));
  return true;
}

// "HTTP/d.d NNN[ reason]" (the first line of NPH output).
bool ParseNphLine(std::string_view line, int* code, std::string* reason) {
  if (line.size() < 12 || line.substr(0, 5) != kNphPrefix || !IsDigit(line[5]) || line[6] != '.' ||
      !IsDigit(line[7]) || line[8] != ' ') {
    return false;
  }
  return ParseStatusValue(line.substr(9), code, reason);
}

enum class FirstLine { kNeedMore, kPlausible, kInvalid };

// Looks at the first `limit` bytes of the first line: does it start like a
// header ("token:") or an NPH status line ("HTTP/")?
FirstLine CheckFirstLine(std::string_view buf, size_t limit) {
  if (buf.empty() || buf == "\r") return FirstLine::kNeedMore;
  const size_t n = std::min(buf.size(), kNphPrefix.size());
  if (buf.substr(0, n) == kNphPrefix.substr(0, n)) {
    return n == kNphPrefix.size() ? FirstLine::kPlausible : FirstLine::kNeedMore;
  }
  for (size_t i = 0; i < buf.size() && i < limit; ++i) {
    if (IsTchar(buf[i])) continue;
    return (buf[i] == ':' && i > 0) ? FirstLine::kPlausible : FirstLine::kInvalid;
  }
  return FirstLine::kNeedMore;
}

std::string NotAHeaderError(std::string_view buf) {
  std::string_view line = buf.substr(0, buf.find('\n'));
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return "output does not start with a CGI header: " + Quote(line);
}

// Index just past the blank line that ends the header block, or npos. A blank
// line follows a '\n' at or after `from`.
size_t FindBlockEnd(std::string_view buf, size_t from) {
  for (size_t i = buf.find('\n', from); i != std::string_view::npos; i = buf.find('\n', i + 1)) {
    if (i + 1 < buf.size() && buf[i + 1] == '\n') return i + 2;
    if (i + 2 < buf.size() && buf[i + 1] == '\r' && buf[i + 2] == '\n') return i + 3;
  }
  return std::string_view::npos;
}

}  // namespace

// In kBody the data is passed through unchanged (callers normally forward it
// themselves); in kError nothing happens.
CgiResponseParser::State CgiResponseParser::Feed(std::string_view data, std::string* to_client) {
  if (state_ == State::kBody) {
    to_client->append(data);
    return state_;
  }
  if (state_ == State::kError || data.empty()) return state_;
  saw_output_ = true;
  const size_t old_size = buffer_.size();
  buffer_.append(data);

  if (old_size < kEarlyCheckBytes) {
    if (buffer_[0] == '\n' || buffer_.compare(0, 2, "\r\n") == 0) {
      return Fail("empty CGI header block");
    }
    if (CheckFirstLine(buffer_, kEarlyCheckBytes) == FirstLine::kInvalid &&
        (buffer_.find('\n') != std::string::npos || buffer_.size() >= kQuoteBytes)) {
      return Fail(NotAHeaderError(buffer_));
    }
  }

  const size_t end = FindBlockEnd(buffer_, old_size >= 2 ? old_size - 2 : 0);
  if (end == std::string::npos ? buffer_.size() >= max_header_bytes_ : end > max_header_bytes_) {
    if (CheckFirstLine(buffer_, std::string::npos) == FirstLine::kInvalid) {
      return Fail(NotAHeaderError(buffer_));
    }
    return Fail("CGI header block larger than " + std::to_string(max_header_bytes_) + " bytes");
  }
  if (end == std::string::npos) return state_;
  if (!ParseBlock(std::string_view(buffer_).substr(0, end))) return state_;

  std::string& out = *to_client;
  if (has_status_) {
    out += "Status: " + std::to_string(status_code_);
    if (!status_reason_.empty()) out += " " + status_reason_;
    out += "\r\n";
  }
  for (const auto& [name, value] : headers_) {
    out += name;
    out += ": ";
    out += value;
    out += "\r\n";
  }
  out += "\r\n";
  out.append(buffer_, end, std::string::npos);
  std::string().swap(buffer_);
  state_ = State::kBody;
  return state_;
}

bool CgiResponseParser::ParseBlock(std::string_view block) {
  std::vector<std::pair<std::string, std::string>> headers;
  bool has_status = false;
  int code = 200;
  std::string reason;
  bool nph = false;
  bool first = true;
  for (size_t pos = 0; pos < block.size();) {
    const size_t nl = block.find('\n', pos);  // every line of `block` ends in '\n'
    std::string_view line = block.substr(pos, nl - pos);
    pos = nl + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) break;  // the blank line
    if (first && line.substr(0, kNphPrefix.size()) == kNphPrefix) {
      if (!ParseNphLine(line, &code, &reason)) {
        Fail("invalid NPH status line: " + Quote(line));
        return false;
      }
      nph = has_status = true;
      first = false;
      continue;
    }
    const size_t colon = line.find(':');
    const std::string_view name = line.substr(0, colon);
    if (first && (colon == std::string_view::npos || !IsToken(name))) {
      Fail(NotAHeaderError(line));
      return false;
    }
    first = false;
    if (line[0] == ' ' || line[0] == '\t') {
      Fail("CGI header continuation lines (obs-fold) are not supported: " + Quote(line));
      return false;
    }
    if (colon == std::string_view::npos || !IsToken(name)) {
      Fail("invalid CGI header line: " + Quote(line));
      return false;
    }
    const std::string_view value = Trim(line.substr(colon + 1));
    if (!IsValidFieldValue(value)) {
      Fail("invalid character in CGI header " + std::string(name) + ": " + Quote(value));
      return false;
    }
    if (EqualsIgnoreCase(name, "Status")) {
      // Several Status lines (or NPH plus Status): the last one wins, as in Apache.
      if (!ParseStatusValue(value, &code, &reason)) {
        Fail("invalid CGI Status header " + Quote(value) + " (expected NNN[ reason], 100-599)");
        return false;
      }
      has_status = true;
      continue;
    }
    headers.emplace_back(std::string(name), std::string(value));
  }
  headers_ = std::move(headers);
  has_status_ = has_status;
  nph_ = nph;
  status_reason_ = std::move(reason);
  status_code_ = code;
  if (!has_status) {
    const std::string* location = FindHeader("Location");
    status_code_ = (location != nullptr && IsAbsoluteUri(*location)) ? 302 : 200;
  }
  return true;
}

CgiResponseParser::State CgiResponseParser::Finish() {
  if (state_ != State::kHeaders) return state_;
  if (!saw_output_) return Fail("no output");
  if (CheckFirstLine(buffer_, std::string::npos) == FirstLine::kInvalid) {
    return Fail(NotAHeaderError(buffer_));
  }
  const size_t n = buffer_.size();
  return Fail("incomplete CGI header block (" + std::to_string(n) + (n == 1 ? " byte" : " bytes") +
              ", no blank line)");
}

const std::string* CgiResponseParser::FindHeader(std::string_view name) const {
  for (const auto& [key, value] : headers_) {
    if (EqualsIgnoreCase(key, name)) return &value;
  }
  return nullptr;
}

CgiResponseParser::State CgiResponseParser::Fail(std::string message) {
  state_ = State::kError;
  error_ = std::move(message);
  std::string().swap(buffer_);
  return state_;
}

std::string MakeCgiErrorResponse(int status, std::string_view reason, std::string_view body) {
  std::string out = "Status: " + std::to_string(status) + " ";
  out += reason.empty() ? std::string_view(ReasonPhrase(status)) : reason;
  out += "\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n";
  out += body;
  out += '\n';
  return out;
}

const char* ReasonPhrase(int status) {
  switch (status) {
    case 100:
      return "Continue";
    case 101:
      return "Switching Protocols";
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 202:
      return "Accepted";
    case 203:
      return "Non-Authoritative Information";
    case 204:
      return "No Content";
    case 205:
      return "Reset Content";
    case 206:
      return "Partial Content";
    case 300:
      return "Multiple Choices";
    case 301:
      return "Moved Permanently";
    case 302:
      return "Found";
    case 303:
      return "See Other";
    case 304:
      return "Not Modified";
    case 307:
      return "Temporary Redirect";
    case 308:
      return "Permanent Redirect";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 406:
      return "Not Acceptable";
    case 408:
      return "Request Timeout";
    case 409:
      return "Conflict";
    case 410:
      return "Gone";
    case 411:
      return "Length Required";
    case 412:
      return "Precondition Failed";
    case 413:
      return "Content Too Large";
    case 414:
      return "URI Too Long";
    case 415:
      return "Unsupported Media Type";
    case 416:
      return "Range Not Satisfiable";
    case 417:
      return "Expectation Failed";
    case 421:
      return "Misdirected Request";
    case 422:
      return "Unprocessable Content";
    case 426:
      return "Upgrade Required";
    case 428:
      return "Precondition Required";
    case 429:
      return "Too Many Requests";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    case 505:
      return "HTTP Version Not Supported";
    default:
      return "Unknown";
  }
}

}  // namespace fcgi
