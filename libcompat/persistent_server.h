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

#include "core/control_protocol.h"
#include "libcompat/fork_server.h"

namespace fcgi_compat {

// True when FCGI_RUN_COMPAT_MODE asks for the persistent loop (read before
// the launch variables are scrubbed).
bool PersistentModeRequested();

// REQUIRES: as RunForkServer (connected SOCK_SEQPACKET control_fd, one thread,
// stdio flushed). Never returns.
[[noreturn]] void RunPersistentServer(int control_fd, const ParkedProgram& program);

}  // namespace fcgi_compat

#endif  // FCGI_RUN_LIBCOMPAT_PERSISTENT_SERVER_H_
