// The persistent loop of libcompat (FCGI_RUN_COMPAT_MODE=persistent): the
// parked process itself runs main() once per RUN, one request at a time, and
// is put back in order between requests (persistent_state.h, persistent_exit.h;
// the protocol is in control_protocol.h).
//
// Per RUN: the request's fds become 0, 1, 2; environ becomes the request's
// block (mapped memory that stays alive until the worker exits, because
// programs keep getenv() pointers); the cwd is the RUN's; optind = 0; then
// STARTED{getpid()} and main(argc, argv, environ) under sigsetjmp. When main
// returns or exit is intercepted: atexit handlers of the request run (not
// after _exit), stdio is flushed (exit) or purged (_exit), stdin's buffer is
// purged, 0-2 go back to /dev/null, error/EOF flags are cleared, signals,
// timers, cwd and umask are restored, zombies reaped, then REPORT and
// EXITED{W_EXITCODE(code, 0)}. A child forked by the program that returns from
// main() really exits. Global variables are NOT restored: that is the user's
// bargain (docs/guide/modes.md "Persistent mode").
//
// Constraints as for the fork server: libc only; the only memory taken is the
// per-request environment mappings.
#ifndef FCGI_RUN_LIBCOMPAT_PERSISTENT_SERVER_H_
#define FCGI_RUN_LIBCOMPAT_PERSISTENT_SERVER_H_

#include <cstdint>

#include "libcompat/control_protocol.h"
#include "libcompat/fork_server.h"

namespace fcgi_compat {

// True when FCGI_RUN_COMPAT_MODE asks for the persistent loop (read before
// the launch variables are scrubbed).
bool PersistentModeRequested();

// REQUIRES: as RunForkServer (connected SOCK_SEQPACKET control_fd, one thread,
// stdio flushed). Never returns.
[[noreturn]] void RunPersistentServer(int control_fd, const ParkedProgram& program);

// Direct mode (direct_server.h) runs each request through the same cycle as
// a RUN. REQUIRES: inside RunPersistentServer's loop (after DIRECT), fds 0-2
// hold the request's stdin and output. `env_block`: "NAME=VALUE\0" entries,
// copied into the worker's environment arena. Runs main(), restores the
// process, flushes the program's stdio (not after _exit) and purges the
// buffers; signals are unblocked again on return. Returns the raw wait
// status and fills *report as a REPORT would be, *children_left when a
// process the request started still runs; -1 with errno when the
// environment could not be kept (main() did not run).
int RunDirectRequest(const char* env_block, uint32_t env_bytes, fcgi::compat::ReportMessage* report,
                     bool* children_left);
// Open fds of the worker now (/proc/self/fd).
int PersistentOpenFds();
// Direct mode: when the program left `sig` at its default disposition,
// installs `handler` (all signals blocked while it runs) and makes it part of
// the snapshot, so every request's restore keeps it. False when the program
// had its own disposition (left alone) or sigaction(2) failed.
bool InstallWorkerSignalHandler(int sig, void (*handler)(int));

}  // namespace fcgi_compat

#endif  // FCGI_RUN_LIBCOMPAT_PERSISTENT_SERVER_H_
