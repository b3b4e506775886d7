// The documentation's configuration snippets are the ones the e2e tests use
// (tests/support/doc_snippet.h): every server-configuration fence is marked,
// and every marked snippet is named by a test.
#include "tests/support/doc_snippet.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "tests/support/temp_dir.h"
#include "tests/support/test_paths.h"

namespace fcgi::test {
namespace {

TEST_CASE("doc snippets: a marked fence is found by name, text exactly", "[doc_snippet]") {
  const std::string md =
      "# Title\n\n<!-- snippet: one -->\n```nginx\nlocation / {\n  x;\n}\n```\n\n```\nplain\n```\n"
      "<!-- snippet: two -->\n```apache\nA b\n```\n";
  std::vector<Snippet> s = ParseSnippets("t.md", md);
  REQUIRE(s.size() == 3);
  CHECK(s[0].name == "one");
  CHECK(s[0].language == "nginx");
  CHECK(s[0].text == "location / {\n  x;\n}\n");
  CHECK(s[0].line == 4);
  CHECK(s[1].name.empty());
  CHECK(s[1].language.empty());
  CHECK(s[2].name == "two");
  CHECK(s[2].text == "A b\n");
}

TEST_CASE("doc snippets: Substitute replaces every placeholder and refuses a missing one", "[doc_snippet]") {
  CHECK(Substitute("root /srv/www; x /srv/www/a;", {{"/srv/www", "/tmp/r"}}) == "root /tmp/r; x /tmp/r/a;");
  CHECK_THROWS_AS(Substitute("root /srv/www;", {{"/var/www", "/tmp/r"}}), std::runtime_error);
  CHECK(CommandWords("fcgi-run --listen unix:/run/a.sock \\\n   --root /srv/www\n") ==
        std::vector<std::string>{"fcgi-run", "--listen", "unix:/run/a.sock", "--root", "/srv/www"});
}

std::vector<std::string> MarkdownFiles() {
  namespace fs = std::filesystem;
  std::vector<std::string> files = {"README.md", "examples/README.md", "HACKING.md"};
  for (const char* dir : {"docs", "docs/guide"}) {
    for (const auto& e : fs::directory_iterator(SourceDir() + "/" + dir)) {
      if (e.path().extension() == ".md")
        files.push_back(std::string(dir) + "/" + e.path().filename().string());
    }
  }
  return files;
}

std::string E2eSources() {
  std::string all;
  for (const auto& e : std::filesystem::directory_iterator(SourceDir() + "/tests/e2e")) {
    if (e.path().extension() == ".cc" || e.path().extension() == ".h") all += ReadFile(e.path().string());
  }
  return all;
}

TEST_CASE("doc snippets: every server configuration in the docs is marked and used by an e2e test",
          "[doc_snippet]") {
  const std::string tests = E2eSources();
  REQUIRE(!tests.empty());
  int marked = 0;
  for (const std::string& file : MarkdownFiles()) {
    std::set<std::string> names;
    for (const Snippet& s : ParseSnippets(file, ReadFile(SourceDir() + "/" + file))) {
      INFO(file << ":" << s.line << ": ```" << s.language << " snippet '" << s.name << "'");
      const bool config =
          std::find(kConfigLanguages.begin(), kConfigLanguages.end(), s.language) != kConfigLanguages.end();
      if (config) CHECK(!s.name.empty());  // mark it: <!-- snippet: NAME --> on the line before
      if (s.name.empty()) continue;
      ++marked;
      CHECK(names.insert(s.name).second);                            // unique in its file
      CHECK(tests.find("\"" + s.name + "\"") != std::string::npos);  // a test uses it
    }
  }
  CHECK(marked > 0);
}

}  // namespace
}  // namespace fcgi::test
