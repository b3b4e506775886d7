#include "core/run_mode.h"

#include <catch2/catch.hpp>

namespace fcgi {
namespace {

TEST_CASE("run modes: names read back", "[run_mode]") {
  for (RunMode m : {RunMode::kExec, RunMode::kFork, RunMode::kPersistent}) {
    RunMode parsed = m == RunMode::kExec ? RunMode::kFork : RunMode::kExec;
    REQUIRE(ParseRunMode(RunModeName(m), &parsed));
    CHECK(parsed == m);
  }
  RunMode untouched = RunMode::kFork;
  for (const char* bad : {"", "Fork", "direct", "persistent "}) CHECK_FALSE(ParseRunMode(bad, &untouched));
  CHECK(untouched == RunMode::kFork);
}

}  // namespace
}  // namespace fcgi
