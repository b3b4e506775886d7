#include "core/script_path.h"

#include <catch2/catch.hpp>

#include <map>
#include <string>
#include <vector>

namespace fcgi {
namespace {

// An in-memory file tree with files, directories and symlinks (absolute or
// relative targets), resolved component by component as the kernel does.
class FakeFileSystem : public FileSystem {
 public:
  FakeFileSystem() { nodes_["/"] = Node{Kind::kDir, false, ""}; }

  void File(const std::string& path, bool executable = true) { Add(path, Node{Kind::kFile, executable, ""}); }
  void Dir(const std::string& path) { Add(path, Node{Kind::kDir, false, ""}); }
  void Link(const std::string& path, const std::string& target) {
    Add(path, Node{Kind::kLink, false, target});
  }
  void Other(const std::string& path) { Add(path, Node{Kind::kOther, false, ""}); }
  void DenySearch(const std::string& dir) { denied_.push_back(dir); }

  Status RealPath(const std::string& path, std::string* out) const override { return Resolve(path, out, 0); }

  Status Stat(const std::string& path, FileInfo* out) const override {
    stats_.push_back(path);
    std::string real;
    Status s = Resolve(path, &real, 0);
    if (!s.ok()) return s;
    const Node& n = nodes_.at(real);
    *out = FileInfo{};
    out->regular = n.kind == Kind::kFile;
    out->directory = n.kind == Kind::kDir;
    out->executable = n.kind == Kind::kDir || n.executable;
    return Status::Ok();
  }

  mutable std::vector<std::string> stats_;

 private:
  enum class Kind { kFile, kDir, kLink, kOther };
  struct Node {
    Kind kind;
    bool executable;
    std::string target;
  };

  void Add(const std::string& path, Node node) {
    for (size_t i = path.find('/', 1); i != std::string::npos; i = path.find('/', i + 1)) {
      nodes_.emplace(path.substr(0, i), Node{Kind::kDir, false, ""});
    }
    nodes_[path] = std::move(node);
  }

  Status Resolve(const std::string& path, std::string* out, int depth) const {
    if (depth > 8) return Status::Denied(path + ": too many symlinks");
    std::string cur = "/";
    size_t i = 0;
    while (i < path.size()) {
      size_t j = path.find('/', i);
      if (j == std::string::npos) j = path.size();
      std::string comp = path.substr(i, j - i);
      i = j + 1;
      if (comp.empty() || comp == ".") continue;
      for (const std::string& d : denied_) {
        if (cur == d) return Status::Denied(path + ": search permission");
      }
      if (comp == "..") {
        cur = cur == "/" ? "/" : cur.substr(0, std::max<size_t>(1, cur.rfind('/')));
        continue;
      }
      const Node& here = nodes_.at(cur);
      if (here.kind != Kind::kDir) return Status::NotFound(path + ": not a directory");
      std::string next = cur == "/" ? "/" + comp : cur + "/" + comp;
      auto it = nodes_.find(next);
      if (it == nodes_.end()) return Status::NotFound(path + ": no such file");
      if (it->second.kind == Kind::kLink) {
        std::string target = it->second.target[0] == '/' ? it->second.target : cur + "/" + it->second.target;
        Status s = Resolve(target, &next, depth + 1);
        if (!s.ok()) return s;
      }
      cur = next;
    }
    *out = cur;
    return Status::Ok();
  }

