// Notes whether signal dispositions may have changed, so that persistent
// mode's restore compares the 64 dispositions (64 rt_sigaction(2) calls, the
// largest cost of a request's clean-up) only after a request that changed one.
//
// The shim defines libc's disposition-setting functions (sigaction,
// __sigaction, signal, bsd_signal, ssignal, sysv_signal, __sysv_signal,
// sigset, sigignore, siginterrupt; exported: being preloaded, they come before
// libc's for the program and every library it loads). Each sets a flag and
// forwards to libc's own function (dlsym RTLD_NEXT), in every process, so fork
// mode and plain runs see no difference. Likewise alarm, ualarm and setitimer
// (the interval timers whose signals the restore cancels: 3 setitimer(2)
// calls per request otherwise). What the flags cannot see: a program that
// calls rt_sigaction or setitimer directly (syscall(2) or its own assembly),
// bypassing libc; persistent mode is for compiled C/C++ programs,
// which go through libc. Async-signal-safe (a handler may call sigaction);
// nothing allocates.
#ifndef FCGI_RUN_LIBCOMPAT_SIGNAL_WATCH_H_
#define FCGI_RUN_LIBCOMPAT_SIGNAL_WATCH_H_

namespace fcgi_compat {

// Looks up libc's functions. Call once, early (from __libc_start_main); the
// interposers look them up themselves if called before.
void ResolveRealSignalFunctions();

// True when a disposition-setting function ran since the last
// ForgetSignalChanges() (or since the process started).
bool SignalDispositionsTouched();
// True when alarm, ualarm or setitimer (arming or not) ran since the last
// ForgetSignalChanges() (or since the process started).
bool IntervalTimersTouched();
void ForgetSignalChanges();  // both flags

}  // namespace fcgi_compat

#endif  // FCGI_RUN_LIBCOMPAT_SIGNAL_WATCH_H_
