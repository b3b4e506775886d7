// ProgramSource: which program serves a request. Single-program mode always
// answers the PROGRAM of the command line; a dispatcher (like fcgiwrap) picks
// it from SCRIPT_FILENAME and checks it against its rules.
#ifndef FCGI_RUN_LAUNCHER_REQUEST_PROGRAM_SOURCE_H_
#define FCGI_RUN_LAUNCHER_REQUEST_PROGRAM_SOURCE_H_

#include <sys/resource.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/fcgi_name_value.h"
#include "core/run_mode.h"
#include "core/status.h"
#include "launcher/run/program_runner.h"

namespace fcgi {

// One program to run.
struct ProgramTarget {
  std::string path;  // absolute path
  std::vector<std::string> args;
  std::string cwd;                              // the program's directory
  std::string display_name;                     // basename: what error bodies may show
  std::vector<std::pair<int, rlim_t>> rlimits;  // from --rlimit-*
  // Unset = --mode; dispatcher mode: kPersistent for the programs --persistent selects.
  std::optional<RunMode> mode;
  // --compile-per-request matched: fork mode parks a Perl/Python script at
  // main() instead of after its compilation.
  bool compile_per_request = false;
};

struct ResolvedProgram {
  ProgramTarget target;
  ProgramRunner* runner = nullptr;  // owned by the source; valid while the request runs
  // Keeps `runner` alive until the request lets go of this ResolvedProgram,
  // whatever happens to the source meanwhile (the dispatcher's LRU retires
  // runners; a SIGHUP reload replaces the whole source).
  std::shared_ptr<ProgramRunner> keep_alive;
  // Params to set or replace before the environment is built (PATH_INFO,
  // SCRIPT_NAME, ... worked out by a dispatcher).
  NameValuePairs param_overrides;
};

class ProgramSource {
 public:
  virtual ~ProgramSource() = default;
  // Errors carry the HTTP status to answer: Status::NotFound -> 404,
  // Status::Denied -> 403, anything else -> 500. Their messages are for the
  // log; the client only sees the status and a generic sentence.
  virtual Status Resolve(const NameValuePairs& params, ResolvedProgram* out) = 0;
  // SIGHUP: recycle long-lived processes of every program.
  virtual void Recycle(const char* why) = 0;
  // Graceful stop.
  virtual void Shutdown() = 0;
  // True while a request holds one of its runners (ResolvedProgram::keep_alive):
  // a source replaced by a SIGHUP reload is shut down only once it is not.
  virtual bool InUse() const = 0;
  // For the status page: every worker class (program path and its runner).
  using RunnerVisitor = std::function<void(const std::string& program, const ProgramRunner& runner)>;
  virtual void ForEachRunner(const RunnerVisitor& visit) const = 0;
};

}  // namespace fcgi

#endif  // FCGI_RUN_LAUNCHER_REQUEST_PROGRAM_SOURCE_H_
