#include "launcher/shim/script_park.h"

#include <limits.h>
#include <stdlib.h>
#include <unistd.h>

#include <vector>

namespace fcgi {

std::optional<ParkSpec> PlanScriptPark(const ParkSpec& park, const ParkCheck& check, std::string* why) {
  why->clear();
  if (!check.can_park || check.chain.empty()) return std::nullopt;
  ProgramFacts facts;
  facts.shebang = check.shebang;
  facts.interpreter = check.chain.back();
  char real[PATH_MAX];
  facts.interpreter_real = realpath(facts.interpreter.c_str(), real) != nullptr ? real : facts.interpreter;
  std::optional<ScriptInvocation> invocation = FindScriptInvocation(park.program, park.args, facts, why);
  if (!invocation) return std::nullopt;
  const std::string& library = park.compat_library;
  const std::string dir = library.substr(0, library.rfind('/'));
  const std::string support = invocation->language == ScriptLanguage::kPerl ? dir + "/FcgiRun/ScriptPark.pm"
                                                                            : dir + "/fcgi_run_park.py";
  if (library.empty() || access(support.c_str(), R_OK) != 0) {
    *why = support + " not found (it is installed next to libfcgi-run-compat.so)";
    return std::nullopt;
  }
  ParkSpec spec = park;
  if (!ScriptParkArguments(*invocation, dir, library, &spec.args, why)) return std::nullopt;
  spec.program = invocation->interpreter;
  spec.script = invocation->script;
  spec.script_language = ScriptLanguageName(invocation->language);
  return spec;
}

}  // namespace fcgi