  std::map<std::string, Node> nodes_;
  std::vector<std::string> denied_;
};

ScriptPolicy RootPolicy(const std::string& root = "/srv/www") {
  ScriptPolicy p;
  p.roots = {{.path = root, .real = root}};
  return p;
}

std::string Override(const ScriptResolution& r, const std::string& name) {
  for (const auto& [n, v] : r.overrides) {
    if (n == name) return v;
  }
  return "<unset>";
}

struct Fixture {
  Fixture() {
    fs.File("/srv/www/cgi-bin/app.cgi");
    fs.File("/srv/www/cgi-bin/tool.pl");
    fs.File("/srv/www/cgi-bin/data.txt", false);
    fs.File("/srv/www/index.cgi");
    fs.Dir("/srv/www/cgi-bin/sub");
    fs.File("/etc/passwd", false);
    fs.File("/usr/bin/id");
    fs.Link("/srv/www/cgi-bin/escape.cgi", "/usr/bin/id");
    fs.Link("/srv/www/cgi-bin/alias.cgi", "app.cgi");
    fs.Link("/srv/www/cgi-bin/up.cgi", "../../../usr/bin/id");
    fs.Link("/srv/www/linkdir", "/usr/bin");
    fs.Other("/srv/www/cgi-bin/fifo.cgi");
  }
  Status Run(const NameValuePairs& params, const ScriptPolicy& policy = RootPolicy()) {
    return ResolveScript(params, policy, fs, &result);
  }
  FakeFileSystem fs;
  ScriptResolution result;
};

TEST_CASE("NormalizePath removes duplicate slashes, dots and dot-dots", "[script_path]") {
  CHECK(NormalizePath("/") == "/");
  CHECK(NormalizePath("//srv///www//") == "/srv/www");
  CHECK(NormalizePath("/srv/./www/.") == "/srv/www");
  CHECK(NormalizePath("/srv/www/../etc/passwd") == "/srv/etc/passwd");
  CHECK(NormalizePath("/srv/www/../../../../etc") == "/etc");
  CHECK(NormalizePath("/..") == "/");
  CHECK(NormalizePath("/a/b/c/../../d") == "/a/d");
  CHECK(NormalizePath("/a/...") == "/a/...");  // three dots is a name
}

TEST_CASE("IsUnder compares whole components", "[script_path]") {
  CHECK(IsUnder("/srv/www/a.cgi", "/srv/www"));
  CHECK(IsUnder("/srv/www", "/srv/www"));
  CHECK_FALSE(IsUnder("/srv/www2/a.cgi", "/srv/www"));
  CHECK_FALSE(IsUnder("/srv", "/srv/www"));
  CHECK(IsUnder("/anything", "/"));
  CHECK_FALSE(IsUnder("relative", "/"));
}

TEST_CASE("StripProxyFcgiPrefix handles mod_proxy_fcgi's form", "[script_path]") {
  CHECK(StripProxyFcgiPrefix("proxy:fcgi://127.0.0.1:9000/srv/www/a.cgi") == "/srv/www/a.cgi");
  CHECK(StripProxyFcgiPrefix("proxy:fcgi://localhost/srv/a.cgi/x?y=1") == "/srv/a.cgi/x");
  CHECK(StripProxyFcgiPrefix("proxy:fcgi://[::1]:9000/srv/a%20b.cgi") == "/srv/a b.cgi");
  CHECK(StripProxyFcgiPrefix("proxy:fcgi://host:1") == "");
  CHECK(StripProxyFcgiPrefix("/srv/a%20b.cgi") == "/srv/a%20b.cgi");  // only the proxy form is decoded
  CHECK(StripProxyFcgiPrefix("proxy:balancer://x/y") == "proxy:balancer://x/y");
}

TEST_CASE("ParseExtensionList and HasAllowedExtension", "[script_path]") {
  std::vector<std::string> exts;
  REQUIRE(ParseExtensionList(".cgi,.pl", &exts).ok());
  CHECK(exts == std::vector<std::string>{".cgi", ".pl"});
  REQUIRE(ParseExtensionList(" .cgi  .sh, ", &exts).ok());
  CHECK(exts == std::vector<std::string>{".cgi", ".sh"});
  CHECK(ParseExtensionList("cgi", &exts).code() == Status::Code::kInvalidArgument);
  CHECK(ParseExtensionList(".", &exts).code() == Status::Code::kInvalidArgument);
  CHECK(ParseExtensionList("./x", &exts).code() == Status::Code::kInvalidArgument);
  CHECK(ParseExtensionList(" , ", &exts).code() == Status::Code::kInvalidArgument);
  CHECK(exts == std::vector<std::string>{".cgi", ".sh"});  // unchanged on error
  CHECK(HasAllowedExtension("/a/b/app.cgi", {".cgi"}));
  CHECK_FALSE(HasAllowedExtension("/a/b/app.cgi.txt", {".cgi"}));
  CHECK_FALSE(HasAllowedExtension("/a/b/.cgi", {".cgi"}));
  CHECK_FALSE(HasAllowedExtension("/a/x.cgi/app", {".cgi"}));
  CHECK_FALSE(HasAllowedExtension("/a/app.CGI", {".cgi"}));
}

TEST_CASE("SCRIPT_FILENAME names the program", "[script_path]") {
  Fixture f;
  REQUIRE(f.Run({{"SCRIPT_FILENAME", "/srv/www/cgi-bin/app.cgi"}}).ok());
  CHECK(f.result.program == "/srv/www/cgi-bin/app.cgi");
  CHECK(f.result.path_info.empty());
  CHECK(Override(f.result, "SCRIPT_FILENAME") == "/srv/www/cgi-bin/app.cgi");
  CHECK(Override(f.result, "PATH_INFO") == "<unset>");
}

TEST_CASE("SCRIPT_FILENAME wins over DOCUMENT_ROOT + SCRIPT_NAME; empty falls back", "[script_path]") {
  Fixture f;
  REQUIRE(f.Run({{"DOCUMENT_ROOT", "/srv/www"},
                 {"SCRIPT_NAME", "/index.cgi"},
                 {"SCRIPT_FILENAME", "/srv/www/cgi-bin/app.cgi"}})
              .ok());
  CHECK(f.result.program == "/srv/www/cgi-bin/app.cgi");
  REQUIRE(
      f.Run({{"DOCUMENT_ROOT", "/srv/www"}, {"SCRIPT_NAME", "/index.cgi"}, {"SCRIPT_FILENAME", ""}}).ok());
  CHECK(f.result.program == "/srv/www/index.cgi");
  CHECK(Override(f.result, "SCRIPT_FILENAME") == "/srv/www/index.cgi");
}

TEST_CASE("Nothing naming a program is 404", "[script_path]") {
  Fixture f;
  CHECK(f.Run({}).code() == Status::Code::kNotFound);
  CHECK(f.Run({{"SCRIPT_FILENAME", ""}}).code() == Status::Code::kNotFound);
  CHECK(f.Run({{"DOCUMENT_ROOT", "/srv/www"}}).code() == Status::Code::kNotFound);
}

TEST_CASE("Walk back splits PATH_INFO, PATH_TRANSLATED and SCRIPT_NAME", "[script_path]") {
  Fixture f;
  SECTION("from DOCUMENT_ROOT + SCRIPT_NAME") {
    REQUIRE(f.Run({{"DOCUMENT_ROOT", "/srv/www"}, {"SCRIPT_NAME", "/cgi-bin/app.cgi/extra/path"}}).ok());
  }
  SECTION("from SCRIPT_FILENAME with the path info in it (nginx $document_root$fastcgi_script_name)") {
    REQUIRE(f.Run({{"DOCUMENT_ROOT", "/srv/www"},
                   {"SCRIPT_NAME", "/cgi-bin/app.cgi/extra/path"},
                   {"SCRIPT_FILENAME", "/srv/www/cgi-bin/app.cgi/extra/path"}})
                .ok());
  }
  CHECK(f.result.program == "/srv/www/cgi-bin/app.cgi");
  CHECK(f.result.path_info == "/extra/path");
  CHECK(Override(f.result, "PATH_INFO") == "/extra/path");
  CHECK(Override(f.result, "PATH_TRANSLATED") == "/srv/www/extra/path");
  CHECK(Override(f.result, "SCRIPT_NAME") == "/cgi-bin/app.cgi");
  CHECK(Override(f.result, "SCRIPT_FILENAME") == "/srv/www/cgi-bin/app.cgi");
}

TEST_CASE("Walk back keeps a trailing slash of the path info and stops at directories", "[script_path]") {
  Fixture f;
  REQUIRE(f.Run({{"SCRIPT_FILENAME", "/srv/www/cgi-bin/app.cgi/x/"}}).ok());
  CHECK(f.result.path_info == "/x");                          // normalised: no trailing slash
  CHECK(Override(f.result, "PATH_TRANSLATED") == "<unset>");  // no DOCUMENT_ROOT
  CHECK(f.Run({{"SCRIPT_FILENAME", "/srv/www/cgi-bin/missing.cgi/x"}}).code() == Status::Code::kNotFound);
  CHECK(f.Run({{"SCRIPT_FILENAME", "/srv/www/cgi-bin/sub/missing"}}).code() == Status::Code::kNotFound);
  CHECK(f.Run({{"SCRIPT_FILENAME", "/srv/www/nothing/here"}}).code() == Status::Code::kNotFound);
}

TEST_CASE("Dot-dot segments cannot leave the root", "[script_path]") {
  Fixture f;
  Status s = f.Run({{"SCRIPT_FILENAME", "/srv/www/cgi-bin/../../../usr/bin/id"}});
  CHECK(s.code() == Status::Code::kPermissionDenied);
  CHECK(s.message().find("outside --root") != std::string::npos);
  CHECK(f.fs.stats_.empty());  // refused before the file system was asked
  CHECK(f.Run({{"DOCUMENT_ROOT", "/srv/www"}, {"SCRIPT_NAME", "/../../usr/bin/id"}}).code() ==
        Status::Code::kPermissionDenied);
  // Dot-dot that stays inside is fine.
  REQUIRE(f.Run({{"SCRIPT_FILENAME", "/srv/www/cgi-bin/sub/../app.cgi"}}).ok());
  CHECK(f.result.program == "/srv/www/cgi-bin/app.cgi");
  // Duplicate slashes.
  REQUIRE(f.Run({{"SCRIPT_FILENAME", "//srv//www///cgi-bin//app.cgi"}}).ok());
  CHECK(f.result.program == "/srv/www/cgi-bin/app.cgi");
}

TEST_CASE("A file outside the root is 403 whether or not it exists", "[script_path]") {
  Fixture f;
  CHECK(f.Run({{"SCRIPT_FILENAME", "/usr/bin/id"}}).code() == Status::Code::kPermissionDenied);
  CHECK(f.Run({{"SCRIPT_FILENAME", "/usr/bin/nonexistent"}}).code() == Status::Code::kPermissionDenied);
  CHECK(f.Run({{"SCRIPT_FILENAME", "/srv/www2/app.cgi"}}).code() == Status::Code::kPermissionDenied);
}

TEST_CASE("Symlinks: pointing outside is 403, pointing inside is allowed", "[script_path]") {
  Fixture f;
  Status s = f.Run({{"SCRIPT_FILENAME", "/srv/www/cgi-bin/escape.cgi"}});
  CHECK(s.code() == Status::Code::kPermissionDenied);
  CHECK(s.message().find("resolves to \"/usr/bin/id\"") != std::string::npos);
  CHECK(f.Run({{"SCRIPT_FILENAME", "/srv/www/cgi-bin/up.cgi"}}).code() == Status::Code::kPermissionDenied);
  CHECK(f.Run({{"SCRIPT_FILENAME", "/srv/www/linkdir/id"}}).code() == Status::Code::kPermissionDenied);
  REQUIRE(f.Run({{"SCRIPT_FILENAME", "/srv/www/cgi-bin/alias.cgi"}}).ok());
  CHECK(f.result.program == "/srv/www/cgi-bin/app.cgi");
  CHECK(f.result.script_filename == "/srv/www/cgi-bin/alias.cgi");
}

TEST_CASE("The root itself may be reached through a symlink", "[script_path]") {
  Fixture f;
  f.fs.Link("/var/www", "/srv/www");
  ScriptPolicy p;
  p.roots = {{.path = "/var/www", .real = "/srv/www"}};
  REQUIRE(f.Run({{"SCRIPT_FILENAME", "/var/www/cgi-bin/app.cgi"}}, p).ok());
  CHECK(f.result.program == "/srv/www/cgi-bin/app.cgi");
  REQUIRE(f.Run({{"SCRIPT_FILENAME", "/srv/www/cgi-bin/app.cgi"}}, p).ok());
  CHECK(f.Run({{"SCRIPT_FILENAME", "/var/www/cgi-bin/escape.cgi"}}, p).code() ==
        Status::Code::kPermissionDenied);
}

TEST_CASE("Directories, special files and non-executables are 403", "[script_path]") {
  Fixture f;
  CHECK(f.Run({{"SCRIPT_FILENAME", "/srv/www/cgi-bin"}}).code() == Status::Code::kPermissionDenied);
  CHECK(f.Run({{"SCRIPT_FILENAME", "/srv/www/cgi-bin/sub/"}}).code() == Status::Code::kPermissionDenied);
  CHECK(f.Run({{"SCRIPT_FILENAME", "/srv/www/cgi-bin/fifo.cgi"}}).code() == Status::Code::kPermissionDenied);
  Status s = f.Run({{"SCRIPT_FILENAME", "/srv/www/cgi-bin/data.txt"}});
  CHECK(s.code() == Status::Code::kPermissionDenied);
  CHECK(s.message().find("not executable") != std::string::npos);
}

TEST_CASE("Missing files are 404; search permission errors pass through", "[script_path]") {
  Fixture f;
  CHECK(f.Run({{"SCRIPT_FILENAME", "/srv/www/cgi-bin/missing.cgi"}}).code() == Status::Code::kNotFound);
  f.fs.DenySearch("/srv/www/cgi-bin");
  CHECK(f.Run({{"SCRIPT_FILENAME", "/srv/www/cgi-bin/app.cgi"}}).code() == Status::Code::kPermissionDenied);
}

TEST_CASE("Malformed paths: NUL, relative, too long", "[script_path]") {
  Fixture f;
  Status s = f.Run({{"SCRIPT_FILENAME", std::string("/srv/www/cgi-bin/app.cgi\0/../../../etc/passwd", 46)}});
  CHECK(s.code() == Status::Code::kPermissionDenied);
  CHECK(s.message().find("NUL") != std::string::npos);
  CHECK(s.message().find('\0') == std::string::npos);  // escaped in the log line
  CHECK(f.Run({{"SCRIPT_FILENAME", "cgi-bin/app.cgi"}}).code() == Status::Code::kPermissionDenied);
  std::string long_path = "/srv/www/" + std::string(5000, 'a');
  s = f.Run({{"SCRIPT_FILENAME", long_path}});
  CHECK(s.code() == Status::Code::kNotFound);
  CHECK(s.message().size() < 200);
  CHECK(f.Run({{"SCRIPT_FILENAME", "proxy:fcgi://h:1/srv/www/a%00b"}}).code() ==
        Status::Code::kPermissionDenied);
}

TEST_CASE("mod_proxy_fcgi's proxy:fcgi:// prefix, with path info and query", "[script_path]") {
  Fixture f;
  REQUIRE(f.Run({{"SCRIPT_FILENAME", "proxy:fcgi://127.0.0.1:9000/srv/www/cgi-bin/app.cgi/p%20q?x=1"},
                 {"SCRIPT_NAME", "/cgi-bin/app.cgi/p q"}})
              .ok());
  CHECK(f.result.program == "/srv/www/cgi-bin/app.cgi");
  CHECK(Override(f.result, "SCRIPT_FILENAME") == "/srv/www/cgi-bin/app.cgi");
  CHECK(Override(f.result, "PATH_INFO") == "/p q");
  CHECK(Override(f.result, "SCRIPT_NAME") == "/cgi-bin/app.cgi");
  CHECK(f.Run({{"SCRIPT_FILENAME", "proxy:fcgi://127.0.0.1:9000/srv/www/%2e%2e/%2e%2e/usr/bin/id"}}).code() ==
        Status::Code::kPermissionDenied);
  CHECK(f.Run({{"SCRIPT_FILENAME", "proxy:fcgi://127.0.0.1:9000"}}).code() == Status::Code::kNotFound);
}

TEST_CASE("script path: --allow-ext checks the requested and the real name", "[script_path]") {
  Fixture f;
  ScriptPolicy p = RootPolicy();
  p.extensions = {".cgi"};
  REQUIRE(f.Run({{"SCRIPT_FILENAME", "/srv/www/cgi-bin/app.cgi"}}, p).ok());
  CHECK(f.Run({{"SCRIPT_FILENAME", "/srv/www/cgi-bin/tool.pl"}}, p).code() ==
        Status::Code::kPermissionDenied);
  f.fs.File("/srv/www/cgi-bin/plain");
  f.fs.Link("/srv/www/cgi-bin/plain.cgi", "plain");
  CHECK(f.Run({{"SCRIPT_FILENAME", "/srv/www/cgi-bin/plain.cgi"}}, p).code() ==
        Status::Code::kPermissionDenied);
  p.extensions = {".cgi", ".pl"};
  CHECK(f.Run({{"SCRIPT_FILENAME", "/srv/www/cgi-bin/tool.pl"}}, p).ok());
}

TEST_CASE("script path: --program allow-lists exact real paths", "[script_path]") {
  Fixture f;
  ScriptPolicy p = RootPolicy();
  p.programs = {"/srv/www/cgi-bin/app.cgi"};
  REQUIRE(f.Run({{"SCRIPT_FILENAME", "/srv/www/cgi-bin/app.cgi"}}, p).ok());
  REQUIRE(f.Run({{"SCRIPT_FILENAME", "/srv/www/cgi-bin/alias.cgi"}}, p).ok());  // same file
  CHECK(f.Run({{"SCRIPT_FILENAME", "/srv/www/index.cgi"}}, p).code() == Status::Code::kPermissionDenied);
  // Without a root, the list alone confines.
  ScriptPolicy q;
  q.programs = {"/usr/bin/id"};
  REQUIRE(f.Run({{"SCRIPT_FILENAME", "/usr/bin/id"}}, q).ok());
  CHECK(f.Run({{"SCRIPT_FILENAME", "/srv/www/index.cgi"}}, q).code() == Status::Code::kPermissionDenied);
}

// fcgiwrap's setup: a cgi-bin tree plus cgit and git-http-backend where Debian
// installs them, from one dispatcher.
TEST_CASE("script path: several roots, a directory and program files", "[script_path]") {
  Fixture f;
  f.fs.Dir("/usr/lib/cgit");
  f.fs.File("/usr/lib/cgit/cgit.cgi");
  f.fs.File("/usr/lib/cgit/filters/about-formatting.sh");
  f.fs.File("/usr/lib/git-core/git-http-backend");
  f.fs.File("/usr/lib/git-core/git-upload-pack");
  f.fs.Link("/srv/www/cgi-bin/git.cgi", "/usr/lib/git-core/git-http-backend");
  ScriptPolicy p = RootPolicy();
  p.roots.push_back({.path = "/usr/lib/cgit/cgit.cgi", .real = "/usr/lib/cgit/cgit.cgi", .file = true});
  p.roots.push_back({.path = "/usr/lib/git-core/git-http-backend",
                     .real = "/usr/lib/git-core/git-http-backend",
                     .file = true});
  REQUIRE(f.Run({{"SCRIPT_FILENAME", "/srv/www/cgi-bin/app.cgi"}}, p).ok());
  CHECK(f.result.root == &p.roots[0]);
  // A file root: that program, with what follows its name as PATH_INFO.
  REQUIRE(f.Run({{"SCRIPT_FILENAME", "/usr/lib/cgit/cgit.cgi/repo.git/log"},
                 {"SCRIPT_NAME", "/cgit/repo.git/log"}},
                p)
              .ok());
  CHECK(f.result.program == "/usr/lib/cgit/cgit.cgi");
  CHECK(f.result.root == &p.roots[1]);
  CHECK(Override(f.result, "PATH_INFO") == "/repo.git/log");
  REQUIRE(f.Run({{"SCRIPT_FILENAME", "/usr/lib/git-core/git-http-backend"}}, p).ok());
  CHECK(f.result.program == "/usr/lib/git-core/git-http-backend");
  // Nothing else beside a file root, nor above it.
  Status s = f.Run({{"SCRIPT_FILENAME", "/usr/lib/cgit/filters/about-formatting.sh"}}, p);
  CHECK(s.code() == Status::Code::kPermissionDenied);
  CHECK(s.message().find(
            "outside --root /srv/www, /usr/lib/cgit/cgit.cgi, /usr/lib/git-core/git-http-backend") !=
        std::string::npos);
  CHECK(f.Run({{"SCRIPT_FILENAME", "/usr/lib/git-core/git-upload-pack"}}, p).code() ==
        Status::Code::kPermissionDenied);
  CHECK(f.Run({{"SCRIPT_FILENAME", "/usr/lib/cgit"}}, p).code() == Status::Code::kPermissionDenied);
  // A symlink from the tree to a file root's program: that program is allowed.
  REQUIRE(f.Run({{"SCRIPT_FILENAME", "/srv/www/cgi-bin/git.cgi"}}, p).ok());
  CHECK(f.result.program == "/usr/lib/git-core/git-http-backend");
  // --allow-ext narrows the directory roots; a file root names its program exactly.
  p.extensions = {".cgi"};
  CHECK(f.Run({{"SCRIPT_FILENAME", "/srv/www/cgi-bin/tool.pl"}}, p).code() ==
        Status::Code::kPermissionDenied);
  CHECK(f.Run({{"SCRIPT_FILENAME", "/usr/lib/git-core/git-http-backend/info/refs"}}, p).ok());
  // --program still narrows everything.
  p.programs = {"/usr/lib/cgit/cgit.cgi"};
  CHECK(f.Run({{"SCRIPT_FILENAME", "/usr/lib/cgit/cgit.cgi"}}, p).ok());
  CHECK(f.Run({{"SCRIPT_FILENAME", "/srv/www/cgi-bin/app.cgi"}}, p).code() ==
        Status::Code::kPermissionDenied);
}

TEST_CASE("Without a root (--allow-any-path) any executable file runs", "[script_path]") {
  Fixture f;
  ScriptPolicy p;
  REQUIRE(f.Run({{"SCRIPT_FILENAME", "/usr/bin/id"}}, p).ok());
  CHECK(f.result.program == "/usr/bin/id");
  REQUIRE(f.Run({{"SCRIPT_FILENAME", "/srv/www/cgi-bin/escape.cgi"}}, p).ok());
  CHECK(f.Run({{"SCRIPT_FILENAME", "/etc/passwd"}}, p).code() == Status::Code::kPermissionDenied);
  CHECK(f.Run({{"SCRIPT_FILENAME", "/nope/x"}}, p).code() == Status::Code::kNotFound);
}

}  // namespace
}  // namespace fcgi
