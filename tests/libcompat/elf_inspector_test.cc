// launcher/elf_inspector on real files: the test programs built beside this
// driver (dynamic, static, script) and system files (set-uid, env scripts).
#include "launcher/shim/elf_inspector.h"

#include <sys/stat.h>
#include <unistd.h>
#include <catch2/catch.hpp>

#include <cstdio>
#include <fstream>

#include "tests/libcompat/compat_harness.h"

namespace fcgi::test {
namespace {

constexpr const char* kPath = "/usr/bin:/bin";

// Writes an executable script into the build tree and returns its path.
std::string WriteScript(const std::string& name, const std::string& text) {
  std::string path = CompatTestProgram(name);
  std::ofstream(path) << text;
  chmod(path.c_str(), 0755);
  return path;
}

TEST_CASE("elf_inspector: dynamic ELF can park", "[elf_inspector]") {
  ParkCheck check = InspectForForkMode(CompatTestProgram("test_cgi"), kPath);
  CHECK(check.can_park);
  CHECK(check.reason.empty());
  CHECK(check.chain == std::vector<std::string>{CompatTestProgram("test_cgi")});
}

TEST_CASE("elf_inspector: static ELF cannot park", "[elf_inspector]") {
  std::string program = CompatTestProgram("test_cgi_static");
  ParkCheck check = InspectForForkMode(program, kPath);
  CHECK_FALSE(check.can_park);
  CHECK(check.reason == program + ": static binary (no PT_INTERP)");
}

TEST_CASE("elf_inspector: scripts follow #! to the interpreter", "[elf_inspector]") {
  std::string script = CompatTestProgram("test_script.sh");
  ParkCheck check = InspectForForkMode(script, kPath);
  CHECK(check.can_park);
  CHECK(check.chain == std::vector<std::string>{script, "/bin/sh"});

  std::string env_script = WriteScript("env_script.sh", "#!/usr/bin/env sh\necho hi\n");
  check = InspectForForkMode(env_script, kPath);
  CHECK(check.can_park);
  CHECK(check.chain == std::vector<std::string>{env_script, "/usr/bin/env", "/usr/bin/sh"});

  std::string missing = WriteScript("env_missing.sh", "#!/usr/bin/env no-such-command-x\n");
  check = InspectForForkMode(missing, kPath);
  CHECK_FALSE(check.can_park);
  CHECK(check.reason == "no-such-command-x: not found in PATH");

  std::string to_static =
      WriteScript("static_interp.sh", "#!" + CompatTestProgram("test_cgi_static") + " -x\n");
  check = InspectForForkMode(to_static, kPath);
  CHECK_FALSE(check.can_park);
  CHECK(check.reason.find("static binary (no PT_INTERP)") != std::string::npos);
}

TEST_CASE("elf_inspector: set-uid, non-executable, missing and non-ELF files", "[elf_inspector]") {
  if (access("/usr/bin/passwd", F_OK) == 0) {
    ParkCheck check = InspectForForkMode("/usr/bin/passwd", kPath);
    CHECK_FALSE(check.can_park);
    CHECK(check.reason == "/usr/bin/passwd: set-uid");
  }
  ParkCheck check = InspectForForkMode("/nonexistent/prog", kPath);
  CHECK_FALSE(check.can_park);
  CHECK(check.reason.rfind("open(2) /nonexistent/prog: ", 0) == 0);

  std::string text = WriteScript("not_elf", "just text\n");
  check = InspectForForkMode(text, kPath);
  CHECK_FALSE(check.can_park);
  CHECK(check.reason == text + ": not an ELF file or script");

  std::string setgid = WriteScript("setgid_script", "#!/bin/sh\n");
  REQUIRE(chmod(setgid.c_str(), 02755) == 0);
  check = InspectForForkMode(setgid, kPath);
  CHECK_FALSE(check.can_park);
  CHECK(check.reason == setgid + ": set-gid");

  std::string plain = WriteScript("not_executable", "#!/bin/sh\n");
  REQUIRE(chmod(plain.c_str(), 0644) == 0);
  check = InspectForForkMode(plain, kPath);
  CHECK_FALSE(check.can_park);
  CHECK(check.reason.rfind("access(2) X_OK " + plain + ": ", 0) == 0);

  check = InspectForForkMode("/tmp", kPath);
  CHECK_FALSE(check.can_park);
  CHECK(check.reason == "/tmp: not a regular file");
}

}  // namespace
}  // namespace fcgi::test
