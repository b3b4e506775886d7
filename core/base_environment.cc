#include "core/base_environment.h"

namespace fcgi {

NameValuePairs BaseEnvironment(const std::vector<std::string>& env_options, const EnvLookup& lookup) {
  NameValuePairs env;
  bool have_path = false;
  for (const std::string& e : env_options) {
    const size_t eq = e.find('=');
    std::string name = e.substr(0, eq);
    if (eq != std::string::npos) {
      env.emplace_back(name, e.substr(eq + 1));
    } else if (const char* v = lookup(name.c_str())) {
      env.emplace_back(name, v);
    }
    if (name == "PATH") have_path = true;
  }
  if (!have_path) {
    const char* path = lookup("PATH");
    env.emplace_back("PATH", path != nullptr ? std::string(path) : std::string(kDefaultPath));
  }
  return env;
}

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
