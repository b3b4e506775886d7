// Persistent mode's ProgramRunner: a pool of --workers PersistentWorkers, each
// running main() again and again, one request at a time; a request waits for
// a free worker.
//
// Pre-flight (elf_inspector, as fork mode): a program that cannot be parked
// (static, set-id, capabilities, not ELF) is served in exec mode; a script
// (#!) in fork mode (persistent mode broke dash and perl, LIBCOMPAT.md); one
// log line says which and why. Workers that fail to say HELLO
// --park-retries times in a row make the runner fall back to exec mode.
//
// Recycling (a fresh worker replaces the old one, never in the middle of a
// request): the shim's REPORT after each request goes through a RecyclePolicy
// (--max-requests, --max-rss, threads, fd growth, exit in a libstdc++
// program); a crash or a request stopped by a signal (timeout, abort: the
// worker's process group is signalled, the only safe way) ends the worker;
// the program file changing on disk and Recycle() (SIGHUP) replace every
// worker, busy ones after their request.
#ifndef FCGI_RUN_LAUNCHER_SHIM_PERSISTENT_RUNNER_H_
#define FCGI_RUN_LAUNCHER_SHIM_PERSISTENT_RUNNER_H_

#include <boost/asio/io_context.hpp>
#include <functional>
#include <memory>
#include <string>

#include "core/metrics.h"
#include "core/recycle_policy.h"
#include "launcher/run/program_runner.h"
#include "launcher/run/spawner.h"
#include "launcher/shim/compat_channel.h"
#include "launcher/shim/parked_program.h"

namespace fcgi {

struct PersistentRunnerOptions {
  ParkSpec park;
  unsigned workers = 1;
  RecycleLimits limits;
  int max_failures = 3;  // failed starts in a row before the exec fallback
  // Called after each persistent request with the shim's REPORT, what the
  // recycle policy made of it, and the recycle reason ("" = kept). For
  // `fcgi-run --check`.
  std::function<void(const CompatReport& report, const RequestAftermath& aftermath,
                     const std::string& recycle_reason)>
      on_report;
  Metrics* metrics = nullptr;  // status page counters (workers, failures, fallback, recycles); may be null
  bool park_scripts = true;    // a script's fork-mode fallback: ForkRunnerOptions::park_scripts
};

// Persistent mode's pre-flight for park.program: kPersistent, or the mode it
// falls back to, with the reason in *why: kExec when the shim library is
// missing or the program cannot be parked (static, set-id, capabilities,
// not found), kFork for a script (interpreters do not survive main() running
// twice).
enum class PersistentFit { kPersistent, kFork, kExec };
PersistentFit CheckPersistentFit(const ParkSpec& park, std::string* why);

// Returns the persistent runner, or the fork / exec runner the pre-flight
// (CheckPersistentFit) fell back to (mode_name() tells which).
std::unique_ptr<ProgramRunner> MakePersistentRunner(boost::asio::io_context& io, Spawner& spawner,
                                                    PersistentRunnerOptions options);

// "exit intercepted, environment restored, ..." for a REPORT's flags ("" if none).
std::string DescribeReportFlags(uint32_t flags);

// What a REPORT tells the recycle policy (`links_libstdcxx`: from HELLO).
RequestAftermath AftermathOf(const CompatReport& report, bool links_libstdcxx);

}  // namespace fcgi

#endif  // FCGI_RUN_LAUNCHER_SHIM_PERSISTENT_RUNNER_H_
