// Script paths for dispatcher mode (`fcgi-run --root DIR`, no PROGRAM): which
// file a request names, and whether it may run. Pure decisions; every
// file-system question goes through the FileSystem interface, so the rules are
// unit-tested with a fake (tests/core/script_path_test.cc) and the
// launcher plugs in the real one (launcher/request/dispatcher_source.cc).
//
// The rules, in order (ResolveScript):
//  1. The path is SCRIPT_FILENAME; when that is absent or empty, DOCUMENT_ROOT +
//     SCRIPT_NAME. A mod_proxy_fcgi "proxy:fcgi://host:port" prefix is removed
//     (with any "?query" tail; %XX escapes in that form are decoded).
//  2. A NUL byte -> Denied; longer than kMaxScriptPathBytes -> NotFound; not
//     absolute -> Denied.
//  3. The path is normalised lexically (duplicate slashes, ".", "..") and must
//     lie under one of the roots (as given, or its real path) -> else Denied,
//     before the file system is asked anything. A root is a directory (every
//     program below it) or one program file (that program, with anything
//     after its name as PATH_INFO).
//  4. Walk back (as Apache does for CGI): while the path does not exist, its
//     last component moves to the front of PATH_INFO. The first existing path
//     must be a regular file (a directory -> Denied when nothing was split
//     off, else NotFound; anything else -> Denied).
//  5. The real path (symlinks resolved) must lie under the real path of a
//     directory root, or be the real path of a file root -> else Denied; the
//     file must be executable -> else Denied.
//  6. --allow-ext: the requested name and the real name must both end in one
//     of the extensions -> else Denied (not for a program a file root names:
//     it is named exactly). --program: the real path must be one of the
//     allow-listed real paths -> else Denied.
// Error messages are for the log (they name the path and the reason); the
// client only ever sees 404/403 with a generic body.
#ifndef FCGI_RUN_CORE_SCRIPT_PATH_H_
#define FCGI_RUN_CORE_SCRIPT_PATH_H_

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "core/fcgi_name_value.h"
#include "core/status.h"

namespace fcgi {

// PATH_MAX - 1: longer paths cannot name a file.
inline constexpr size_t kMaxScriptPathBytes = 4095;

// What the dispatcher asks the file system (like ninja's DiskInterface).
class FileSystem {
 public:
  struct FileInfo {
    bool regular = false;
    bool directory = false;
    bool executable = false;  // access(X_OK) for the launcher
  };
  virtual ~FileSystem() = default;
  // realpath(3). Errors: kNotFound (missing, a component not a directory, name
  // too long), kPermissionDenied (search permission, symlink loop), others.
  virtual Status RealPath(const std::string& path, std::string* out) const = 0;
  // stat(2) following symlinks, plus executability. Errors as for RealPath.
  virtual Status Stat(const std::string& path, FileInfo* out) const = 0;
};

// Lexical normalisation of an absolute path: duplicate slashes and "." go,
// ".." removes the previous component ("/.." is "/"), no trailing slash
// (except "/" itself). REQUIRES: path starts with '/'.
std::string NormalizePath(std::string_view path);

// True when `path` is `dir` or inside it, comparing whole components.
// REQUIRES: both normalised.
bool IsUnder(std::string_view path, std::string_view dir);

// "proxy:fcgi://host:port/srv/a.cgi?x=1" -> "/srv/a.cgi" (percent-decoded);
// any other string is returned unchanged.
std::string StripProxyFcgiPrefix(std::string_view filename);

// --allow-ext: ".cgi,.pl" (commas and/or spaces). Each entry must start with
// '.', have at least one more character and no '/'. Errors: kInvalidArgument.
Status ParseExtensionList(std::string_view list, std::vector<std::string>* out);

// True when the last component of `path` ends in one of `extensions` and is
// longer than it (".cgi" alone does not match ".cgi"). Case-sensitive.
bool HasAllowedExtension(std::string_view path, const std::vector<std::string>& extensions);

// One --root: a directory, or one program file.
struct ScriptRoot {
  std::string path;   // normalised as given
  std::string real;   // its real path (what confinement is checked on)
  bool file = false;  // a program file: only that program runs from it
};

struct ScriptPolicy {
  std::vector<ScriptRoot> roots;        // --root (empty = no root)
  std::vector<std::string> extensions;  // --allow-ext ("" = any)
  std::vector<std::string> programs;    // --program, real paths (empty = any)
  // "--root /srv/www" or "--root /srv/www, /usr/lib/cgit/cgit.cgi": for messages.
  std::string DescribeRoots() const;
};

struct ScriptResolution {
  std::string program;               // real path: what runs
  const ScriptRoot* root = nullptr;  // the root it was found under (nullptr = no roots)
  std::string script_filename;       // the requested file, normalised, without path info
  std::string path_info;             // split off by the walk back ("" = none)
  // Params the request gets instead of the web server's: SCRIPT_FILENAME
  // always; PATH_INFO, PATH_TRANSLATED (DOCUMENT_ROOT + PATH_INFO) and
  // SCRIPT_NAME (without the path info) when something was split off.
  NameValuePairs overrides;
};

// Applies the rules above to a request's params. Errors: kNotFound (404),
// kPermissionDenied (403), others (500); *out is filled only on success.
Status ResolveScript(const NameValuePairs& params, const ScriptPolicy& policy, const FileSystem& fs,
                     ScriptResolution* out);

}  // namespace fcgi

#endif  // FCGI_RUN_CORE_SCRIPT_PATH_H_
