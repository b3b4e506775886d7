#include "core/cgi_to_http.h"

#include <cstdio>

#include "core/cgi_response_parser.h"  // ReasonPhrase
#include "core/strings.h"

namespace fcgi {
namespace {

bool IsHopByHop(std::string_view name) {
  for (std::string_view h :
       {"Connection", "Keep-Alive", "Transfer-Encoding", "TE", "Trailer", "Upgrade", "Proxy-Connection"}) {
    if (EqualsIgnoreCase(name, h)) return true;
  }
  return false;
}

bool ParseDecimal(std::string_view v, uint64_t* out) {
  if (v.empty() || v.size() > 19) return false;
  uint64_t n = 0;
  for (char c : v) {
    if (!IsDigit(c)) return false;
    n = n * 10 + static_cast<uint64_t>(c - '0');
  }
  *out = n;
  return true;
}

// "scheme:" with an RFC 3986 scheme: an absolute URI.
bool IsAbsoluteUri(std::string_view v) {
  const size_t colon = v.find(':');
  if (colon == std::string_view::npos || colon == 0) return false;
  if (!((v[0] >= 'a' && v[0] <= 'z') || (v[0] >= 'A' && v[0] <= 'Z'))) return false;
  for (char c : v.substr(0, colon)) {
    const bool ok =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || IsDigit(c) || c == '+' || c == '-' || c == '.';
    if (!ok) return false;
  }
  return true;
}

}  // namespace

Status ParseCgiHead(std::string_view block, CgiHttpHead* out) {
  CgiHttpHead head;
  bool has_status = false;
  bool content_length_valid = true;
  const std::string* location = nullptr;
  bool ended = false;
  while (!block.empty()) {
    const size_t nl = block.find('\n');
    if (nl == std::string_view::npos) return Status::Protocol("CGI header block without its blank line");
    std::string_view line = block.substr(0, nl);
    block.remove_prefix(nl + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) {
      ended = true;
      break;
    }
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) return Status::Protocol("invalid CGI header line");
    const std::string_view name = line.substr(0, colon);
    const std::string_view value = Trim(line.substr(colon + 1));
    if (EqualsIgnoreCase(name, "Status")) {
      if (value.size() < 3 || !IsDigit(value[0]) || !IsDigit(value[1]) || !IsDigit(value[2]) ||
          (value.size() > 3 && value[3] != ' ')) {
        return Status::Protocol("invalid CGI Status header");
      }
      head.status = (value[0] - '0') * 100 + (value[1] - '0') * 10 + (value[2] - '0');
      if (head.status < 100) return Status::Protocol("invalid CGI Status header");
      head.reason = std::string(Trim(value.substr(3)));
      has_status = true;
      continue;
    }
    if (EqualsIgnoreCase(name, "Content-Length")) {
      uint64_t n = 0;
      if (!ParseDecimal(value, &n) || (head.content_length && *head.content_length != n)) {
        content_length_valid = false;
      } else {
        head.content_length = n;
      }
      continue;
    }
    if (IsHopByHop(name)) continue;
    head.headers.emplace_back(std::string(name), std::string(value));
  }
  if (!ended) return Status::Protocol("CGI header block without its blank line");
  if (!content_length_valid) head.content_length.reset();
  for (const auto& [name, value] : head.headers) {
    if (EqualsIgnoreCase(name, "Location")) location = &value;
  }
  if (location != nullptr && !has_status) {
    if (!location->empty() && (*location)[0] == '/' && (location->size() < 2 || (*location)[1] != '/')) {
      head.kind = CgiHttpHead::Kind::kLocalRedirect;
      head.local_location = *location;
    } else if (IsAbsoluteUri(*location)) {
      head.kind = CgiHttpHead::Kind::kClientRedirect;
      head.status = 302;
    }
  }
  if (head.reason.empty()) head.reason = ReasonPhrase(head.status);
  *out = std::move(head);
  return Status::Ok();
}

HttpFraming ChooseFraming(const CgiHttpHead& head, std::string_view method, int minor_version,
                          bool keep_alive) {
  HttpFraming f;
  const bool bodyless_status = head.status < 200 || head.status == 204 || head.status == 304;
  f.send_body = !bodyless_status && method != "HEAD";
  f.close = !keep_alive;
  if (bodyless_status || method == "HEAD") return f;  // the head alone is the whole response
  if (head.content_length) return f;
  if (minor_version >= 1) {
    f.chunked = true;
  } else {
    f.close = true;  // HTTP/1.0 without a length: the end of the connection ends the body
  }
  return f;
}

std::string SerializeHttpHead(const CgiHttpHead& head, const HttpFraming& framing, int minor_version,
                              std::string_view server) {
  std::string out = minor_version >= 1 ? "HTTP/1.1 " : "HTTP/1.0 ";
  out += std::to_string(head.status);
  out += ' ';
  out += head.reason.empty() ? std::string_view(ReasonPhrase(head.status)) : std::string_view(head.reason);
  out += "\r\n";
  if (!server.empty()) {
    out += "Server: ";
    out += server;
    out += "\r\n";
  }
  for (const auto& [name, value] : head.headers) {
    out += name;
    out += ": ";
    out += value;
    out += "\r\n";
  }
  const bool bodyless_status = head.status < 200 || head.status == 204;
  if (head.content_length && !bodyless_status) {
    out += "Content-Length: " + std::to_string(*head.content_length) + "\r\n";
  }
  if (framing.chunked) out += "Transfer-Encoding: chunked\r\n";
  if (framing.close) {
    out += "Connection: close\r\n";
  } else if (minor_version == 0) {
    out += "Connection: keep-alive\r\n";
  }
  out += "\r\n";
  return out;
}

std::string ChunkPrefix(size_t size) {
  char buf[32];
  const int n = std::snprintf(buf, sizeof buf, "%zx\r\n", size);
  return std::string(buf, static_cast<size_t>(n));
}

}  // namespace fcgi
