#include "tests/support/test_paths.h"

#include <cstdlib>

namespace fcgi::test {

namespace {
std::string FromEnvOr(const char* name, const char* fallback) {
  const char* v = std::getenv(name);
  return (v != nullptr && *v != '\0') ? v : fallback;
}
}  // namespace

std::string FcgiRunBinary() { return FromEnvOr("FCGI_RUN_BINARY", FCGI_RUN_BINARY); }
std::string CompatLibrary() { return FromEnvOr("FCGI_RUN_COMPAT_LIBRARY", FCGI_RUN_COMPAT_LIBRARY); }
std::string ExamplesDir() { return FromEnvOr("FCGI_RUN_EXAMPLES_DIR", FCGI_RUN_EXAMPLES_DIR); }
std::string SourceDir() { return FCGI_RUN_SOURCE_DIR; }
std::string Example(const std::string& name) { return ExamplesDir() + "/" + name; }

}  // namespace fcgi::test
