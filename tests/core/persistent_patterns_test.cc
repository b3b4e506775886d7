#include "core/persistent_patterns.h"

#include <catch2/catch.hpp>

#include <map>
#include <string>
#include <vector>

namespace fcgi {
namespace {

// RealPath answers from a table (symlink -> target); Stat is not used.
class TableFileSystem : public FileSystem {
 public:
  std::map<std::string, std::string> real;
  Status RealPath(const std::string& path, std::string* out) const override {
    auto it = real.find(path);
    if (it == real.end()) return Status::NotFound(path + ": no such file");
    *out = it->second;
    return Status::Ok();
  }
  Status Stat(const std::string&, FileInfo*) const override { return Status::Invalid("not used"); }
};

PersistentPatterns Parsed(std::vector<std::string> patterns, bool have_root = true) {
  PersistentPatterns p;
  Status s = PersistentPatterns::Parse(patterns, have_root, &p);
  INFO(s.message());
  REQUIRE(s.ok());
  return p;
}

// Matches under --root /srv/www (real path the same).
std::string M(const PersistentPatterns& p, const std::string& path) {
  return p.Match(path, "/srv/www", "/srv/www");
}

TEST_CASE("persistent patterns: the kind follows the slashes", "[persistent_patterns]") {
  PersistentPatterns p = Parsed({"/srv/www/a.cgi", "legacy/*", "*.fast.cgi"});
  REQUIRE(p.size() == 3);
  CHECK(p.kind(0) == PersistentPatterns::Kind::kAbsolute);
  CHECK(p.kind(1) == PersistentPatterns::Kind::kUnderRoot);
  CHECK(p.kind(2) == PersistentPatterns::Kind::kFileName);
  CHECK_FALSE(p.empty());
  CHECK(Parsed({}).empty());
}

TEST_CASE("persistent patterns: absolute paths and globs", "[persistent_patterns]") {
  PersistentPatterns p = Parsed({"/srv/www/cgi-bin/report.cgi", "/srv/www/fast/*.cgi"});
  CHECK(M(p, "/srv/www/cgi-bin/report.cgi") == "/srv/www/cgi-bin/report.cgi");
  CHECK(M(p, "/srv/www/cgi-bin/report.cgi.bak") == "");
  CHECK(M(p, "/srv/www/cgi-bin/other.cgi") == "");
  CHECK(M(p, "/srv/www/fast/x.cgi") == "/srv/www/fast/*.cgi");
  CHECK(M(p, "/srv/www/fast/sub/x.cgi") == "");  // '*' does not cross '/'
  CHECK(M(p, "/srv/www/fast/x.pl") == "");
}

TEST_CASE("persistent patterns: relative patterns are matched under the root", "[persistent_patterns]") {
  PersistentPatterns p = Parsed({"legacy/*", "./cgi-bin/report.cgi"});
  CHECK(M(p, "/srv/www/legacy/a.cgi") == "legacy/*");
  CHECK(M(p, "/srv/www/legacy/sub/a.cgi") == "");
  CHECK(M(p, "/srv/www/cgi-bin/report.cgi") == "./cgi-bin/report.cgi");
  CHECK(M(p, "/srv/www/cgi-bin/legacy/a.cgi") == "");  // anchored at the root
  CHECK(M(p, "/elsewhere/legacy/a.cgi") == "");        // not under the root
  // The real root is what programs are compared with.
  CHECK(p.Match("/data/www/legacy/a.cgi", "/srv/www", "/data/www") == "legacy/*");
  // Root "/" itself.
  CHECK(p.Match("/legacy/a.cgi", "/", "/") == "legacy/*");
}

TEST_CASE("persistent patterns: a pattern without '/' matches the file name anywhere",
          "[persistent_patterns]") {
  PersistentPatterns p = Parsed({"*.fast.cgi", "report.cgi"});
  CHECK(M(p, "/srv/www/a.fast.cgi") == "*.fast.cgi");
  CHECK(M(p, "/srv/www/deep/er/b.fast.cgi") == "*.fast.cgi");
  CHECK(M(p, "/srv/www/a.fast.cgi.old") == "");
  CHECK(M(p, "/srv/www/x/report.cgi") == "report.cgi");
  CHECK(M(p, "/srv/www/x/myreport.cgi") == "");
  // No root needed: file-name patterns work with --program / --allow-any-path.
  CHECK(p.Match("/opt/a.fast.cgi", "", "") == "*.fast.cgi");
}

TEST_CASE("persistent patterns: a trailing slash selects everything below a directory",
          "[persistent_patterns]") {
  PersistentPatterns p = Parsed({"legacy/", "/opt/app*/"});
  CHECK(M(p, "/srv/www/legacy/a.cgi") == "legacy/");
  CHECK(M(p, "/srv/www/legacy/deep/er/a.cgi") == "legacy/");
  CHECK(M(p, "/srv/www/legacy.cgi") == "");
  CHECK(M(p, "/srv/www/notlegacy/a.cgi") == "");
  CHECK(M(p, "/opt/app2/bin/x") == "/opt/app*/");
  CHECK(M(p, "/opt/app2") == "");  // the directory itself is not below itself
  CHECK(M(p, "/opt/other/x") == "");
  PersistentPatterns all = Parsed({"./"});
  CHECK(M(all, "/srv/www/any/thing.cgi") == "./");
  CHECK(M(all, "/tmp/x.cgi") == "");
}

TEST_CASE("persistent patterns: the first matching pattern is reported", "[persistent_patterns]") {
  PersistentPatterns p = Parsed({"*.cgi", "/srv/www/a.cgi"});
  CHECK(M(p, "/srv/www/a.cgi") == "*.cgi");
}

TEST_CASE("persistent patterns: --root given through a symlink", "[persistent_patterns]") {
  // --root /srv/www where /srv/www -> /data/www: programs arrive as real paths.
  PersistentPatterns p = Parsed({"/srv/www/cgi-bin/*.cgi"});
  CHECK(p.Match("/data/www/cgi-bin/a.cgi", "/srv/www", "/data/www") == "/srv/www/cgi-bin/*.cgi");
  CHECK(p.Match("/data/www/cgi-bin/a.cgi", "/data/www", "/data/www") == "");
}

TEST_CASE("persistent patterns: a literal absolute pattern naming a symlink selects its target",
          "[persistent_patterns]") {
  TableFileSystem fs;
  fs.real["/srv/www/fast.cgi"] = "/srv/bin/fast-1.2.cgi";
  fs.real["/srv/www/tools"] = "/opt/tools";
  fs.real["/srv/www/same.cgi"] = "/srv/www/same.cgi";
  PersistentPatterns p =
      Parsed({"/srv/www/fast.cgi", "/srv/www/tools/", "/srv/www/*.glob", "/srv/www/gone.cgi"});
  CHECK(M(p, "/srv/bin/fast-1.2.cgi") == "");  // before resolution
  p.ResolveLiterals(fs);
  CHECK(M(p, "/srv/bin/fast-1.2.cgi") == "/srv/www/fast.cgi");
  CHECK(M(p, "/opt/tools/x/y.cgi") == "/srv/www/tools/");
  CHECK(M(p, "/opt/toolsx/y.cgi") == "");
  CHECK(M(p, "/srv/www/gone.cgi") == "/srv/www/gone.cgi");  // missing file: kept as written
  CHECK(M(p, "/srv/bin/other.cgi") == "");
}

TEST_CASE("persistent patterns: wildcards, classes and escapes are fnmatch's", "[persistent_patterns]") {
  PersistentPatterns p = Parsed({"report-?.cgi", "[ab]*.cgi", "odd\\*.cgi"});
  CHECK(M(p, "/srv/www/report-1.cgi") == "report-?.cgi");
  CHECK(M(p, "/srv/www/report-12.cgi") == "");
  CHECK(M(p, "/srv/www/beta.cgi") == "[ab]*.cgi");
  CHECK(M(p, "/srv/www/gamma.cgi") == "");
  CHECK(M(p, "/srv/www/odd*.cgi") == "odd\\*.cgi");
  CHECK(M(p, "/srv/www/oddly.cgi") == "");
}

TEST_CASE("persistent patterns: errors name the pattern", "[persistent_patterns]") {
  PersistentPatterns p;
  Status s = PersistentPatterns::Parse({""}, true, &p);
  CHECK(s.code() == Status::Code::kInvalidArgument);
  CHECK(s.message().find("empty pattern") != std::string::npos);
  s = PersistentPatterns::Parse({"legacy/*"}, false, &p);
  CHECK(s.code() == Status::Code::kInvalidArgument);
  CHECK(s.message().find("'legacy/*'") != std::string::npos);
  CHECK(s.message().find("--root") != std::string::npos);
  CHECK(PersistentPatterns::Parse({"*.cgi", "/abs/x.cgi"}, false, &p).ok());  // fine without a root
  for (const char* bad : {"../x.cgi", "/srv/../x.cgi", "a/./b.cgi", "/srv/www/.."}) {
    INFO(bad);
    s = PersistentPatterns::Parse({bad}, true, &p);
    CHECK(s.code() == Status::Code::kInvalidArgument);
    CHECK(s.message().find("'.' and '..'") != std::string::npos);
  }
  s = PersistentPatterns::Parse({std::string("a\0b", 3)}, true, &p);
  CHECK(s.code() == Status::Code::kInvalidArgument);
  // A failed parse leaves *out as it was.
  REQUIRE(PersistentPatterns::Parse({"*.cgi"}, true, &p).ok());
  CHECK_FALSE(PersistentPatterns::Parse({"*.cgi", ""}, true, &p).ok());
  CHECK(p.size() == 1);
}

TEST_CASE("persistent patterns: duplicate slashes do not matter", "[persistent_patterns]") {
  PersistentPatterns p = Parsed({"legacy//*", "//srv//www/x.cgi"});
  CHECK(M(p, "/srv/www/legacy/a.cgi") == "legacy//*");
  CHECK(M(p, "/srv/www/x.cgi") == "//srv//www/x.cgi");
}

}  // namespace
}  // namespace fcgi
