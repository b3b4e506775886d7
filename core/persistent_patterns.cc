#include "core/persistent_patterns.h"

#include <fnmatch.h>

#include <utility>

namespace fcgi {

namespace {

bool HasWildcard(std::string_view s) { return s.find_first_of("*?[\\") != std::string_view::npos; }

bool Glob(const std::string& glob, std::string_view path) {
  return fnmatch(glob.c_str(), std::string(path).c_str(), FNM_PATHNAME) == 0;
}

// "a//b" -> "a/b".
std::string CollapseSlashes(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '/' && !out.empty() && out.back() == '/') continue;
    out.push_back(c);
  }
  return out;
}

Status Invalid(std::string_view option, const std::string& pattern, const std::string& why) {
  return Status::Invalid(std::string(option) + " '" + pattern + "': " + why);
}

}  // namespace

Status PersistentPatterns::Parse(const std::vector<std::string>& patterns, bool have_root,
                                 PersistentPatterns* out, std::string_view option) {
  std::vector<Pattern> parsed;
  for (const std::string& text : patterns) {
    if (text.empty()) return Invalid(option, text, "empty pattern");
    if (text.find('\0') != std::string::npos) return Invalid(option, text, "NUL byte in pattern");
    Pattern p;
    p.text = text;
    p.kind = text[0] == '/'                        ? Kind::kAbsolute
             : text.find('/') != std::string::npos ? Kind::kUnderRoot
                                                   : Kind::kFileName;
    std::string glob = CollapseSlashes(text);
    p.directory = glob.back() == '/';
    if (p.kind == Kind::kUnderRoot) {
      while (glob.rfind("./", 0) == 0) glob.erase(0, 2);
      if (!have_root) {
        return Invalid(option, text,
                       "a relative path is matched under --root, and there is none: give --root, an "
                       "absolute path, or a file-name pattern without '/'");
      }
    }
    while (!glob.empty() && glob.back() == '/') glob.pop_back();
    // Every component of a real path is a name: "." and ".." never match.
    for (size_t start = 0; start <= glob.size();) {
      size_t end = glob.find('/', start);
      if (end == std::string::npos) end = glob.size();
      std::string_view part = std::string_view(glob).substr(start, end - start);
      if (part == "." || part == "..") {
        return Invalid(option, text,
                       "'.' and '..' never match (programs are matched by their resolved path)");
      }
      start = end + 1;
    }
    p.glob = std::move(glob);
    parsed.push_back(std::move(p));
  }
  out->patterns_ = std::move(parsed);
  return Status::Ok();
}

void PersistentPatterns::ResolveLiterals(const FileSystem& fs) {
  for (Pattern& p : patterns_) {
    if (p.kind != Kind::kAbsolute || p.glob.empty() || HasWildcard(p.glob)) continue;
    std::string real;
    if (fs.RealPath(p.glob, &real).ok() && real != p.glob) p.real = NormalizePath(real);
  }
}

bool PersistentPatterns::MatchOne(const Pattern& p, std::string_view path) const {
  if (!p.real.empty() && (p.directory ? IsUnder(path, p.real) && path != p.real : path == p.real))
    return true;
  if (!p.directory) return Glob(p.glob, path);
  // Below a matching directory: try every proper ancestor of path.
  if (p.glob.empty()) return !path.empty() && path != "/";  // "/" or "./": everything
  for (size_t i = path.find('/', 1); i != std::string_view::npos; i = path.find('/', i + 1)) {
    if (Glob(p.glob, path.substr(0, i))) return true;
  }
  return false;
}

std::string PersistentPatterns::Match(std::string_view real_path, std::string_view root,
                                      std::string_view real_root) const {
  // The path under the real root ("" when the program is not under it).
  std::string rel;
  if (!real_root.empty() && real_path != real_root && IsUnder(real_path, real_root)) {
    rel = std::string(real_path.substr(real_root == "/" ? 1 : real_root.size() + 1));
  }
  // The same program seen through --root as given (a symlink to real_root).
  std::string through_root;
  if (!rel.empty() && !root.empty() && root != real_root) {
    through_root = std::string(root) + (root == "/" ? "" : "/") + rel;
  }
  const size_t slash = real_path.rfind('/');
  const std::string_view name = slash == std::string_view::npos ? real_path : real_path.substr(slash + 1);
  for (const Pattern& p : patterns_) {
    bool hit = false;
    switch (p.kind) {
      case Kind::kAbsolute:
        hit = MatchOne(p, real_path) || (!through_root.empty() && MatchOne(p, through_root));
        break;
      case Kind::kUnderRoot:
        hit = !rel.empty() && MatchOne(p, rel);
        break;
      case Kind::kFileName:
        hit = Glob(p.glob, name);
        break;
    }
    if (hit) return p.text;
  }
  return "";
}

}  // namespace fcgi
