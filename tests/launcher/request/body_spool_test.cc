#include "launcher/request/body_spool.h"

#include <catch2/catch.hpp>
#include <string>

namespace fcgi {
namespace {

std::string Pattern(size_t n, size_t seed) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>('a' + (i * 7 + seed) % 26);
  return s;
}

TEST_CASE("small bodies stay in memory", "[body_spool]") {
  BodySpool spool(1024, "/tmp");
  REQUIRE(spool.Append("hello ").ok());
  REQUIRE(spool.Append("world").ok());
  CHECK(spool.size() == 11);
  CHECK(spool.file_bytes() == 0);
  std::string out;
  REQUIRE(spool.Take(3, &out).ok());
  REQUIRE(spool.Take(100, &out).ok());
  CHECK(out == "hello world");
  CHECK(spool.empty());
}

TEST_CASE("bytes past the memory limit go to a file and come back in order", "[body_spool]") {
  BodySpool spool(1000, "/tmp");
  std::string expected, got;
  // Interleave appends and takes so that memory, file, and the switch back to
  // memory after the file drains are all exercised.
  for (size_t round = 0; round < 50; ++round) {
    std::string piece = Pattern(100 + round * 37, round);
    expected += piece;
    REQUIRE(spool.Append(piece).ok());
    if (round % 3 == 0) REQUIRE(spool.Take(700, &got).ok());
  }
  CHECK(spool.file_high_water() > 0);
  while (!spool.empty()) REQUIRE(spool.Take(333, &got).ok());
  CHECK(got == expected);
  // After draining, small appends use memory again.
  REQUIRE(spool.Append("tail").ok());
  CHECK(spool.file_bytes() == 0);
}

TEST_CASE("a spool directory that does not exist is a clear error", "[body_spool]") {
  BodySpool spool(4, "/nonexistent-fcgi-run-dir");
  REQUIRE(spool.Append("1234").ok());
  Status s = spool.Append("5");
  REQUIRE_FALSE(s.ok());
  CHECK(s.message().find("/nonexistent-fcgi-run-dir") != std::string::npos);
  CHECK(spool.size() == 4);
}

}  // namespace
}  // namespace fcgi
