// The ways fcgi-run runs a program (--mode), as one value instead of a word
// compared in many places. Pure.
#ifndef FCGI_RUN_CORE_RUN_MODE_H_
#define FCGI_RUN_CORE_RUN_MODE_H_

#include <string_view>

namespace fcgi {

// exec: fork+exec per request; fork: parked at main() by libcompat, forked per
// request; persistent: main() called again and again in long-lived workers.
enum class RunMode { kExec, kFork, kPersistent };

// "exec", "fork", "persistent".
const char* RunModeName(RunMode mode);
// Parses one of the names above (exactly); false (and *out untouched) otherwise.
bool ParseRunMode(std::string_view name, RunMode* out);

}  // namespace fcgi

#endif  // FCGI_RUN_CORE_RUN_MODE_H_
