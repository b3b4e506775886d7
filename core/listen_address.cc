#include "core/listen_address.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <climits>

#include "core/cgi_environment.h"  // EscapeForLog
#include "core/strings.h"

namespace fcgi {
namespace {

constexpr std::string_view kExpected = "expected unix:PATH, tcp:HOST:PORT or fd:N";

bool IsIpv4Literal(std::string_view s) {
  in_addr addr;
  return inet_pton(AF_INET, std::string(s).c_str(), &addr) == 1;
}

bool IsIpv6Literal(std::string_view s) {
  in6_addr addr;
  return inet_pton(AF_INET6, std::string(s).c_str(), &addr) == 1;
}

// A DNS name: dot-separated labels of letters, digits and '-' (no resolving here).
bool IsHostName(std::string_view s) {
  if (s.empty() || s.size() > 253) return false;
  size_t label = 0;
  for (char c : s) {
    const bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (c == '.') {
      if (label == 0) return false;
      label = 0;
    } else if (alnum || c == '-' || c == '_') {
      if (++label > 63) return false;
    } else {
      return false;
    }
  }
  return true;
}

class Parser {
 public:
  explicit Parser(std::string_view text) : text_(text) {}

  Status Parse(ListenAddress* out) {
    ListenAddress a;
    Status s = ParseInto(&a);
    if (s.ok()) *out = std::move(a);
    return s;
  }

 private:
  Status Error(std::string_view why) const {
    return Status::Invalid("listen address \"" + EscapeForLog(text_) + "\": " + std::string(why));
  }

  Status ParseInto(ListenAddress* a) {
    const std::string_view t = text_;
    if (t.empty()) return Error(kExpected);
    if (t.starts_with("unix:")) return ParseUnix(t.substr(5), a);
    if (t.starts_with("tcp:")) return ParseTcp(t.substr(4), a);
    if (t.starts_with("fd:")) return ParseFd(t.substr(3), a);
    if (t[0] == '/') return ParseUnix(t, a);
    if (t[0] == '[' || t[0] == ':') return ParseTcp(t, a);
    const size_t colon = t.find(':');
    if (colon == std::string_view::npos) return Error(kExpected);
    const std::string_view before = t.substr(0, colon), after = t.substr(colon + 1);
    if (after.find(':') == std::string_view::npos && IsHostName(before) &&
        (after.empty() || IsAllDigits(after))) {
      return ParseTcp(t, a);  // bare HOST:PORT
    }
    if (IsIpv6Literal(t) || IsIpv6Literal(t.substr(0, t.rfind(':')))) {
      return Error("an IPv6 address needs brackets, e.g. tcp:[::1]:9000");
    }
    return Error("unknown scheme \"" + EscapeForLog(before, 20) + "\"; " + std::string(kExpected));
  }

  Status ParseUnix(std::string_view path, ListenAddress* a) {
    if (path.empty()) return Error("empty unix socket path");
    if (path.find('\0') != std::string_view::npos) return Error("unix socket path contains NUL");
    if (path.size() > kMaxUnixPathBytes) {
      return Error("unix socket path is " + std::to_string(path.size()) + " bytes, longer than the " +
                   std::to_string(kMaxUnixPathBytes) + " that fit in sun_path");
    }
    a->kind = ListenAddress::Kind::kUnix;
    a->path = std::string(path);
    return Status::Ok();
  }

  Status ParseTcp(std::string_view hostport, ListenAddress* a) {
    std::string_view host, port;
    if (hostport.empty()) return Error("missing HOST:PORT");
    if (hostport[0] == '[') {
      const size_t close = hostport.find(']');
      if (close == std::string_view::npos) return Error("missing ']' after IPv6 address");
      host = hostport.substr(1, close - 1);
      if (!IsIpv6Literal(host)) return Error("invalid IPv6 address \"" + EscapeForLog(host) + "\"");
      const std::string_view rest = hostport.substr(close + 1);
      if (rest.empty()) return Error("missing :PORT");
      if (rest[0] != ':') return Error("expected :PORT after ']'");
      port = rest.substr(1);
    } else {
      const size_t colon = hostport.rfind(':');
      if (colon == std::string_view::npos) return Error("missing :PORT");
      host = hostport.substr(0, colon);
      port = hostport.substr(colon + 1);
      if (host.find(':') != std::string_view::npos) {
        if (IsIpv6Literal(host) || IsIpv6Literal(hostport)) {
          return Error("an IPv6 address needs brackets, e.g. tcp:[::1]:9000");
        }
        return Error("invalid host \"" + EscapeForLog(host) + "\"");
      }
      if (host.empty()) {
        return Error(
            "missing host; to listen on every interface say so explicitly, "
            "e.g. tcp:0.0.0.0:PORT or tcp:[::]:PORT");
      }
      const bool numeric = host.find_first_not_of("0123456789.") == std::string_view::npos;
      if (numeric ? !IsIpv4Literal(host) : !IsHostName(host)) {
        return Error("invalid host \"" + EscapeForLog(host) + "\"");
      }
    }
    if (port.empty()) return Error("missing port number after ':'");
    if (!IsAllDigits(port)) return Error("invalid port \"" + EscapeForLog(port) + "\"");
    if (port.size() > 5 || std::stoul(std::string(port)) > 65535 || std::stoul(std::string(port)) == 0) {
      return Error("port " + EscapeForLog(port) + " out of range 1-65535");
    }
    a->kind = ListenAddress::Kind::kTcp;
    a->host = std::string(host);
    a->port = static_cast<uint16_t>(std::stoul(std::string(port)));
    return Status::Ok();
  }

  Status ParseFd(std::string_view n, ListenAddress* a) {
    if (n.empty()) return Error("fd:N needs a descriptor number");
    if (n[0] == '-' && IsAllDigits(n.substr(1))) return Error("negative file descriptor");
    if (!IsAllDigits(n)) return Error("file descriptor \"" + EscapeForLog(n) + "\" is not a number");
    if (n.size() > 10 || std::stoull(std::string(n)) > static_cast<unsigned long long>(INT_MAX)) {
      return Error("file descriptor too large");
    }
    a->kind = ListenAddress::Kind::kFd;
    a->fd = static_cast<int>(std::stoul(std::string(n)));
    return Status::Ok();
  }

  std::string_view text_;
};

}  // namespace

std::string ListenAddress::ToString() const {
  switch (kind) {
    case Kind::kUnix:
      return "unix:" + path;
    case Kind::kTcp:
      if (host.find(':') != std::string::npos) {
        return "tcp:[" + host + "]:" + std::to_string(port);
      }
      return "tcp:" + host + ":" + std::to_string(port);
    case Kind::kFd:
      return "fd:" + std::to_string(fd);
  }
  return "?";
}

Status ParseListenAddress(std::string_view text, ListenAddress* out) { return Parser(text).Parse(out); }

bool IsLoopbackHost(std::string_view host) {
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  if (!host.empty() && host.back() == '.') host.remove_suffix(1);
  if (host.size() == 9) {
    std::string lower(host);
    for (char& c : lower) c = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
    if (lower == "localhost") return true;
  }
  const std::string text(host);
  in_addr v4;
  if (inet_pton(AF_INET, text.c_str(), &v4) == 1) {
    return (ntohl(v4.s_addr) >> 24) == 127;
  }
  in6_addr v6;
  if (inet_pton(AF_INET6, text.c_str(), &v6) == 1) {
    if (IN6_IS_ADDR_LOOPBACK(&v6)) return true;
    return IN6_IS_ADDR_V4MAPPED(&v6) && v6.s6_addr[12] == 127;
  }
  return false;
}

}  // namespace fcgi
