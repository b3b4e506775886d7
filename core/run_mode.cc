#include "core/run_mode.h"

namespace fcgi {

const char* RunModeName(RunMode mode) {
  switch (mode) {
    case RunMode::kExec:
      return "exec";
    case RunMode::kFork:
      return "fork";
    case RunMode::kPersistent:
      return "persistent";
  }
  return "?";
}

bool ParseRunMode(std::string_view name, RunMode* out) {
  for (RunMode m : {RunMode::kExec, RunMode::kFork, RunMode::kPersistent}) {
    if (name == RunModeName(m)) {
      *out = m;
      return true;
    }
  }
  return false;
}

}  // namespace fcgi
