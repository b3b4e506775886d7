// Environment: fcgi-run's environment as the configuration sees it, a copy
// taken once by main.cc (FromProcess) and handed to ParseConfig
// (launcher/config/options.h), so that nothing below main.cc reads the
// process environment for its configuration and tests give any environment
// without setenv(3). Names read: FCGI_RUN_CONFIG, FCGI_WEB_SERVER_ADDRS,
// LISTEN_PID/LISTEN_FDS (systemd), TMPDIR, PATH and every --env NAME.
// A plain value: copyable, no I/O after construction.
#ifndef FCGI_RUN_LAUNCHER_CONFIG_ENVIRONMENT_H_
#define FCGI_RUN_LAUNCHER_CONFIG_ENVIRONMENT_H_

#include <sys/types.h>

#include <functional>
#include <initializer_list>
#include <map>
#include <string>
#include <string_view>
#include <utility>

namespace fcgi {

class Environment {
 public:
  Environment() = default;
  // `pid`: the process the environment belongs to (what LISTEN_PID must name).
  explicit Environment(std::initializer_list<std::pair<const std::string, std::string>> vars, pid_t pid = 0)
      : vars_(vars), pid_(pid) {}

  // The variables of `environ` ("NAME=VALUE" strings, null-terminated array)
  // and getpid().
  static Environment FromProcess(const char* const* environ);

  // The value of `name`, nullptr when it is not set.
  const std::string* Find(std::string_view name) const {
    auto it = vars_.find(name);
    return it == vars_.end() ? nullptr : &it->second;
  }
  // The value of `name`; "" when it is not set (or set to "").
  std::string Value(std::string_view name) const {
    const std::string* v = Find(name);
    return v == nullptr ? "" : *v;
  }
  pid_t pid() const { return pid_; }

 private:
  using Vars = std::map<std::string, std::string, std::less<>>;
  Environment(Vars vars, pid_t pid) : vars_(std::move(vars)), pid_(pid) {}
  Vars vars_;
  pid_t pid_ = 0;
};

}  // namespace fcgi

#endif  // FCGI_RUN_LAUNCHER_CONFIG_ENVIRONMENT_H_
