// Fork mode's ProgramRunner: requests are forked from a ParkedProgram.
//
// Pre-flight (elf_inspector): a program that cannot be parked (static or
// set-id binary, file capabilities, not ELF) is served in exec mode, with one
// log line saying why. Otherwise the program is started with libcompat
// preloaded and must say HELLO within --park-timeout. A Perl or Python script
// is parked after its compilation (script_park.h) unless park_scripts is
// off; when that park fails before HELLO (the script does not compile, reads
// stdin or starts a thread while compiling, compiles longer than
// --park-timeout...), its interpreter is parked at main() instead, at once,
// with one log line saying why, until the script changes or Recycle(). Starts that arrive
// before that wait. A parked process that dies is restarted with backoff;
// after --park-retries failures in a row without one successful request, the
// runner falls back to exec mode for good (one log line). A request the dead
// process was handed but never reported started (ParkedProgram's LostCallback)
// is dispatched again, once, with copies of its stdio fds the runner keeps
// from the RUN until STARTED, so its body stays in the stdin pipe (one info
// line per rerun); a second loss is a 502. The program file
// changing on disk (inode, size or mtime) or Recycle() (SIGHUP) replaces the
// parked process before the next request; the old one drains its children.
#ifndef FCGI_RUN_LAUNCHER_SHIM_FORK_RUNNER_H_
#define FCGI_RUN_LAUNCHER_SHIM_FORK_RUNNER_H_

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <memory>
#include <string>

#include "core/metrics.h"
#include "launcher/run/program_runner.h"
#include "launcher/run/spawner.h"
#include "launcher/shim/parked_program.h"

namespace fcgi {

struct ForkRunnerOptions {
  ParkSpec park;
  int max_failures = 3;        // consecutive park failures before exec fallback
  Metrics* metrics = nullptr;  // status page counters (parks, failures, fallback, recycles); may be null
  bool park_scripts = true;    // false (--compile-per-request): scripts are parked at main()
};

std::unique_ptr<ProgramRunner> MakeForkRunner(boost::asio::io_context& io, Spawner& spawner,
                                              ForkRunnerOptions options);

// Where libfcgi-run-compat.so is: `configured` if not empty, else next to the
// fcgi-run binary (build tree: ../libcompat/, installed: ../lib/fcgi-run/).
// Empty string when not found.
std::string FindCompatLibrary(const std::string& configured);

}  // namespace fcgi

#endif  // FCGI_RUN_LAUNCHER_SHIM_FORK_RUNNER_H_
