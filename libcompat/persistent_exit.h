// Exit interception for libcompat's persistent mode.
//
// The shim defines exit(), _exit(), _Exit() and __cxa_atexit() (exported:
// being preloaded, these definitions come before libc's for the program and
// every library it loads). Outside a request, or in any process or thread
// other than the worker's main thread (a child the program forked, a thread
// it started), they forward to libc's own functions, so fork mode and plain
// runs see no difference. While a request is armed (ArmExit), in the worker's
// main thread:
//   - exit(code) and _exit/_Exit(code) record the code and siglongjmp() to
//     the target given to ArmExit (works from signal handlers: sigsetjmp saved
//     the mask). No destructor, no libc exit handler runs.
//   - atexit(fn) called by the program itself (it reaches __cxa_atexit with a
//     null argument and the program's __dso_handle) keeps fn in
//     a per-request list instead of libc's: RunRequestAtexitHandlers() calls
//     them, newest first, at the end of that request. C++ static objects
//     (non-null argument) still register with libc, as they must.
// Nothing here allocates; the list has a fixed size (beyond it, handlers go
// to libc and would run only when the worker exits).
#ifndef FCGI_RUN_LIBCOMPAT_PERSISTENT_EXIT_H_
#define FCGI_RUN_LIBCOMPAT_PERSISTENT_EXIT_H_

#include <setjmp.h>
#include <sys/types.h>

namespace fcgi_compat {

enum class ExitKind { kNone, kExit, kUnderscoreExit };

// Looks up libc's exit functions (dlsym RTLD_NEXT). Call once, early, before
// any request (from __libc_start_main); the interposers work without it too.
void ResolveRealExitFunctions();

// Records which loaded object is the program (any address inside it, e.g.
// its main): atexit() calls from there are the ones kept per request.
void SetProgramImage(const void* address_in_program);

// From now until DisarmExit, exit paths of thread `worker_pid` jump to
// *target with value 1. REQUIRES: target stays valid while armed.
void ArmExit(sigjmp_buf* target, pid_t worker_pid);
void DisarmExit();
// What the last intercepted exit was (kNone after ResetExit) and its code.
ExitKind InterceptedExitKind();
int InterceptedExitCode();
void ResetExit();

// Runs the atexit handlers registered since the last call, newest first
// (an exit() inside one ends that handler only), and forgets them.
// Returns how many ran.
unsigned RunRequestAtexitHandlers(pid_t worker_pid);
// Forgets them without running (_exit semantics). Returns how many.
unsigned DropRequestAtexitHandlers();

// libc's exit(), bypassing interception (a forked child that returned from main).
[[noreturn]] void RealExit(int code);

}  // namespace fcgi_compat

#endif  // FCGI_RUN_LIBCOMPAT_PERSISTENT_EXIT_H_
