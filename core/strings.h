// Small string helpers of the pure core, shared by the core and the launcher.
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

// The candidate most likely meant by a misspelt `word`, for "did you mean"
// hints: the one at the smallest edit distance (insertions, deletions,
// substitutions and swaps of neighbours; '_' and '-' are the same), when that
// distance is at most 1 for words of up to 4 characters, 2 up to 8, 3 beyond;
// on a tie, the first. "" when none is that close.
std::string ClosestMatch(std::string_view word, const std::vector<std::string>& candidates);

}  // namespace fcgi

#endif  // FCGI_RUN_CORE_STRINGS_H_
