#include "core/base_environment.h"

namespace fcgi {

std::vector<std::string> EnvEntries(const NameValuePairs& env) {
  std::vector<std::string> entries;
  entries.reserve(env.size());
  for (const auto& [name, value] : env) entries.push_back(name + "=" + value);
  return entries;
}

std::string SearchPathOf(const std::vector<std::string>& env) {
  for (const std::string& e : env) {
    if (e.starts_with("PATH=")) return e.substr(5);
  }
  return std::string(kDefaultPath);
}

}  // namespace fcgi
