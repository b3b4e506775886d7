// Dispatcher mode's ProgramSource: `fcgi-run --root DIR` with no PROGRAM runs,
// per request, the program the request names (SCRIPT_FILENAME, else
// DOCUMENT_ROOT + SCRIPT_NAME), as fcgiwrap and mod_fcgid's FcgidWrapper do.
// The rules are in core/script_path.h; this file adds the real file
// system and one ProgramRunner per distinct program ("worker class": in fork
// mode, one parked process per program), kept in an LRU of --max-classes.
// A program matching a --persistent pattern (core/persistent_patterns.h)
// gets ProgramTarget::mode "persistent"; the factory then builds a persistent
// runner for it, and every other program gets a runner of --mode.
//
// Lifetime: a runner retired from the LRU stays alive (in a retired list)
// while any request still holds it through ResolvedProgram::keep_alive; it is
// destroyed on a later Resolve, Shutdown or with the source once nothing
// holds it. Destruction never happens inside a runner's own callback.
#ifndef FCGI_RUN_LAUNCHER_REQUEST_DISPATCHER_SOURCE_H_
#define FCGI_RUN_LAUNCHER_REQUEST_DISPATCHER_SOURCE_H_

#include <functional>
#include <memory>
#include <string>

#include "core/script_path.h"
#include "core/status.h"
#include "launcher/config/options.h"
#include "launcher/request/program_source.h"
#include "launcher/run/program_runner.h"

namespace fcgi {

// realpath(3), stat(2), access(2) X_OK.
std::unique_ptr<FileSystem> MakeRealFileSystem();

// The policy of the command line: --root (each an existing directory or
// executable program file; its real path is what confinement is checked on),
// --allow-ext, --program (each an existing executable regular file, under one
// of the roots when there are roots). Errors are start-up errors.
Status MakeScriptPolicy(const Config& config, const FileSystem& fs, ScriptPolicy* out);

using RunnerFactory = std::function<std::unique_ptr<ProgramRunner>(const ProgramTarget& target)>;

// `config` must outlive the source; `make_runner` is called once per new
// worker class, on the reactor thread.
std::unique_ptr<ProgramSource> MakeDispatcherSource(const Config& config, ScriptPolicy policy,
                                                    std::unique_ptr<FileSystem> fs,
                                                    RunnerFactory make_runner);

}  // namespace fcgi

#endif  // FCGI_RUN_LAUNCHER_REQUEST_DISPATCHER_SOURCE_H_
