#include "tests/support/temp_dir.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <system_error>
#include <vector>

namespace fcgi::test {

TempDir::TempDir(const std::string& prefix) {
  const char* tmp = std::getenv("TMPDIR");
  std::string base = (tmp != nullptr && *tmp != '\0') ? tmp : "/tmp";
  std::string pattern = base + "/" + prefix + "-XXXXXX";
  std::vector<char> buffer(pattern.begin(), pattern.end());
  buffer.push_back('\0');
  if (mkdtemp(buffer.data()) == nullptr) {
    throw std::runtime_error("mkdtemp(3) " + pattern + ": " + std::strerror(errno));
  }
  path_ = buffer.data();
  chmod(path_.c_str(), 0755);
}

TempDir::~TempDir() {
  if (KeepRequested()) return;
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

bool TempDir::KeepRequested() {
  const char* keep = std::getenv("FCGI_RUN_KEEP_TEMP");
  return keep != nullptr && *keep != '\0' && std::strcmp(keep, "0") != 0;
}

std::string TempDir::File(std::string_view name) const { return path_ + "/" + std::string(name); }

std::string TempDir::WriteFile(std::string_view name, std::string_view content) const {
  std::string file = File(name);
  std::ofstream out(file, std::ios::binary | std::ios::trunc);
  out.write(content.data(), static_cast<std::streamsize>(content.size()));
  out.close();
  if (!out) throw std::runtime_error("cannot write " + file);
  chmod(file.c_str(), 0644);
  return file;
}

std::string TempDir::MakeDir(std::string_view name) const {
  std::string dir = File(name);
  if (mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) {
    throw std::runtime_error("mkdir(2) " + dir + ": " + std::strerror(errno));
  }
  chmod(dir.c_str(), 0755);
  return dir;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream content;
  content << in.rdbuf();
  return content.str();
}

}  // namespace fcgi::test
