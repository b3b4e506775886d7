// Durations, sizes and counts as fcgi-run's options take them. Pure.
//
//   duration  seconds as a plain number ("30", "0.5"), or a number with a unit
//             and no blank: "500ms", "30s", "2m", "1h" ("1.5s" too)
//   size      bytes as a whole number ("65536"), or a whole number with a
//             binary unit: "64K" or "64KiB" (x 1024), "8M" / "8MiB", "1G" /
//             "1GiB", "1T" / "1TiB" (any case; "B" alone means bytes)
//   count     a whole number ("4")
// Errors are kInvalidArgument; their message says what was expected (with an
// example) but not which option it was: the caller puts the option in front.
#ifndef FCGI_RUN_CORE_UNITS_H_
#define FCGI_RUN_CORE_UNITS_H_

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/status.h"

namespace fcgi {

using Duration = std::chrono::nanoseconds;

// Largest duration any option takes: 10^9 seconds (about 31 years).
inline constexpr double kMaxDurationSeconds = 1e9;

// *out = the duration; negative values, NaN and values past kMaxDurationSeconds
// are errors.
Status ParseDuration(std::string_view text, Duration* out);
// *out = the size in bytes; errors past `max`.
Status ParseSize(std::string_view text, uint64_t max, uint64_t* out);
// *out = the count; errors past `max` (the message names it).
Status ParseCount(std::string_view text, uint64_t max, uint64_t* out);

// How messages show a duration: "30s", "0.5s", "250ms", "0s".
std::string FormatDuration(Duration d);
// Seconds as a double, for code that computes with them.
inline double ToSeconds(Duration d) { return std::chrono::duration<double>(d).count(); }

}  // namespace fcgi

#endif  // FCGI_RUN_CORE_UNITS_H_
