// `fcgi-run --check PROGRAM [--request FILE...]`: is persistent mode safe for
// this program? For a Perl or Python script (which persistent mode does not
// run): is parking it after its compilation (fork mode's default for it,
// launcher/shim/script_park.h) safe? That check runs each request twice in exec
// mode (a fresh interpreter: the reference) and three times through fork
// mode with the script compiled once, and compares status, stdout and
// stderr (status and headers only for output that differs between the two
// fresh runs). Its verdict: 0 the same answers; 1 an answer differed (state
// computed while compiling reached a request: serve it with
// --compile-per-request); 2 the check could not run (the script could not be
// parked after compilation, a request failed in exec mode, ...).
//
// The persistent-mode check:
// Runs the sample requests (a default GET plus each --request file, format in
// core/check_request.h) through fork mode twice each (the reference:
// fresh state every time; output that differs between those two runs is
// compared by status and headers only), then through ONE persistent worker,
// all requests in turn, three rounds, with recycling off so that what would
// trigger it is observed instead. It then compares every persistent output
// with the fork-mode reference and collects the shim's REPORTs, and prints in
// plain words what it saw, what the shim repaired, what a serving worker
// would be recycled for (with the real --max-requests / --max-rss), and its
// verdict.
//
// It starts programs exactly as a real start would: the same root refusal
// and --user / --program-user handling (ApplyPrivileges: the check refuses
// to run programs as root without --allow-root), the same --rlimit-* limits
// and the same --env environment.
//
// Verdict (exit status): 0 safe; 1 not safe (an output differed: global state
// carried over; a crash that fork mode did not have; threads left running);
// 2 the check could not run (program missing, not parkable, a script of
// another language, workers that never start (threads at main()), a request file unreadable,
// fork mode itself failing, programs that would run as root). Warnings that do not
// make it unsafe: fd or memory growth (recycling handles them), exit() in a
// C++ program (recycles the worker each time: correct but slower).
#ifndef FCGI_RUN_LAUNCHER_CHECKS_SAFETY_CHECK_H_
#define FCGI_RUN_LAUNCHER_CHECKS_SAFETY_CHECK_H_

#include <iosfwd>

#include "launcher/config/options.h"

namespace fcgi {

inline constexpr int kCheckSafe = 0;
inline constexpr int kCheckNotSafe = 1;
inline constexpr int kCheckCouldNotRun = 2;

// Runs the check for config.program with config.check_requests; writes the
// report to `report`. Returns kCheckSafe, kCheckNotSafe or kCheckCouldNotRun.
int RunSafetyCheck(const Config& config, std::ostream& report);

}  // namespace fcgi

#endif  // FCGI_RUN_LAUNCHER_CHECKS_SAFETY_CHECK_H_
