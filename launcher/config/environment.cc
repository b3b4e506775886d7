#include "launcher/config/environment.h"

#include <unistd.h>

namespace fcgi {

Environment Environment::FromProcess(const char* const* environ) {
  std::map<std::string, std::string, std::less<>> vars;
  for (const char* const* e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string_view entry(*e);
    const size_t eq = entry.find('=');
    if (eq == std::string_view::npos || eq == 0) continue;
    vars.emplace(std::string(entry.substr(0, eq)), std::string(entry.substr(eq + 1)));
  }
  return Environment(std::move(vars), getpid());
}

}  // namespace fcgi
