#include "core/cgi_environment.h"

#include <limits>
#include <unordered_map>

namespace fcgi {
namespace {

// Why a variable may not enter the environment, or nullptr when it may.
// The same rules apply to launcher-provided (`base`) variables and to params.
const char* RejectReason(std::string_view name, std::string_view value) {
  if (name.empty()) return "empty name";
  if (name.find('=') != std::string_view::npos) return "name contains '='";
  if (name.find('\0') != std::string_view::npos) return "name contains NUL";
  if (value.find('\0') != std::string_view::npos) return "value contains NUL";
  // httpoxy: a client's "Proxy:" request header arrives as HTTP_PROXY, which
  // many HTTP libraries would take as their outgoing proxy.
  if (name == "HTTP_PROXY") return "HTTP_PROXY (httpoxy)";
  return nullptr;
}

// Accumulates NAME=VALUE entries: the first appearance of a name fixes its
// position, the last assignment fixes its value.
class EnvironmentBuilder {
 public:
  void Set(std::string_view name, std::string_view value) {
    std::string entry;
    entry.reserve(name.size() + 1 + value.size());
    entry.append(name);
    entry += '=';
    entry.append(value);
    auto [it, inserted] = index_.try_emplace(std::string(name), env_.entries.size());
    if (inserted) {
      env_.entries.push_back(std::move(entry));
    } else {
      env_.entries[it->second] = std::move(entry);
    }
  }
  bool Has(std::string_view name) const { return index_.count(std::string(name)) != 0; }
  CgiEnvironment Take() { return std::move(env_); }

 private:
  CgiEnvironment env_;
  std::unordered_map<std::string, size_t> index_;
};

void AddAll(const NameValuePairs& pairs, EnvironmentBuilder* builder, std::vector<DroppedParam>* dropped) {
  for (const auto& [name, value] : pairs) {
    if (const char* reason = RejectReason(name, value)) {
      if (dropped != nullptr) dropped->push_back(DroppedParam{name, reason});
      continue;
    }
    builder->Set(name, value);
  }
}

char HexDigit(unsigned v) { return "0123456789abcdef"[v & 0xf]; }

}  // namespace

const char* CgiEnvironment::Find(std::string_view name) const {
  for (const std::string& entry : entries) {
    if (entry.size() > name.size() && entry[name.size()] == '=' &&
        std::string_view(entry).substr(0, name.size()) == name) {
      return entry.c_str() + name.size() + 1;
    }
  }
  return nullptr;
}

CgiEnvironment BuildCgiEnvironment(const NameValuePairs& params, const NameValuePairs& base,
                                   std::vector<DroppedParam>* dropped) {
  EnvironmentBuilder builder;
  AddAll(base, &builder, dropped);
  AddAll(params, &builder, dropped);
  if (!builder.Has("GATEWAY_INTERFACE")) builder.Set("GATEWAY_INTERFACE", "CGI/1.1");
  if (!builder.Has("QUERY_STRING")) builder.Set("QUERY_STRING", "");
  return builder.Take();
}

CgiEnvironment BuildRequestEnvironment(NameValuePairs params, const NameValuePairs& overrides,
                                       const NameValuePairs& base, Role role,
                                       std::vector<DroppedParam>* dropped) {
  for (const auto& entry : overrides) {  // not a structured binding: clang 14 cannot capture one
    const std::string& name = entry.first;
    std::erase_if(params, [&name](const auto& p) { return p.first == name; });
    params.emplace_back(name, entry.second);
  }
  CgiEnvironment env = BuildCgiEnvironment(params, base, dropped);
  if (env.Find("FCGI_ROLE") == nullptr) {
    switch (role) {
      case Role::kResponder:
        env.entries.push_back("FCGI_ROLE=RESPONDER");
        break;
      case Role::kAuthorizer:
        env.entries.push_back("FCGI_ROLE=AUTHORIZER");
        break;
      case Role::kFilter:
        env.entries.push_back("FCGI_ROLE=FILTER");
        break;
    }
  }
  return env;
}

Status ParseContentLength(const NameValuePairs& params, std::optional<uint64_t>* out) {
  out->reset();
  const std::string* text = FindParam(params, "CONTENT_LENGTH");
  if (text == nullptr || text->empty()) return Status::Ok();
  uint64_t value = 0;
  constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();
  for (char c : *text) {
    if (c < '0' || c > '9') {
      return Status::Protocol("CONTENT_LENGTH \"" + EscapeForLog(*text) + "\" is not a decimal number");
    }
    const uint64_t digit = static_cast<uint64_t>(c - '0');
    if (value > (kMax - digit) / 10) {
      return Status::Protocol("CONTENT_LENGTH \"" + EscapeForLog(*text) + "\" is too large");
    }
    value = value * 10 + digit;
  }
  *out = value;
  return Status::Ok();
}

// The result never holds more than `max_len` characters before the "..."
// marker, and an escape sequence is never cut in half.
std::string EscapeForLog(std::string_view text, size_t max_len) {
  std::string out;
  out.reserve(text.size() < max_len ? text.size() + 8 : max_len + 3);
  for (char c : text) {
    const unsigned char byte = static_cast<unsigned char>(c);
    char piece[4];
    size_t piece_len = 0;
    if (c == '"' || c == '\\') {
      piece[0] = '\\';
      piece[1] = c;
      piece_len = 2;
    } else if (byte >= 0x20 && byte < 0x7f) {
      piece[0] = c;
      piece_len = 1;
    } else {
      piece[0] = '\\';
      piece[1] = 'x';
      piece[2] = HexDigit(byte >> 4);
      piece[3] = HexDigit(byte);
      piece_len = 4;
    }
    if (out.size() + piece_len > max_len) {
      out += "...";
      return out;
    }
    out.append(piece, piece_len);
  }
  return out;
}

}  // namespace fcgi
