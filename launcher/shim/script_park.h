// Script park, the launcher's side: whether fork mode parks a program as a
// Perl or Python script after its compilation, and the ParkSpec that starts
// its interpreter for that (libcompat/script_park.h is the shim's side,
// core/script_command.h the command line).
//
// The module and the bootstrap (FcgiRun/ScriptPark.pm, fcgi_run_park.py) are
// installed next to libfcgi-run-compat.so; without them scripts are parked at
// main() as other programs are.
#ifndef FCGI_RUN_LAUNCHER_SHIM_SCRIPT_PARK_H_
#define FCGI_RUN_LAUNCHER_SHIM_SCRIPT_PARK_H_

#include <optional>
#include <string>

#include "core/script_command.h"
#include "launcher/shim/elf_inspector.h"
#include "launcher/shim/shim_process.h"

namespace fcgi {

// The ParkSpec that parks `park.program` after its compilation: `park` with
// the interpreter as program, the module or bootstrap in its arguments, and
// script / script_language set. nullopt when the program is not a Perl or
// Python script, or is one that cannot be parked so (then *why says why: its
// options, the module or bootstrap missing). `check`: the program's
// pre-flight, which passed.
std::optional<ParkSpec> PlanScriptPark(const ParkSpec& park, const ParkCheck& check, std::string* why);

}  // namespace fcgi

#endif  // FCGI_RUN_LAUNCHER_SHIM_SCRIPT_PARK_H_
