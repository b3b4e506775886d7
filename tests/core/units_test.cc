#include "core/units.h"

#include <catch2/catch.hpp>

#include <string>

namespace fcgi {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

std::string DurationError(const char* text) {
  Duration d{};
  Status s = ParseDuration(text, &d);
  return s.ok() ? "" : s.message();
}

TEST_CASE("durations: plain seconds and units", "[units]") {
  struct Case {
    const char* text;
    Duration want;
  };
  const Case cases[] = {
      {"30", seconds(30)},   {"0.5", milliseconds(500)},   {"0", Duration(0)},   {"500ms", milliseconds(500)},
      {"30s", seconds(30)},  {"1.5s", milliseconds(1500)}, {"2m", seconds(120)}, {"2min", seconds(120)},
      {"1h", seconds(3600)}, {".25", milliseconds(250)},
  };
  for (const Case& c : cases) {
    Duration d{};
    Status s = ParseDuration(c.text, &d);
    INFO(c.text << " -> " << s.message());
    REQUIRE(s.ok());
    CHECK(d == c.want);
  }
}

TEST_CASE("durations: errors say what is expected", "[units]") {
  CHECK(DurationError("30x").find("'30x': unknown unit 'x': expected ms, s, m or h") == 0);
  CHECK(DurationError("abc").find(
            "'abc': expected seconds (e.g. 30 or 0.5) or a number with a unit: 500ms") == 0);
  CHECK(DurationError("").find("expected seconds") != std::string::npos);
  CHECK(DurationError("-1") == "'-1': must not be negative");
  CHECK(DurationError("30 s").find("unknown unit ' s'") != std::string::npos);
  CHECK(DurationError("1.2.3").find("unknown unit") != std::string::npos);
  CHECK(DurationError("2000000000").find("too long") != std::string::npos);
  CHECK(DurationError("1e3").find("unknown unit 'e3'") != std::string::npos);
}

TEST_CASE("durations: read back in messages", "[units]") {
  CHECK(FormatDuration(seconds(30)) == "30s");
  CHECK(FormatDuration(milliseconds(500)) == "500ms");
  CHECK(FormatDuration(milliseconds(1500)) == "1.5s");
  CHECK(FormatDuration(Duration(0)) == "0s");
  CHECK(ToSeconds(milliseconds(250)) == 0.25);
}

TEST_CASE("sizes: bytes and binary units", "[units]") {
  struct Case {
    const char* text;
    uint64_t want;
  };
  const Case cases[] = {{"65536", 65536}, {"64K", 65536},   {"64k", 65536},     {"64KiB", 65536},
                        {"8M", 8u << 20}, {"1G", 1u << 30}, {"1gib", 1u << 30}, {"1T", 1ull << 40},
                        {"100B", 100},    {"0", 0}};
  for (const Case& c : cases) {
    uint64_t v = 7;
    Status s = ParseSize(c.text, UINT64_MAX, &v);
    INFO(c.text << " -> " << s.message());
    REQUIRE(s.ok());
    CHECK(v == c.want);
  }
  uint64_t v = 7;
  CHECK(ParseSize("64X", UINT64_MAX, &v).message().find("unknown unit 'X': expected K, M, G or T") !=
        std::string::npos);
  CHECK(ParseSize("1.5M", UINT64_MAX, &v).message().find("unknown unit '.5M'") != std::string::npos);
  CHECK(ParseSize("-1", UINT64_MAX, &v).message() == "'-1': must not be negative");
  CHECK(ParseSize("", UINT64_MAX, &v).message().find("expected bytes (e.g. 65536)") != std::string::npos);
  CHECK(ParseSize("2G", 1u << 30, &v).message().find("too large (at most 1073741824 bytes)") !=
        std::string::npos);
  CHECK(ParseSize("99999999999999999999", UINT64_MAX, &v).message().find("expected bytes") !=
        std::string::npos);
  CHECK(ParseSize("17179869184T", UINT64_MAX, &v).message().find("too large") != std::string::npos);
  CHECK(v == 7);  // untouched by errors
}

TEST_CASE("counts: whole numbers up to a maximum", "[units]") {
  uint64_t v = 0;
  REQUIRE(ParseCount("42", 100, &v).ok());
  CHECK(v == 42);
  CHECK(ParseCount("101", 100, &v).message() == "'101': too large (at most 100)");
  CHECK(ParseCount("-1", 100, &v).message() == "'-1': must not be negative");
  CHECK(ParseCount("many", 100, &v).message() == "'many': expected a whole number (e.g. 4)");
  CHECK(ParseCount("3.5", 100, &v).message() == "'3.5': expected a whole number (e.g. 4)");
  CHECK(v == 42);
}

}  // namespace
}  // namespace fcgi
