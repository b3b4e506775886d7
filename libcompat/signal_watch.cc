// Disposition-change tracking: see signal_watch.h.
#include "libcompat/signal_watch.h"

#include <dlfcn.h>
#include <signal.h>
#include <sys/time.h>
#include <unistd.h>

namespace fcgi_compat {
namespace {

using SigactionFunction = int (*)(int, const struct sigaction*, struct sigaction*);
using SignalFunction = sighandler_t (*)(int, sighandler_t);
using SigignoreFunction = int (*)(int);
using SiginterruptFunction = int (*)(int, int);
using AlarmFunction = unsigned (*)(unsigned);
using UalarmFunction = useconds_t (*)(useconds_t, useconds_t);
using SetitimerFunction = int (*)(int, const struct itimerval*, struct itimerval*);

// Starts set: whatever ran before the first look is unknown.
volatile sig_atomic_t g_touched = 1;
volatile sig_atomic_t g_timers_touched = 1;

SigactionFunction g_sigaction = nullptr;
SigactionFunction g_underscore_sigaction = nullptr;
SignalFunction g_signal = nullptr;
SignalFunction g_sysv_signal = nullptr;
SignalFunction g_underscore_sysv_signal = nullptr;
SignalFunction g_sigset = nullptr;
SigignoreFunction g_sigignore = nullptr;
SiginterruptFunction g_siginterrupt = nullptr;
AlarmFunction g_alarm = nullptr;
UalarmFunction g_ualarm = nullptr;
SetitimerFunction g_setitimer = nullptr;

template <typename F>
F Next(const char* name) {
  return reinterpret_cast<F>(dlsym(RTLD_NEXT, name));
}

// Looks `*slot` up on first use (a library constructor may run before
// __libc_start_main resolved everything).
template <typename F>
F Real(F* slot, const char* name) {
  if (*slot == nullptr) *slot = Next<F>(name);
  return *slot;
}

}  // namespace

void ResolveRealSignalFunctions() {
  Real(&g_sigaction, "sigaction");
  Real(&g_underscore_sigaction, "__sigaction");
  Real(&g_signal, "signal");
  Real(&g_sysv_signal, "sysv_signal");
  Real(&g_underscore_sysv_signal, "__sysv_signal");
  Real(&g_sigset, "sigset");
  Real(&g_sigignore, "sigignore");
  Real(&g_siginterrupt, "siginterrupt");
  Real(&g_alarm, "alarm");
  Real(&g_ualarm, "ualarm");
  Real(&g_setitimer, "setitimer");
}

bool SignalDispositionsTouched() { return g_touched != 0; }
bool IntervalTimersTouched() { return g_timers_touched != 0; }
void ForgetSignalChanges() {
  g_touched = 0;
  g_timers_touched = 0;
}

}  // namespace fcgi_compat

namespace fc = fcgi_compat;

extern "C" {

// A query (act == nullptr) changes nothing.
__attribute__((visibility("default"))) int sigaction(int sig, const struct sigaction* act,
                                                     struct sigaction* old) noexcept {
  if (act != nullptr) fc::g_touched = 1;
  return fc::Real(&fc::g_sigaction, "sigaction")(sig, act, old);
}

__attribute__((visibility("default"))) int __sigaction(int sig, const struct sigaction* act,
                                                       struct sigaction* old) noexcept {
  if (act != nullptr) fc::g_touched = 1;
  return fc::Real(&fc::g_underscore_sigaction, "__sigaction")(sig, act, old);
}

__attribute__((visibility("default"))) sighandler_t signal(int sig, sighandler_t handler) noexcept {
  fc::g_touched = 1;
  return fc::Real(&fc::g_signal, "signal")(sig, handler);
}

// bsd_signal and ssignal are aliases of signal in glibc: here too.
__attribute__((visibility("default"), alias("signal"))) sighandler_t bsd_signal(
    int sig, sighandler_t handler) noexcept;
__attribute__((visibility("default"), alias("signal"))) sighandler_t ssignal(int sig,
                                                                             sighandler_t handler) noexcept;

__attribute__((visibility("default"))) sighandler_t sysv_signal(int sig, sighandler_t handler) noexcept {
  fc::g_touched = 1;
  return fc::Real(&fc::g_sysv_signal, "sysv_signal")(sig, handler);
}

__attribute__((visibility("default"))) sighandler_t __sysv_signal(int sig, sighandler_t handler) noexcept {
  fc::g_touched = 1;
  return fc::Real(&fc::g_underscore_sysv_signal, "__sysv_signal")(sig, handler);
}

__attribute__((visibility("default"))) sighandler_t sigset(int sig, sighandler_t handler) noexcept {
  fc::g_touched = 1;
  return fc::Real(&fc::g_sigset, "sigset")(sig, handler);
}

__attribute__((visibility("default"))) int sigignore(int sig) noexcept {
  fc::g_touched = 1;
  return fc::Real(&fc::g_sigignore, "sigignore")(sig);
}

__attribute__((visibility("default"))) int siginterrupt(int sig, int flag) noexcept {
  fc::g_touched = 1;
  return fc::Real(&fc::g_siginterrupt, "siginterrupt")(sig, flag);
}

__attribute__((visibility("default"))) unsigned alarm(unsigned seconds) noexcept {
  fc::g_timers_touched = 1;
  return fc::Real(&fc::g_alarm, "alarm")(seconds);
}

__attribute__((visibility("default"))) useconds_t ualarm(useconds_t value, useconds_t interval) noexcept {
  fc::g_timers_touched = 1;
  return fc::Real(&fc::g_ualarm, "ualarm")(value, interval);
}

__attribute__((visibility("default"))) int setitimer(__itimer_which_t which, const struct itimerval* value,
                                                     struct itimerval* old) noexcept {
  fc::g_timers_touched = 1;
  return fc::Real(&fc::g_setitimer, "setitimer")(which, value, old);
}

}  // extern "C"
