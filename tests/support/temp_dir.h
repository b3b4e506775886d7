// TempDir: a fresh directory under $TMPDIR (or /tmp), removed recursively when
// the object is destroyed. Mode 0755 so that servers running as www-data
// (Apache children) can reach sockets and files in it.
//
// Ownership: the TempDir owns the directory and everything in it. Not copyable.
#ifndef FCGI_RUN_TESTS_SUPPORT_TEMP_DIR_H_
#define FCGI_RUN_TESTS_SUPPORT_TEMP_DIR_H_

#include <string>
#include <string_view>

namespace fcgi::test {

class TempDir {
 public:
  // Creates <tmp>/<prefix>-XXXXXX. Aborts the test (throws) on failure.
  explicit TempDir(const std::string& prefix = "fcgi-run-test");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  // path() + "/" + name (no file is created).
  std::string File(std::string_view name) const;
  // Writes `content` to File(name) (mode 0644) and returns that path.
  std::string WriteFile(std::string_view name, std::string_view content) const;
  // Creates the subdirectory File(name) (mode 0755) and returns its path.
  std::string MakeDir(std::string_view name) const;

  // Set FCGI_RUN_KEEP_TEMP=1 to keep the directories for a post-mortem.
  static bool KeepRequested();

 private:
  std::string path_;
};

// Whole content of a file ("" if it cannot be read).
std::string ReadFile(const std::string& path);

}  // namespace fcgi::test

#endif  // FCGI_RUN_TESTS_SUPPORT_TEMP_DIR_H_
