// Fork-mode pre-flight: can this program be parked with libcompat preloaded?
//
// A preloaded library is ignored by static (and static-pie) binaries and by
// set-id or capability-carrying binaries (secure-execution mode), which would
// then run main() once with the parking environment. This inspector rules them
// out before the launcher tries, by looking at the files only:
//   - scripts: "#!" is followed to the interpreter (nested up to 4 levels, as
//     the kernel does); "#!/usr/bin/env NAME" also resolves NAME through the
//     search path. Every ELF on the way must pass the checks below (the shim
//     attaches to the first one: for env, env itself is parked and NAME is
//     exec'd per request, which still works but saves less);
//   - each ELF file: regular, executable, no set-uid / set-gid bit, no
//     security.capability xattr, has PT_INTERP (dynamically linked).
// Passing is necessary, not sufficient: the launcher must still wait for the
// shim's HELLO (with a timeout) before trusting the program as parked.
//
// Pure parsing lives in core/elf_parse.h; this file does the I/O.
#ifndef FCGI_RUN_LAUNCHER_SHIM_ELF_INSPECTOR_H_
#define FCGI_RUN_LAUNCHER_SHIM_ELF_INSPECTOR_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/elf_parse.h"

namespace fcgi {

struct ParkCheck {
  bool can_park = false;
  // When !can_park: why, naming the file: "/bin/busybox: static binary (no PT_INTERP)",
  // "/usr/bin/passwd: set-uid", "/x: file capabilities", "/x: not an ELF file or script".
  std::string reason;
  // The files examined in order: the program, then each interpreter (and the
  // env command's target). The shim attaches to the first ELF in the chain.
  std::vector<std::string> chain;
  // The program's own "#!" line (nullopt: not a script), for script park.
  std::optional<Shebang> shebang;
};

// Inspects `program` (a path; not searched in PATH). search_path is the PATH
// value used to resolve "#!/usr/bin/env NAME". Never throws; I/O errors become
// a reason ("open(2) /x: No such file or directory").
ParkCheck InspectForForkMode(const std::string& program, std::string_view search_path);

}  // namespace fcgi

#endif  // FCGI_RUN_LAUNCHER_SHIM_ELF_INSPECTOR_H_
