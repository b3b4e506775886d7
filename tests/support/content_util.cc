#include "tests/support/content_util.h"

#include <algorithm>

#include "examples/large_pattern.h"
#include "tests/support/process.h"

namespace fcgi::test {

std::string RandomBytes(size_t size, uint32_t seed) {
  std::string out(size, '\0');
  uint64_t state = 0x9e3779b97f4a7c15ULL ^ seed;
  for (size_t i = 0; i < size; ++i) {
    state ^= state << 13;  // xorshift64
    state ^= state >> 7;
    state ^= state << 17;
    out[i] = static_cast<char>(state >> 24);
  }
  return out;
}

std::string LargePattern(size_t size) {
  std::string out(size, '\0');
  LargePatternFill(out.data(), size, 0);
  return out;
}

std::string Sha256Hex(std::string_view data) {
  CommandResult r = RunCommand({"sha256sum"}, std::string(data), Seconds(60));
  return r.out.size() >= 64 ? r.out.substr(0, 64) : "sha256sum failed: " + r.err;
}

std::map<std::string, std::string> ParseEnvDump(std::string_view text) {
  std::map<std::string, std::string> vars;
  while (!text.empty()) {
    size_t end = text.find('\n');
    std::string_view line = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    size_t eq = line.find('=');
    if (eq == std::string_view::npos || eq == 0) continue;
    vars.emplace(std::string(line.substr(0, eq)), std::string(line.substr(eq + 1)));
  }
  return vars;
}

size_t FirstDifference(std::string_view a, std::string_view b) {
  size_t n = std::min(a.size(), b.size());
  for (size_t i = 0; i < n; ++i) {
    if (a[i] != b[i]) return i;
  }
  return n;
}

}  // namespace fcgi::test
