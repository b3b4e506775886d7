// Script park's command line (launcher/shim/script_park.h): which programs are a
// Perl or Python script that fork mode can park after its compilation, and
// how its interpreter is started for that. Pure: the caller hands in what it
// read from the files (the program's "#!" line, the interpreter it resolves
// to).
//
// A program is such a script when
//   - its "#!" names perl or python3 (by file name: perl, perl5.36.0,
//     python3, python3.11; the interpreter as written or the file it
//     resolves to), directly or as "#!/usr/bin/env NAME" with nothing else,
//     and the "#!" argument, if any, holds only options listed below; or
//   - it is perl or python3 itself and its arguments are such options
//     followed by the script (`fcgi-run /usr/bin/perl -T app.pl`).
// Any other option (perl -e/-E/-x/-i/-d/-c/-S/-F/-v/-h, -I/-M/-m without an
// attached value; python -c/-m/-x/-i/-h/-V, a lone "-") leaves the program
// as it is (parked at main()). Perl: clusters of -w -W -X -T -t -U -a -n -p
// -s -f -l[octal] -0[octal], -C[flags], -IDIR, -MMODULE, -mMODULE (value
// attached, to the end of the word); a "#!" argument may hold several,
// separated by spaces, as perl reads them. Python: clusters of -b -B -d -E
// -I -O -P -q -R -s -S -u -v, the last of which may be -W or -X with its
// value attached.
//
// The script is started as the kernel would (interpreter, the "#!"
// argument as one word, then the script), with the park's own part between
// the options and the script:
//   perl:   PERL [#!ARG] -IDIR -MFcgiRun::ScriptPark=LIBRARY,DIR SCRIPT ARGS
//   python: PYTHON [#!ARG] DIR/fcgi_run_park.py LIBRARY SCRIPT ARGS
// (DIR: where the module and the bootstrap are installed, next to LIBRARY).
#ifndef FCGI_RUN_CORE_SCRIPT_COMMAND_H_
#define FCGI_RUN_CORE_SCRIPT_COMMAND_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/elf_parse.h"

namespace fcgi {

enum class ScriptLanguage { kNone, kPerl, kPython };

// "perl" / "python" ("" for kNone): FCGI_RUN_COMPAT_PARK's value and log text.
const char* ScriptLanguageName(ScriptLanguage language);

// By the file name of an interpreter path: perl, perl5[.x.y] -> kPerl;
// python3, python3.N -> kPython; anything else kNone.
ScriptLanguage LanguageOfInterpreter(std::string_view path);

// How a script runs, as the kernel would start it.
struct ScriptInvocation {
  ScriptLanguage language = ScriptLanguage::kNone;
  std::string interpreter;           // the ELF to start (absolute)
  std::vector<std::string> options;  // the interpreter's options, before the script
  std::string script;                // the script's path
  std::vector<std::string> args;     // the script's arguments
};

// What the caller found out about `program` (absolute path, started with `args`).
struct ProgramFacts {
  std::optional<Shebang> shebang;  // the program's "#!" line (nullopt: an ELF)
  // The ELF the program runs on: the "#!" interpreter, env's resolved
  // command, or the program itself.
  std::string interpreter;
  std::string interpreter_real;  // that ELF's real path (symlinks resolved)
};

// The invocation of `program` when it is a Perl or Python script that can be
// parked after compilation; otherwise nullopt with *why saying why not when
// it is a Perl or Python script after all (options it cannot keep), left
// empty for every other program (a shell script, an ELF program).
std::optional<ScriptInvocation> FindScriptInvocation(const std::string& program,
                                                     const std::vector<std::string>& args,
                                                     const ProgramFacts& facts, std::string* why);

// The interpreter's arguments (after argv[0]) for script park. support_dir:
// where FcgiRun/ScriptPark.pm and fcgi_run_park.py are; library: the
// libfcgi-run-compat.so preloaded. Returns false (and *why) when the paths
// cannot be passed (a ',' in a Perl module argument).
bool ScriptParkArguments(const ScriptInvocation& invocation, const std::string& support_dir,
                         const std::string& library, std::vector<std::string>* out, std::string* why);

}  // namespace fcgi

#endif  // FCGI_RUN_CORE_SCRIPT_COMMAND_H_
