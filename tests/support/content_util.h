// Test data helpers: request bodies, the examples' output pattern, SHA-256.
#ifndef FCGI_RUN_TESTS_SUPPORT_CONTENT_UTIL_H_
#define FCGI_RUN_TESTS_SUPPORT_CONTENT_UTIL_H_

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

namespace fcgi::test {

// `size` pseudo-random bytes (all 256 values), the same for the same seed.
std::string RandomBytes(size_t size, uint32_t seed = 1);
// The first `size` bytes of examples/large_pattern.h's pattern.
std::string LargePattern(size_t size);
// Lowercase hex SHA-256 computed by the system's `sha256sum`: independent of
// the examples' own SHA-256, so a bug there cannot hide.
std::string Sha256Hex(std::string_view data);
// "NAME=VALUE" lines (env.cgi's output) as a map; lines without '=' are skipped.
std::map<std::string, std::string> ParseEnvDump(std::string_view text);
// Index of the first differing byte of a and b (or the shorter size), for messages.
size_t FirstDifference(std::string_view a, std::string_view b);

}  // namespace fcgi::test

#endif  // FCGI_RUN_TESTS_SUPPORT_CONTENT_UTIL_H_
