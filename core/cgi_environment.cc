#include "core/cgi_environment.h"

#include <algorithm>
#include <limits>
#include <unordered_map>
#include <unordered_set>

namespace fcgi {
namespace {

// ProtectedVariable's list. An entry ending in '*' matches every name that
// starts with the rest. Sources: glibc's sysdeps/generic/unsecvars.h (what
// ld.so removes from a set-id program's environment) and the manuals of each
// interpreter (the variables that load code or change its options).
constexpr std::string_view kProtectedVariables[] = {
    // The dynamic loader and libc (glibc's secure-execution list, plus every
    // LD_* and MALLOC_* name, which ld.so and the tunables read).
    "LD_*",
    "GCONV_PATH",
    "GETCONF_DIR",
    "GLIBC_TUNABLES",
    "HOSTALIASES",
    "LOCALDOMAIN",
    "LOCPATH",
    "MALLOC_*",
    "NIS_PATH",
    "NLSPATH",
    "RESOLV_HOST_CONF",
    "RES_OPTIONS",
    "TMPDIR",
    "TZDIR",
    // Shells: start-up files, options, exported functions, the trace prompt.
    "BASH_ENV",
    "ENV",
    "BASH_FUNC_*",
    "SHELLOPTS",
    "BASHOPTS",
    "PS4",
    "IFS",
    // Perl, Python, Node.js, Ruby, PHP (php-cgi reads PHPRC), Java, Lua, Tcl.
    "PERL5OPT",
    "PERL5LIB",
    "PERLLIB",
    "PERL5DB",
    "PERLIO_DEBUG",
    "PYTHON*",
    "NODE_OPTIONS",
    "NODE_PATH",
    "NODE_REPL_EXTERNAL_MODULE",
    "NODE_EXTRA_CA_CERTS",
    "NODE_TLS_REJECT_UNAUTHORIZED",
    "RUBYOPT",
    "RUBYLIB",
    "RUBYPATH",
    "RUBYSHELL",
    "PHPRC",
    "PHP_INI_SCAN_DIR",
    "JAVA_TOOL_OPTIONS",
    "_JAVA_OPTIONS",
    "JDK_JAVA_OPTIONS",
    "CLASSPATH",
    "LUA_*",
    "TCLLIBPATH",
    // OpenSSL's configuration loads engines and providers.
    "OPENSSL_CONF",
    "OPENSSL_ENGINES",
    "OPENSSL_MODULES",
    // git (git-http-backend): configuration given in the environment, helpers.
    "GIT_CONFIG*",
    "GIT_EXEC_PATH",
    "GIT_SSH",
    "GIT_SSH_COMMAND",
    "GIT_ASKPASS",
};

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

void Drop(std::vector<DroppedParam>* dropped, std::string_view name, std::string reason,
          std::string protected_entry = {}) {
  if (dropped != nullptr) {
    dropped->push_back(DroppedParam{std::string(name), std::move(reason), std::move(protected_entry)});
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

const char* ProtectedVariable(std::string_view name) {
  for (std::string_view entry : kProtectedVariables) {
    if (entry.back() == '*' ? name.substr(0, entry.size() - 1) == entry.substr(0, entry.size() - 1)
                            : name == entry) {
      return entry.data();  // each entry is a whole literal: NUL-terminated
    }
  }
  return nullptr;
}

CgiEnvironment BuildCgiEnvironment(const NameValuePairs& params, const NameValuePairs& base,
                                   const std::vector<std::string>& pass, std::vector<DroppedParam>* dropped) {
  EnvironmentBuilder builder;
  for (const auto& [name, value] : base) {
    if (const char* reason = RejectReason(name, value)) {
      Drop(dropped, name, reason);
      continue;
    }
    builder.Set(name, value);
  }
  // Names the operator set (--env, PATH): no param replaces them.
  std::unordered_set<std::string_view> in_base;
  for (const auto& entry : base) in_base.insert(entry.first);
  for (const auto& [name, value] : params) {
    if (const char* reason = RejectReason(name, value)) {
      Drop(dropped, name, reason);
      continue;
    }
    if (in_base.count(name) != 0) {
      Drop(dropped, name, "set by fcgi-run (--env)");
      continue;
    }
    if (const char* entry = ProtectedVariable(name);
        entry != nullptr && std::find(pass.begin(), pass.end(), name) == pass.end()) {
      Drop(dropped, name, std::string("protected variable (") + entry + ")", entry);
      continue;
    }
    builder.Set(name, value);
  }
  if (!builder.Has("GATEWAY_INTERFACE")) builder.Set("GATEWAY_INTERFACE", "CGI/1.1");
  if (!builder.Has("QUERY_STRING")) builder.Set("QUERY_STRING", "");
  return builder.Take();
}

CgiEnvironment BuildRequestEnvironment(NameValuePairs params, const NameValuePairs& overrides,
                                       const NameValuePairs& base, const std::vector<std::string>& pass,
                                       Role role, std::vector<DroppedParam>* dropped) {
  for (const auto& entry : overrides) {  // not a structured binding: clang 14 cannot capture one
    const std::string& name = entry.first;
    std::erase_if(params, [&name](const auto& p) { return p.first == name; });
    params.emplace_back(name, entry.second);
  }
  // The role is BEGIN_REQUEST's, whatever a param says.
  std::erase_if(params, [dropped](const auto& p) {
    if (p.first != "FCGI_ROLE") return false;
    Drop(dropped, p.first, "FCGI_ROLE is the role of FCGI_BEGIN_REQUEST");
    return true;
  });
  CgiEnvironment env = BuildCgiEnvironment(params, base, pass, dropped);
  const char* role_name = "RESPONDER";
  if (role == Role::kAuthorizer) role_name = "AUTHORIZER";
  if (role == Role::kFilter) role_name = "FILTER";
  std::erase_if(env.entries, [](const std::string& e) { return e.rfind("FCGI_ROLE=", 0) == 0; });
  env.entries.push_back(std::string("FCGI_ROLE=") + role_name);
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
