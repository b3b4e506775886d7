#include "core/wait_status.h"

#include <string.h>
#include <sys/wait.h>

namespace fcgi {

std::string DescribeWaitStatus(int raw_status) {
  if (WIFEXITED(raw_status)) return "exit code " + std::to_string(WEXITSTATUS(raw_status));
  if (WIFSIGNALED(raw_status)) {
    int sig = WTERMSIG(raw_status);
    const char* abbrev = sigabbrev_np(sig);
    std::string s = "killed by ";
    s += abbrev != nullptr ? std::string("SIG") + abbrev : "signal " + std::to_string(sig);
    if (WCOREDUMP(raw_status)) s += " (core dumped)";
    return s;
  }
  return "wait status " + std::to_string(raw_status);
}

uint32_t AppStatusFromWaitStatus(int raw_status) {
  if (WIFEXITED(raw_status)) return static_cast<uint32_t>(WEXITSTATUS(raw_status));
  if (WIFSIGNALED(raw_status)) return 128u + static_cast<uint32_t>(WTERMSIG(raw_status));
  return 255;
}

}  // namespace fcgi
