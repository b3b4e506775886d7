#include "launcher/request/program_target.h"

#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "launcher/log/log.h"

namespace fcgi {

std::vector<std::pair<int, rlim_t>> RlimitsFromConfig(const Config& config) {
  std::vector<std::pair<int, rlim_t>> out;
  const std::pair<int, int64_t> limits[] = {{RLIMIT_CPU, config.rlimit_cpu},
                                            {RLIMIT_AS, config.rlimit_as},
                                            {RLIMIT_NOFILE, config.rlimit_nofile},
                                            {RLIMIT_NPROC, config.rlimit_nproc},
                                            {RLIMIT_CORE, config.rlimit_core}};
  for (const auto& [resource, value] : limits) {
    if (value >= 0) out.emplace_back(resource, static_cast<rlim_t>(value));
  }
  return out;
}

ProgramTarget MakeProgramTarget(const Config& config, const std::string& real_path,
                                std::vector<std::string> args) {
  ProgramTarget p;
  p.path = real_path;
  p.args = std::move(args);
  p.cwd = p.path.substr(0, p.path.rfind('/'));
  if (p.cwd.empty()) p.cwd.assign(1, '/');  // (assigning "/" trips GCC 12's -Wrestrict)
  p.display_name = p.path.substr(p.path.rfind('/') + 1);
  p.rlimits = RlimitsFromConfig(config);
  return p;
}

Status ResolveProgramTarget(const Config& config, ProgramTarget* out) {
  char resolved[PATH_MAX];
  if (realpath(config.program.c_str(), resolved) == nullptr) {
    return Status::FromErrno("realpath(3) PROGRAM", config.program, errno);
  }
  struct stat st;
  if (stat(resolved, &st) != 0) return Status::FromErrno("stat(2) PROGRAM", resolved, errno);
  if (!S_ISREG(st.st_mode))
    return Status::Invalid(std::string("PROGRAM ") + resolved + ": not a regular file");
  if (access(resolved, X_OK) != 0) return Status::FromErrno("access(2) X_OK PROGRAM", resolved, errno);
  *out = MakeProgramTarget(config, resolved, config.args);
  // --compile-per-request: the program, or a script given to it (perl /srv/app.pl).
  std::string pattern = config.compile_per_request.Match(out->path, "", "");
  for (size_t i = 0; pattern.empty() && i < out->args.size(); ++i) {
    const std::string& arg = out->args[i];
    if (!arg.empty() && arg[0] == '/' && realpath(arg.c_str(), resolved) != nullptr) {
      pattern = config.compile_per_request.Match(resolved, "", "");
    }
  }
  out->compile_per_request = !pattern.empty();
  if (!pattern.empty()) LogDebug("--compile-per-request '" + pattern + "' selects " + out->path);
  return Status::Ok();
}

}  // namespace fcgi
