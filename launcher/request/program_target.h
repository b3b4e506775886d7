// How a program file becomes a ProgramTarget (what CgiRequest runs): shared by
// single-program mode (Server) and dispatcher mode (dispatcher_source.cc), so
// both run programs the same way. The runner for a target comes from
// Server::MakeRunner (exec, fork or persistent per --mode).
#ifndef FCGI_RUN_LAUNCHER_REQUEST_PROGRAM_TARGET_H_
#define FCGI_RUN_LAUNCHER_REQUEST_PROGRAM_TARGET_H_

#include <sys/resource.h>

#include <string>
#include <utility>
#include <vector>

#include "launcher/config/options.h"
#include "launcher/request/program_source.h"

namespace fcgi {

// --rlimit-* as ProgramTarget::rlimits (only the ones given).
std::vector<std::pair<int, rlim_t>> RlimitsFromConfig(const Config& config);

// A target for `real_path` (absolute, symlinks resolved): cwd is its
// directory, display_name its basename, rlimits from the config.
ProgramTarget MakeProgramTarget(const Config& config, const std::string& real_path,
                                std::vector<std::string> args);

// Single-program mode's PROGRAM (config.program, config.args) as a target:
// its real path (realpath(3)) must be a regular file that fcgi-run may
// execute (access(2) X_OK). Errors name the call and the file. Used by
// start-up, --check-config, --check and a SIGHUP reload alike.
Status ResolveProgramTarget(const Config& config, ProgramTarget* out);

}  // namespace fcgi

#endif  // FCGI_RUN_LAUNCHER_REQUEST_PROGRAM_TARGET_H_
