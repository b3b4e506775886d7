#include "tests/support/doc_snippet.h"

#include <sstream>
#include <stdexcept>

#include "tests/support/temp_dir.h"
#include "tests/support/test_paths.h"

namespace fcgi::test {

namespace {

constexpr const char* kMarkerOpen = "<!-- snippet: ";
constexpr const char* kMarkerClose = " -->";

// NAME from a marker line, "" when the line is not one.
std::string MarkerName(const std::string& line) {
  const std::string open = kMarkerOpen, close = kMarkerClose;
  if (line.rfind(open, 0) != 0 || line.size() < open.size() + close.size() ||
      line.compare(line.size() - close.size(), close.size(), close) != 0) {
    return "";
  }
  return line.substr(open.size(), line.size() - open.size() - close.size());
}

}  // namespace

std::vector<Snippet> ParseSnippets(const std::string& file, const std::string& markdown) {
  std::vector<Snippet> out;
  std::istringstream in(markdown);
  std::string line, previous;
  int number = 0;
  Snippet* open = nullptr;
  while (std::getline(in, line)) {
    ++number;
    if (open != nullptr) {
      if (line == "```") open = nullptr;
      else open->text += line + "\n";
    } else if (line.rfind("```", 0) == 0) {
      out.push_back({file, MarkerName(previous), line.substr(3), "", number});
      open = &out.back();
    }
    previous = line;
  }
  return out;
}

std::string DocSnippet(const std::string& relative_path, const std::string& name) {
  const std::string markdown = ReadFile(SourceDir() + "/" + relative_path);
  if (markdown.empty()) throw std::runtime_error("DocSnippet: cannot read " + relative_path);
  std::vector<Snippet> found;
  for (Snippet& s : ParseSnippets(relative_path, markdown)) {
    if (s.name == name) found.push_back(std::move(s));
  }
  if (found.size() != 1) {
    throw std::runtime_error("DocSnippet: " + relative_path + " has " + std::to_string(found.size()) +
                             " snippets marked '" + kMarkerOpen + name + kMarkerClose + "' (expected one)");
  }
  return found.front().text;
}

std::string Substitute(std::string text,
                       const std::vector<std::pair<std::string, std::string>>& replacements) {
  for (const auto& [from, to] : replacements) {
    size_t at = text.find(from);
    if (from.empty() || at == std::string::npos) {
      throw std::runtime_error("Substitute: the snippet has no '" + from + "' to replace:\n" + text);
    }
    for (; at != std::string::npos; at = text.find(from, at + to.size())) text.replace(at, from.size(), to);
  }
  return text;
}

std::vector<std::string> CommandWords(const std::string& command_line) {
  std::string joined;
  for (size_t i = 0; i < command_line.size(); ++i) {
    if (command_line[i] == '\\' && i + 1 < command_line.size() && command_line[i + 1] == '\n') {
      ++i;
      joined += ' ';
    } else {
      joined += command_line[i];
    }
  }
  std::istringstream in(joined);
  std::vector<std::string> words;
  for (std::string w; in >> w;) words.push_back(w);
  return words;
}

}  // namespace fcgi::test
