// Single-program mode's ProgramSource: every request runs the one PROGRAM of
// the command line with one runner (exec, fork or persistent mode). The first
// request whose SCRIPT_FILENAME names another executable file is logged (a
// warning, once): the web server is set up for a dispatcher.
#ifndef FCGI_RUN_LAUNCHER_REQUEST_SINGLE_PROGRAM_SOURCE_H_
#define FCGI_RUN_LAUNCHER_REQUEST_SINGLE_PROGRAM_SOURCE_H_

#include <memory>

#include "launcher/request/program_source.h"
#include "launcher/run/program_runner.h"

namespace fcgi {

// Every request runs `target` with `runner` (owned).
std::unique_ptr<ProgramSource> MakeSingleProgramSource(ProgramTarget target,
                                                       std::unique_ptr<ProgramRunner> runner);

}  // namespace fcgi

#endif  // FCGI_RUN_LAUNCHER_REQUEST_SINGLE_PROGRAM_SOURCE_H_
