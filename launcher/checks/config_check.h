// `fcgi-run --check-config [--config FILE] [OPTIONS] [PROGRAM]`: validates what
// start-up validates, without binding, dropping privileges or running anything.
// ParseCommandLine has already checked the options and the config file (its
// errors exit 2 before this runs); this adds what Server::Init would find:
//   - PROGRAM: exists, is a regular file, is executable (or, in dispatcher
//     mode, --root is a directory and each --program an executable file);
//   - --listen / --http address syntax, and that a unix socket's directory exists;
//   - --user, --program-user, --socket-owner name existing users/groups, and
//     the run-as-root policy (--allow-root) is satisfied;
//   - FCGI_WEB_SERVER_ADDRS parses; the --log file can be opened for append.
// Warnings (not errors): fork/persistent mode without libfcgi-run-compat.so
// (start-up falls back to exec mode), --syslog socket missing (lines dropped).
#ifndef FCGI_RUN_LAUNCHER_CHECKS_CONFIG_CHECK_H_
#define FCGI_RUN_LAUNCHER_CHECKS_CONFIG_CHECK_H_

#include <ostream>
#include <string>
#include <vector>

#include "launcher/config/options.h"

namespace fcgi {

struct ConfigCheckResult {
  std::vector<std::string> errors;
  std::vector<std::string> warnings;
};

// Every check above, collecting all errors (not only the first).
ConfigCheckResult CheckConfig(const Config& config);

// Prints "warning: ..." lines, then "configuration OK" to `out` (returns 0),
// or "error: ..." lines to `err` (returns 2).
int RunConfigCheck(const Config& config, std::ostream& out, std::ostream& err);

}  // namespace fcgi

#endif  // FCGI_RUN_LAUNCHER_CHECKS_CONFIG_CHECK_H_
