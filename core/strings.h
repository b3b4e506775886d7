// Small string helpers of the pure core, shared by the core, the launcher and
// their tests: ASCII only (HTTP and CGI names are ASCII; no locale is read).
// Pure.
#ifndef FCGI_RUN_CORE_STRINGS_H_
#define FCGI_RUN_CORE_STRINGS_H_

#include <string>
#include <string_view>
#include <vector>

namespace fcgi {

// The text with every control character (newlines included) replaced by a
// blank: one log line per event, whatever the text holds.
std::string OneLine(std::string_view text);

// HTTP's optional white space (RFC 9110 OWS): space and horizontal tab.
inline constexpr std::string_view kBlanks = " \t";

// A space or a horizontal tab (kBlanks).
constexpr bool IsBlank(char c) { return c == ' ' || c == '\t'; }

// `s` without the leading and trailing characters found in `blanks`.
std::string_view Trim(std::string_view s, std::string_view blanks = kBlanks);

// `s` without its trailing CR and LF characters (a log line from a chunk of
// a program's stderr).
std::string_view TrimLineEnds(std::string_view s);

constexpr bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// Whether `s` is one or more decimal digits (no sign, no blanks).
bool IsAllDigits(std::string_view s);

// 'A'-'Z' to 'a'-'z'; every other byte unchanged.
constexpr char Lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

// `s` with Lower applied to every byte.
std::string Lower(std::string_view s);

// ASCII case-insensitive equality (header and option names).
bool EqualsIgnoreCase(std::string_view a, std::string_view b);

// The value of a hexadecimal digit (either case), or -1.
constexpr int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// The candidate most likely meant by a misspelt `word`, for "did you mean"
// hints: the one at the smallest edit distance (insertions, deletions,
// substitutions and swaps of neighbours; '_' and '-' are the same), when that
// distance is at most 1 for words of up to 4 characters, 2 up to 8, 3 beyond;
// on a tie, the first. "" when none is that close.
std::string ClosestMatch(std::string_view word, const std::vector<std::string>& candidates);

}  // namespace fcgi

#endif  // FCGI_RUN_CORE_STRINGS_H_
