#include "launcher/request/program_target.h"

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
  if (p.cwd.empty()) p.cwd = "/";
  p.display_name = p.path.substr(p.path.rfind('/') + 1);
  p.rlimits = RlimitsFromConfig(config);
  return p;
}

}  // namespace fcgi
