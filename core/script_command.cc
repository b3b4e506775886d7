#include "core/script_command.h"

#include <cstring>

#include "core/strings.h"

namespace fcgi {
namespace {

bool IsAlnum(char c) { return IsDigit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

// "5", "5.36", "5.36.0": digits separated by single dots.
bool IsVersion(std::string_view v) {
  if (v.empty() || !IsDigit(v.front()) || !IsDigit(v.back())) return false;
  for (size_t i = 0; i < v.size(); ++i) {
    if (v[i] == '.' && !IsDigit(v[i + 1])) return false;
    if (v[i] != '.' && !IsDigit(v[i])) return false;
  }
  return true;
}

// Perl reads its options from one word as it reads them from a "#!" line:
// clusters ("-wT"), several separated by spaces ("-w -T"). Only options that
// leave the script what it is are accepted (see script_command.h).
bool PerlOptionsSupported(std::string_view word) {
  size_t i = 0;
  while (i < word.size()) {
    if (word[i] != '-' || i + 1 == word.size() || word[i + 1] == ' ') return false;
    ++i;
    while (i < word.size() && word[i] != ' ') {
      const char c = word[i++];
      if (std::strchr("wWXTtUanpsf", c) != nullptr) continue;
      if (c == 'l' || c == '0') {  // -l[octal], -0[octal or xHEX]
        while (i < word.size() && (IsAlnum(word[i]))) ++i;
        continue;
      }
      if (c == 'C') {  // -C[number or letters], the rest of the cluster
        while (i < word.size() && IsAlnum(word[i])) ++i;
        continue;
      }
      if (c == 'I' || c == 'M' || c == 'm') {  // attached value, to the end of the word
        if (i == word.size() || word[i] == ' ') return false;
        while (i < word.size() && word[i] != ' ') ++i;
        continue;
      }
      return false;
    }
    while (i < word.size() && word[i] == ' ') ++i;
  }
  return !word.empty();
}

// One python3 option word: a cluster of flags, the last of which may be -W
// or -X with its value attached.
bool PythonOptionsSupported(std::string_view word) {
  if (word.size() < 2 || word[0] != '-' || word[1] == '-') return false;
  for (size_t i = 1; i < word.size(); ++i) {
    const char c = word[i];
    if (std::strchr("bBdEIOPqsSuvR", c) != nullptr) continue;
    if (c == 'W' || c == 'X') return i + 1 < word.size();
    return false;
  }
  return true;
}

bool OptionsSupported(ScriptLanguage language, std::string_view word) {
  return language == ScriptLanguage::kPerl ? PerlOptionsSupported(word) : PythonOptionsSupported(word);
}

ScriptLanguage LanguageOf(const ProgramFacts& facts, std::string_view written) {
  ScriptLanguage l = LanguageOfInterpreter(written);
  return l != ScriptLanguage::kNone ? l : LanguageOfInterpreter(facts.interpreter_real);
}

}  // namespace

const char* ScriptLanguageName(ScriptLanguage language) {
  switch (language) {
    case ScriptLanguage::kPerl:
      return "perl";
    case ScriptLanguage::kPython:
      return "python";
    case ScriptLanguage::kNone:
      break;
  }
  return "";
}

ScriptLanguage LanguageOfInterpreter(std::string_view path) {
  std::string_view name = BaseName(path);
  if (name == "perl" || (name.substr(0, 5) == "perl5" && IsVersion(name.substr(4))))
    return ScriptLanguage::kPerl;
  if (name == "python3" || (name.substr(0, 8) == "python3." && IsVersion(name.substr(6)))) {
    return ScriptLanguage::kPython;
  }
  return ScriptLanguage::kNone;
}

std::optional<ScriptInvocation> FindScriptInvocation(const std::string& program,
                                                     const std::vector<std::string>& args,
                                                     const ProgramFacts& facts, std::string* why) {
  why->clear();
  ScriptInvocation inv;
  inv.interpreter = facts.interpreter;
  if (facts.shebang) {
    const Shebang& s = *facts.shebang;
    if (BaseName(s.interpreter) == "env") {
      // "#!/usr/bin/env NAME" and nothing else: the kernel gives env NAME and
      // the script, env runs NAME found in PATH (facts.interpreter).
      inv.language = LanguageOf(facts, EnvCommandName(s.argument));
      if (inv.language == ScriptLanguage::kNone) return std::nullopt;
      if (s.argument.find_first_of(" \t=") != std::string::npos || s.argument.empty() ||
          s.argument[0] == '-') {
        *why = "\"#!" + s.interpreter + " " + s.argument + "\": env with options";
        return std::nullopt;
      }
    } else {
      inv.language = LanguageOf(facts, s.interpreter);
      if (inv.language == ScriptLanguage::kNone) return std::nullopt;
      if (!s.argument.empty()) {
        if (!OptionsSupported(inv.language, s.argument)) {
          *why = "its \"#!\" line has options kept only by a fresh interpreter (" + s.argument + ")";
          return std::nullopt;
        }
        inv.options.push_back(s.argument);
      }
    }
    inv.script = program;
    inv.args = args;
    return inv;
  }
  // perl or python3 itself, given the script among its arguments.
  inv.language = LanguageOf(facts, program);
  if (inv.language == ScriptLanguage::kNone) return std::nullopt;
  size_t i = 0;
  for (; i < args.size() && !args[i].empty() && args[i][0] == '-'; ++i) {
    if (!OptionsSupported(inv.language, args[i])) {
      *why = "option " + args[i] + " is kept only by a fresh interpreter, or names no script";
      return std::nullopt;
    }
    inv.options.push_back(args[i]);
  }
  if (i == args.size() || args[i].empty()) {
    *why = "no script among its arguments";
    return std::nullopt;
  }
  inv.script = args[i];
  inv.args.assign(args.begin() + static_cast<std::ptrdiff_t>(i) + 1, args.end());
  return inv;
}

bool ScriptParkArguments(const ScriptInvocation& invocation, const std::string& support_dir,
                         const std::string& library, std::vector<std::string>* out, std::string* why) {
  out->assign(invocation.options.begin(), invocation.options.end());
  if (invocation.language == ScriptLanguage::kPerl) {
    if (support_dir.find(',') != std::string::npos || library.find(',') != std::string::npos) {
      *why = "a ',' in the path of " + (library.find(',') != std::string::npos ? library : support_dir) +
             " (perl -M splits its arguments at commas)";
      return false;
    }
    out->push_back("-I" + support_dir);
    out->push_back("-MFcgiRun::ScriptPark=" + library + "," + support_dir);
  } else {
    out->push_back(support_dir + "/fcgi_run_park.py");
    out->push_back(library);
  }
  out->push_back(invocation.script);
  out->insert(out->end(), invocation.args.begin(), invocation.args.end());
  return true;
}

}  // namespace fcgi
