// Where the tests find the things they drive: the built fcgi-run binary, the
// compat library, the built examples, the source tree. Set at build time by
// tests/CMakeLists.txt; FCGI_RUN_BINARY in the environment overrides the
// binary (used to run the end-to-end suite against a sanitizer build).
#ifndef FCGI_RUN_TESTS_SUPPORT_TEST_PATHS_H_
#define FCGI_RUN_TESTS_SUPPORT_TEST_PATHS_H_

#include <string>

namespace fcgi::test {

std::string FcgiRunBinary();
std::string CompatLibrary();
std::string ExamplesDir();  // built examples (compiled programs and scripts)
std::string SourceDir();
std::string Example(const std::string& name);  // ExamplesDir() + "/" + name

}  // namespace fcgi::test

#endif  // FCGI_RUN_TESTS_SUPPORT_TEST_PATHS_H_
