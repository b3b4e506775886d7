// --persistent PATTERN (repeatable), dispatcher mode: which programs run in
// persistent mode; every other program runs in --mode. Pure: fnmatch(3) on
// strings; the only file-system question (a pattern naming a symlink) goes
// through the FileSystem interface of script_path.h. The same patterns select
// the scripts of --compile-per-request.
//
// A pattern's kind is decided by where its slashes are:
//   "/srv/www/fast.cgi", "/srv/www/fast/*.cgi"
//       starts with '/': matched against the program's absolute path, i.e.
//       its real path (symlinks resolved) and, when --root is itself reached
//       through a symlink, the same path under --root as given. A pattern with
//       no wildcard that names a symlink also selects the symlink's target
//       (ResolveLiterals).
//   "legacy/*", "cgi-bin/report.cgi"
//       has a '/' elsewhere: matched against the program's real path relative
//       to the real --root (needs --root; "./" in front is ignored).
//   "*.fast.cgi", "report.cgi"
//       no '/': matched against the program's file name, in any directory.
// Wildcards are fnmatch(3)'s with FNM_PATHNAME: '*' and '?' never cross a
// '/', "[a-z]" classes, '\' escapes. A trailing '/' ("legacy/",
// "/srv/www/fast/") selects every program below a matching directory, at any
// depth. The first pattern that matches is reported (for the log).
#ifndef FCGI_RUN_CORE_PERSISTENT_PATTERNS_H_
#define FCGI_RUN_CORE_PERSISTENT_PATTERNS_H_

#include <string>
#include <string_view>
#include <vector>

#include "core/script_path.h"
#include "core/status.h"

namespace fcgi {

class PersistentPatterns {
 public:
  enum class Kind { kAbsolute, kUnderRoot, kFileName };

  // Errors (kInvalidArgument, the message names the pattern): an empty
  // pattern, a NUL byte, a "." or ".." component (paths are resolved, so it
  // could never match), a relative pattern with a '/' when !have_root.
  // `option` names the option in the messages.
  static Status Parse(const std::vector<std::string>& patterns, bool have_root, PersistentPatterns* out,
                      std::string_view option = "--persistent");

  bool empty() const { return patterns_.empty(); }
  size_t size() const { return patterns_.size(); }
  Kind kind(size_t i) const { return patterns_[i].kind; }

  // For each absolute pattern without wildcards, asks fs for the real path of
  // the file it names; when that differs (a symlink), the pattern also
  // matches it. Files that do not exist (yet) are left as written.
  void ResolveLiterals(const FileSystem& fs);

  // The pattern (as given) that selects `real_path`, or "" when none does.
  // real_path: absolute and normalised (the dispatcher's real path).
  // root / real_root: ScriptPolicy's ("" = no --root).
  std::string Match(std::string_view real_path, std::string_view root, std::string_view real_root) const;

 private:
  struct Pattern {
    std::string text;  // as given
    Kind kind;
    std::string glob;  // without "./" in front or '/' at the end
    bool directory;    // ended in '/': selects everything below
    std::string real;  // kAbsolute literal naming a symlink: its target ("" = none)
  };
  bool MatchOne(const Pattern& p, std::string_view path) const;

  std::vector<Pattern> patterns_;
};

}  // namespace fcgi

#endif  // FCGI_RUN_CORE_PERSISTENT_PATTERNS_H_
