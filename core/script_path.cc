#include "core/script_path.h"

#include <algorithm>
#include <utility>

#include "core/strings.h"

namespace fcgi {

namespace {

std::string PercentDecode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && HexValue(s[i + 1]) >= 0 && HexValue(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(HexValue(s[i + 1]) * 16 + HexValue(s[i + 2])));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

std::string_view Basename(std::string_view path) {
  size_t slash = path.rfind('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

// For log lines: a path with control bytes or of absurd length is shown
// escaped and cut.
std::string Quote(std::string_view path) {
  std::string out = "\"";
  size_t n = 0;
  for (char c : path) {
    if (++n > 200) {
      out += "...";
      break;
    }
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f || c == '"' || c == '\\') {
      static const char kHex[] = "0123456789abcdef";
      out += "\\x";
      out += kHex[u >> 4];
      out += kHex[u & 15];
    } else {
      out += c;
    }
  }
  return out + "\"";
}

}  // namespace

std::string NormalizePath(std::string_view path) {
  std::vector<std::string_view> parts;
  size_t i = 0;
  while (i < path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    std::string_view part = path.substr(i, j - i);
    if (part.empty() || part == ".") {
      // skip
    } else if (part == "..") {
      if (!parts.empty()) parts.pop_back();
    } else {
      parts.push_back(part);
    }
    i = j + 1;
  }
  if (parts.empty()) return "/";
  std::string out;
  for (std::string_view p : parts) {
    out += '/';
    out += p;
  }
  return out;
}

bool IsUnder(std::string_view path, std::string_view dir) {
  if (dir == "/") return !path.empty() && path[0] == '/';
  if (path.size() < dir.size() || path.compare(0, dir.size(), dir) != 0) return false;
  return path.size() == dir.size() || path[dir.size()] == '/';
}

std::string StripProxyFcgiPrefix(std::string_view filename) {
  constexpr std::string_view kPrefix = "proxy:fcgi://";
  if (filename.substr(0, kPrefix.size()) != kPrefix) return std::string(filename);
  std::string_view rest = filename.substr(kPrefix.size());
  size_t slash = rest.find('/');
  if (slash == std::string_view::npos) return "";  // no path at all
  rest = rest.substr(slash);
  size_t query = rest.find('?');
  if (query != std::string_view::npos) rest = rest.substr(0, query);
  return PercentDecode(rest);
}

Status ParseExtensionList(std::string_view list, std::vector<std::string>* out) {
  std::vector<std::string> result;
  size_t i = 0;
  while (i <= list.size()) {
    size_t j = list.find_first_of(", ", i);
    if (j == std::string_view::npos) j = list.size();
    std::string_view entry = list.substr(i, j - i);
    if (!entry.empty()) {
      if (entry[0] != '.' || entry.size() < 2 || entry.find('/') != std::string_view::npos) {
        return Status::Invalid("--allow-ext entry \"" + std::string(entry) +
                               "\": expected an extension starting with '.', such as .cgi");
      }
      result.emplace_back(entry);
    }
    i = j + 1;
  }
  if (result.empty()) return Status::Invalid("--allow-ext: empty list (expected .cgi,.pl,...)");
  *out = std::move(result);
  return Status::Ok();
}

bool HasAllowedExtension(std::string_view path, const std::vector<std::string>& extensions) {
  std::string_view name = Basename(path);
  return std::any_of(extensions.begin(), extensions.end(), [name](const std::string& ext) {
    return name.size() > ext.size() && name.compare(name.size() - ext.size(), ext.size(), ext) == 0;
  });
}

std::string ScriptPolicy::DescribeRoots() const {
  std::string out = "--root ";
  for (size_t i = 0; i < roots.size(); ++i) out += (i == 0 ? "" : ", ") + roots[i].path;
  return out;
}

Status ResolveScript(const NameValuePairs& params, const ScriptPolicy& policy, const FileSystem& fs,
                     ScriptResolution* out) {
  // 1. Which path.
  std::string raw;
  const std::string* script_filename = FindParam(params, "SCRIPT_FILENAME");
  const std::string* document_root = FindParam(params, "DOCUMENT_ROOT");
  const std::string* script_name = FindParam(params, "SCRIPT_NAME");
  if (script_filename != nullptr && !script_filename->empty()) {
    raw = StripProxyFcgiPrefix(*script_filename);
    if (raw.empty()) return Status::NotFound("SCRIPT_FILENAME " + Quote(*script_filename) + " names no path");
  } else if (document_root != nullptr && !document_root->empty() && script_name != nullptr &&
             !script_name->empty()) {
    raw = *document_root + "/" + *script_name;
  } else {
    return Status::NotFound(
        "no SCRIPT_FILENAME, and no DOCUMENT_ROOT + SCRIPT_NAME: nothing names a program");
  }

  // 2. Shape.
  if (raw.find('\0') != std::string::npos)
    return Status::Denied("script path " + Quote(raw) + " contains a NUL byte");
  if (raw.size() > kMaxScriptPathBytes) {
    return Status::NotFound("script path of " + std::to_string(raw.size()) +
                            " bytes is longer than PATH_MAX");
  }
  if (raw[0] != '/') return Status::Denied("script path " + Quote(raw) + " is not absolute");

  // 3. Lexically under a root.
  const std::string path = NormalizePath(raw);
  if (!policy.roots.empty() &&
      std::none_of(policy.roots.begin(), policy.roots.end(),
                   [&](const ScriptRoot& r) { return IsUnder(path, r.path) || IsUnder(path, r.real); })) {
    return Status::Denied("script path " + Quote(path) + " is outside " + policy.DescribeRoots());
  }

  // 4. Walk back to the first existing path.
  std::string candidate = path;
  std::string rest;
  FileSystem::FileInfo info;
  while (true) {
    Status s = fs.Stat(candidate, &info);
    if (s.ok()) break;
    if (s.code() != Status::Code::kNotFound) return s;
    size_t slash = candidate.rfind('/');
    if (candidate == "/" || slash == std::string::npos) return Status::NotFound("no file for " + Quote(path));
    rest = candidate.substr(slash) + rest;
    candidate.resize(slash == 0 ? 1 : slash);
  }
  if (info.directory) {
    if (rest.empty()) return Status::Denied(Quote(candidate) + " is a directory");
    return Status::NotFound("no file for " + Quote(path) + " (" + Quote(candidate) + " is a directory)");
  }
  if (!info.regular) return Status::Denied(Quote(candidate) + " is not a regular file");

  // 5. The real file.
  std::string real;
  Status s = fs.RealPath(candidate, &real);
  if (!s.ok()) return s;
  const ScriptRoot* root = nullptr;
  for (const ScriptRoot& r : policy.roots) {  // a file root first: it is exempt from --allow-ext
    if (r.file ? real == r.real : IsUnder(real, r.real)) {
      if (root == nullptr || r.file) root = &r;
      if (r.file) break;
    }
  }
  if (!policy.roots.empty() && root == nullptr) {
    return Status::Denied(Quote(candidate) + " resolves to " + Quote(real) + ", outside " +
                          policy.DescribeRoots());
  }
  if (!info.executable) return Status::Denied(Quote(real) + " is not executable");

  // 6. Allow-lists.
  if (!policy.extensions.empty() && (root == nullptr || !root->file) &&
      (!HasAllowedExtension(candidate, policy.extensions) || !HasAllowedExtension(real, policy.extensions))) {
    return Status::Denied(Quote(candidate) + " (" + Quote(real) +
                          ") does not end in an --allow-ext extension");
  }
  if (!policy.programs.empty() &&
      std::find(policy.programs.begin(), policy.programs.end(), real) == policy.programs.end()) {
    return Status::Denied(Quote(real) + " is not one of the --program programs");
  }

  ScriptResolution r;
  r.program = std::move(real);
  r.root = root;
  r.script_filename = candidate;
  r.path_info = rest;
  r.overrides.emplace_back("SCRIPT_FILENAME", candidate);
  if (!rest.empty()) {
    r.overrides.emplace_back("PATH_INFO", rest);
    if (document_root != nullptr && !document_root->empty()) {
      r.overrides.emplace_back("PATH_TRANSLATED", NormalizePath(*document_root + rest));
    }
    if (script_name != nullptr && script_name->size() > rest.size() &&
        script_name->compare(script_name->size() - rest.size(), rest.size(), rest) == 0) {
      r.overrides.emplace_back("SCRIPT_NAME", script_name->substr(0, script_name->size() - rest.size()));
    }
  }
  *out = std::move(r);
  return Status::Ok();
}

}  // namespace fcgi
