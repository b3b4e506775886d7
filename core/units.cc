#include "core/units.h"

#include <charconv>
#include <cmath>
#include <cstdio>

namespace fcgi {

namespace {

constexpr const char* kDurationHint = "seconds (e.g. 30 or 0.5) or a number with a unit: 500ms, 30s, 2m, 1h";
constexpr const char* kSizeHint = "bytes (e.g. 65536) or a whole number with a unit: 64K, 8M, 1G";

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

char Lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

std::string Quoted(std::string_view text) { return "'" + std::string(text) + "'"; }

// The leading run of digits (and, with `fraction`, one '.'); the rest is the unit.
size_t NumberLength(std::string_view text, bool fraction) {
  size_t i = 0;
  bool dot = false;
  while (i < text.size() && (IsDigit(text[i]) || (fraction && text[i] == '.' && !dot))) {
    dot = dot || text[i] == '.';
    ++i;
  }
  return i;
}

bool ParseWhole(std::string_view digits, uint64_t* out) {
  if (digits.empty()) return false;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), *out);
  return ec == std::errc() && end == digits.data() + digits.size();
}

}  // namespace

Status ParseDuration(std::string_view text, Duration* out) {
  if (!text.empty() && text.front() == '-') return Status::Invalid(Quoted(text) + ": must not be negative");
  const size_t n = NumberLength(text, true);
  std::string_view number = text.substr(0, n), unit = text.substr(n);
  double value = 0;
  if (number.empty() || number == ".") return Status::Invalid(Quoted(text) + ": expected " + kDurationHint);
  auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), value);
  if (ec != std::errc() || end != number.data() + number.size() || !std::isfinite(value)) {
    return Status::Invalid(Quoted(text) + ": expected " + kDurationHint);
  }
  double scale = 1;
  if (unit == "ms") scale = 1e-3;
  else if (unit.empty() || unit == "s") scale = 1;
  else if (unit == "m" || unit == "min") scale = 60;
  else if (unit == "h") scale = 3600;
  else {
    return Status::Invalid(Quoted(text) + ": unknown unit '" + std::string(unit) +
                           "': expected ms, s, m or h (500ms, 30s, 2m, 1h; a plain number is seconds)");
  }
  const double seconds = value * scale;
  if (seconds > kMaxDurationSeconds) {
    return Status::Invalid(Quoted(text) + ": too long (at most 1000000000 seconds)");
  }
  *out = std::chrono::duration_cast<Duration>(std::chrono::duration<double>(seconds));
  return Status::Ok();
}

Status ParseSize(std::string_view text, uint64_t max, uint64_t* out) {
  if (!text.empty() && text.front() == '-') return Status::Invalid(Quoted(text) + ": must not be negative");
  const size_t n = NumberLength(text, false);
  uint64_t value = 0;
  if (!ParseWhole(text.substr(0, n), &value))
    return Status::Invalid(Quoted(text) + ": expected " + kSizeHint);
  std::string unit;
  for (char c : text.substr(n)) unit += Lower(c);
  int shift = 0;
  if (unit.empty() || unit == "b") shift = 0;
  else if (unit == "k" || unit == "kib") shift = 10;
  else if (unit == "m" || unit == "mib") shift = 20;
  else if (unit == "g" || unit == "gib") shift = 30;
  else if (unit == "t" || unit == "tib") shift = 40;
  else {
    return Status::Invalid(Quoted(text) + ": unknown unit '" + std::string(text.substr(n)) +
                           "': expected K, M, G or T (binary: 1K = 1024 bytes), e.g. 64K");
  }
  if (shift > 0 && value > (max >> shift)) {
    return Status::Invalid(Quoted(text) + ": too large (at most " + std::to_string(max) + " bytes)");
  }
  value <<= shift;
  if (value > max)
    return Status::Invalid(Quoted(text) + ": too large (at most " + std::to_string(max) + " bytes)");
  *out = value;
  return Status::Ok();
}

Status ParseCount(std::string_view text, uint64_t max, uint64_t* out) {
  if (!text.empty() && text.front() == '-') return Status::Invalid(Quoted(text) + ": must not be negative");
  uint64_t value = 0;
  if (!ParseWhole(text, &value)) return Status::Invalid(Quoted(text) + ": expected a whole number (e.g. 4)");
  if (value > max) return Status::Invalid(Quoted(text) + ": too large (at most " + std::to_string(max) + ")");
  *out = value;
  return Status::Ok();
}

std::string FormatDuration(Duration d) {
  const double seconds = ToSeconds(d);
  char buf[64];
  if (seconds != 0 && seconds < 1) {
    std::snprintf(buf, sizeof buf, "%gms", seconds * 1e3);
  } else {
    std::snprintf(buf, sizeof buf, "%gs", seconds);
  }
  return buf;
}

}  // namespace fcgi
