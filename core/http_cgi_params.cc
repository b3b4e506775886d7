#include "core/http_cgi_params.h"

#include <vector>

#include "core/strings.h"

namespace fcgi {
namespace {

// Value of the header fields named `name`, joined (", ", or "; " for Cookie);
// `found` says whether there was any.
std::string JoinedHeader(const HttpHeaderFields& headers, std::string_view name, bool* found) {
  std::string value;
  *found = false;
  const std::string_view sep = EqualsIgnoreCase(name, "Cookie") ? "; " : ", ";
  for (const auto& [n, v] : headers) {
    if (!EqualsIgnoreCase(n, name)) continue;
    if (*found) value += sep;
    value += v;
    *found = true;
  }
  return value;
}

}  // namespace

bool SplitRequestTarget(std::string_view target, std::string* path, std::string* query) {
  if (target.empty()) return false;
  if (target[0] != '/') {
    // absolute-form: scheme "://" authority [path]
    const size_t sep = target.find("://");
    if (sep == std::string_view::npos || sep == 0) return false;
    for (char c : target.substr(0, sep)) {
      const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '+' || c == '-' || c == '.';
      if (!ok) return false;
    }
    target.remove_prefix(sep + 3);
    const size_t slash = target.find_first_of("/?");
    if (slash == std::string_view::npos) {
      target = "/";
    } else if (target[slash] == '?') {
      path->assign("/");
      query->assign(target.substr(slash + 1));
      return true;
    } else {
      target.remove_prefix(slash);
    }
  }
  const size_t q = target.find('?');
  path->assign(target.substr(0, q));
  query->assign(q == std::string_view::npos ? std::string_view() : target.substr(q + 1));
  return true;
}

bool NormalizeRequestPath(std::string_view raw_path, std::string* out) {
  if (raw_path.empty() || raw_path[0] != '/') return false;
  std::string decoded;
  decoded.reserve(raw_path.size());
  for (size_t i = 0; i < raw_path.size(); ++i) {
    char c = raw_path[i];
    if (c == '%') {
      if (i + 2 >= raw_path.size()) return false;
      const int hi = HexValue(raw_path[i + 1]);
      const int lo = HexValue(raw_path[i + 2]);
      if (hi < 0 || lo < 0) return false;
      c = static_cast<char>(hi * 16 + lo);
      i += 2;
    }
    if (c == '\0') return false;
    decoded += c;
  }
  // Segments between slashes; empty ones ("//") and "." vanish, ".." pops.
  std::vector<std::string_view> segments;
  std::string_view rest = decoded;
  bool trailing_slash = false;
  while (!rest.empty()) {
    rest.remove_prefix(1);  // the '/'
    const size_t next = rest.find('/');
    std::string_view seg = rest.substr(0, next);
    rest = next == std::string_view::npos ? std::string_view() : rest.substr(next);
    const bool last = rest.empty();
    if (seg.empty() || seg == ".") {
      trailing_slash = last;
    } else if (seg == "..") {
      if (segments.empty()) return false;
      segments.pop_back();
      trailing_slash = last;
    } else {
      segments.push_back(seg);
      trailing_slash = false;
    }
  }
  std::string result;
  for (std::string_view seg : segments) {
    result += '/';
    result += seg;
  }
  if (result.empty() || trailing_slash) result += '/';
  *out = std::move(result);
  return true;
}

std::string HostWithoutPort(std::string_view host) {
  std::string_view h = host;
  if (!h.empty() && h[0] == '[') {
    const size_t close = h.find(']');
    h = close == std::string_view::npos ? h : h.substr(0, close + 1);
  } else {
    h = h.substr(0, h.find(':'));
  }
  std::string out;
  out.reserve(h.size());
  for (char c : h) out += Lower(c);
  return out;
}

std::string HttpHeaderParamName(std::string_view field_name) {
  if (field_name.empty()) return "";
  std::string name = "HTTP_";
  for (char c : field_name) {
    if (c >= 'a' && c <= 'z') {
      name += static_cast<char>(c - 'a' + 'A');
    } else if ((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) {
      name += c;
    } else if (c == '-') {
      name += '_';
    } else {
      return "";
    }
  }
  return name;
}

Status BuildHttpCgiParams(const HttpRequestLine& request, const HttpCgiSettings& settings,
                          NameValuePairs* out) {
  std::string raw_path, query, path;
  if (!SplitRequestTarget(request.target, &raw_path, &query)) {
    return Status::Invalid("request target is neither origin-form nor absolute-form");
  }
  if (!NormalizeRequestPath(raw_path, &path)) {
    return Status::Invalid("invalid request path (bad %-escape, NUL, or \"..\" above the root)");
  }
  NameValuePairs& p = *out;
  p.clear();
  bool found = false;
  // As /etc/nginx/fastcgi_params (Debian 12) orders them.
  p.emplace_back("QUERY_STRING", query);
  p.emplace_back("REQUEST_METHOD", request.method);
  p.emplace_back("CONTENT_TYPE", JoinedHeader(request.headers, "Content-Type", &found));
  p.emplace_back("CONTENT_LENGTH", JoinedHeader(request.headers, "Content-Length", &found));
  p.emplace_back("SCRIPT_NAME", path);
  p.emplace_back("REQUEST_URI", request.target);
  p.emplace_back("DOCUMENT_URI", path);
  const bool dispatch = !settings.document_root.empty();
  p.emplace_back("DOCUMENT_ROOT", dispatch ? settings.document_root : settings.program_dir);
  p.emplace_back("SERVER_PROTOCOL", request.protocol);
  p.emplace_back("REQUEST_SCHEME", "http");
  p.emplace_back("GATEWAY_INTERFACE", "CGI/1.1");
  p.emplace_back("SERVER_SOFTWARE", settings.server_software);
  p.emplace_back("REMOTE_ADDR", request.remote_addr);
  p.emplace_back("REMOTE_PORT", request.remote_port);
  p.emplace_back("REMOTE_USER", "");
  p.emplace_back("SERVER_ADDR", request.server_addr);
  p.emplace_back("SERVER_PORT", request.server_port);
  const std::string host_header = JoinedHeader(request.headers, "Host", &found);
  const std::string host = found && !host_header.empty() ? HostWithoutPort(host_header) : request.server_addr;
  p.emplace_back("SERVER_NAME", host);
  p.emplace_back("REDIRECT_STATUS", "200");
  p.emplace_back("HTTP_HOST", host);  // Debian's fastcgi_params: HTTP_HOST is $host
  std::string root = dispatch ? settings.document_root : std::string();
  while (root.size() > 1 && root.back() == '/') root.pop_back();
  p.emplace_back("SCRIPT_FILENAME", dispatch ? root + path : settings.program_path);

  // Every other header field as HTTP_*, once per name.
  std::vector<std::string> done = {"HTTP_HOST", "HTTP_PROXY"};
  for (const auto& [field, value] : request.headers) {
    std::string name = HttpHeaderParamName(field);
    if (name.empty()) continue;
    bool seen = false;
    for (const std::string& d : done) seen = seen || d == name;
    if (seen) continue;
    done.push_back(name);
    p.emplace_back(std::move(name), JoinedHeader(request.headers, field, &found));
  }
  return Status::Ok();
}

}  // namespace fcgi
