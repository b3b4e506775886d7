// Configuration snippets of the documentation, as the end-to-end tests feed
// them to the real servers: the docs show exactly what is tested.
//
// A snippet is the fenced code block right after a marker line
//
//   <!-- snippet: NAME -->
//   ```nginx
//   ...
//   ```
//
// in a Markdown file of the source tree. DocSnippet returns the block's text
// (the lines between the fences, each ending in '\n'). Substitute then
// replaces the snippet's placeholders (the documented paths and addresses a
// test must move into its temp dir or port), and throws when one is missing,
// so a doc edit that drops a placeholder fails the test instead of testing
// something else.
//
// Every server-configuration fence of the docs (kConfigLanguages) must carry
// a marker, and every marker must be used by an e2e test:
// tests/support/doc_snippet_test.cc checks both.
#ifndef FCGI_RUN_TESTS_SUPPORT_DOC_SNIPPET_H_
#define FCGI_RUN_TESTS_SUPPORT_DOC_SNIPPET_H_

#include <string>
#include <utility>
#include <vector>

namespace fcgi::test {

// Fence languages that are configuration some server or fcgi-run reads.
inline const std::vector<std::string> kConfigLanguages = {"nginx", "apache", "lighttpd", "yaml",
                                                          "ini",   "cgitrc", "systemd"};

struct Snippet {
  std::string file;      // relative to the source tree, e.g. "docs/guide/web-servers.md"
  std::string name;      // from the marker ("" when the fence has none)
  std::string language;  // the fence's info string ("nginx", "" for a plain fence)
  std::string text;
  int line = 0;  // of the opening fence
};

// Every fenced block of `markdown` (its text), marked or not.
std::vector<Snippet> ParseSnippets(const std::string& file, const std::string& markdown);

// The snippet NAME of SourceDir()/relative_path. Throws std::runtime_error
// naming the file and the snippet when there is none, or more than one.
std::string DocSnippet(const std::string& relative_path, const std::string& name);

// `text` with each `from` replaced (every occurrence) by its `to`, in order.
// Throws std::runtime_error when a `from` does not occur.
std::string Substitute(std::string text,
                       const std::vector<std::pair<std::string, std::string>>& replacements);

// The words of a shell command line snippet ("\\\n" continuations joined,
// split on blanks; no quoting is interpreted: snippets that a test runs use
// none).
std::vector<std::string> CommandWords(const std::string& command_line);

}  // namespace fcgi::test

#endif  // FCGI_RUN_TESTS_SUPPORT_DOC_SNIPPET_H_
