// What start-up validates before it binds anything, every error at once.
// `fcgi-run --check-config [--config FILE] [OPTIONS] [PROGRAM]` prints them;
// Server::Init runs the same CheckConfig first and refuses to start on any
// error, so the two cannot disagree. ParseConfig has already turned the
// options and the config file into a Config (its errors exit 2 before this
// runs). The checks, without binding, dropping privileges or running anything:
//   - PROGRAM: exists, is a regular file, is executable (ResolveProgramTarget);
//     in dispatcher mode --root is a directory and each --program an
//     executable file (MakeScriptPolicy);
//   - each --listen address as OpenListener would take it (CheckListenAddress:
//     a unix socket's directory exists and its path is free or a stale
//     socket; a TCP host resolves; fd:N is a listening socket); --http hosts;
//   - without --listen: systemd's sockets are listening sockets; with none of
//     them and no listening socket on fd 0, a warning (a web server that
//     spawns fcgi-run hands it one; start-up fails without);
//   - --user, --program-user, --socket-owner name existing users/groups, and
//     the run-as-root rule (--allow-root) is satisfied;
//   - the --log, --access-log and --slow-log files can be opened for append;
//   - --parent-pipe-fd N is an open descriptor.
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

// The programs' part alone (PROGRAM, or --root and --program): what a SIGHUP
// reload checks before it applies a new configuration.
void CheckPrograms(const Config& config, std::vector<std::string>* errors);

// `fcgi-run --check-config`: checks parsed.config, also when ParseConfig
// found errors (what could be parsed is checked, so that one run reports
// everything). Prints ParseConfig's warnings and the check's as "warning:
// ..." lines, then "configuration OK" to `out` (returns 0), or ParseConfig's
// errors and the check's as "error: ..." lines to `err` (returns 2).
int RunConfigCheck(const ParseResult& parsed, std::ostream& out, std::ostream& err);

}  // namespace fcgi

#endif  // FCGI_RUN_LAUNCHER_CHECKS_CONFIG_CHECK_H_
