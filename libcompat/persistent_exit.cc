// Exit interception: see persistent_exit.h.
#include "libcompat/persistent_exit.h"

#include <dlfcn.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace fcgi_compat {
namespace {

using ExitFunction = void (*)(int);
using CxaAtexitFunction = int (*)(void (*)(void*), void*, void*);

constexpr unsigned kMaxRequestHandlers = 64;

ExitFunction g_real_exit = nullptr;
ExitFunction g_real_underscore_exit = nullptr;
ExitFunction g_real_capital_exit = nullptr;
CxaAtexitFunction g_real_cxa_atexit = nullptr;

// Written by the worker thread only; read from its signal handlers.
sigjmp_buf* volatile g_target = nullptr;
volatile pid_t g_worker = 0;
volatile sig_atomic_t g_kind = 0;  // ExitKind
volatile int g_code = 0;

const void* g_program_base = nullptr;  // load address of the main executable

void (*g_handlers[kMaxRequestHandlers])(void*);
volatile unsigned g_handler_count = 0;

// True when the calling thread is the armed worker's main thread.
bool Armed() {
  return g_target != nullptr && static_cast<pid_t>(syscall(SYS_gettid)) == g_worker && getpid() == g_worker;
}

// atexit() from the program itself: its __dso_handle is null (non-PIE) or
// lies in the main executable (PIE). A library's atexit is left to libc: its
// handler may belong to state the library keeps across requests.
bool FromProgram(void* dso) {
  if (dso == nullptr) return true;
  Dl_info info;
  return g_program_base != nullptr && dladdr(dso, &info) != 0 && info.dli_fbase == g_program_base;
}

template <typename F>
F Next(const char* name) {
  return reinterpret_cast<F>(dlsym(RTLD_NEXT, name));
}

[[noreturn]] void Jump(ExitKind kind, int code) {
  g_code = code;
  g_kind = static_cast<sig_atomic_t>(kind);
  sigjmp_buf* target = g_target;
  g_target = nullptr;
  siglongjmp(*target, 1);
}

[[noreturn]] void RawExit(int code) {
  syscall(SYS_exit_group, code);
  for (;;) {
  }
}

}  // namespace

void ResolveRealExitFunctions() {
  if (g_real_exit == nullptr) g_real_exit = Next<ExitFunction>("exit");
  if (g_real_underscore_exit == nullptr) g_real_underscore_exit = Next<ExitFunction>("_exit");
  if (g_real_capital_exit == nullptr) g_real_capital_exit = Next<ExitFunction>("_Exit");
  if (g_real_cxa_atexit == nullptr) g_real_cxa_atexit = Next<CxaAtexitFunction>("__cxa_atexit");
}

void SetProgramImage(const void* address_in_program) {
  Dl_info info;
  if (dladdr(address_in_program, &info) != 0) g_program_base = info.dli_fbase;
}

void ArmExit(sigjmp_buf* target, pid_t worker_pid) {
  g_worker = worker_pid;
  g_target = target;
}

void DisarmExit() { g_target = nullptr; }
ExitKind InterceptedExitKind() { return static_cast<ExitKind>(g_kind); }
int InterceptedExitCode() { return g_code; }

void ResetExit() {
  g_kind = static_cast<sig_atomic_t>(ExitKind::kNone);
  g_code = 0;
}

unsigned RunRequestAtexitHandlers(pid_t worker_pid) {
  const unsigned registered = g_handler_count;
  while (g_handler_count > 0) {
    const unsigned index = g_handler_count - 1;
    g_handler_count = index;
    void (*fn)(void*) = g_handlers[index];
    sigjmp_buf handler_exit;
    if (sigsetjmp(handler_exit, 1) == 0) {
      ArmExit(&handler_exit, worker_pid);
      fn(nullptr);
    }
    DisarmExit();
  }
  return registered;
}

unsigned DropRequestAtexitHandlers() {
  unsigned n = g_handler_count;
  g_handler_count = 0;
  return n;
}

[[noreturn]] void RealExit(int code) {
  if (g_real_exit == nullptr) ResolveRealExitFunctions();
  if (g_real_exit != nullptr) g_real_exit(code);
  RawExit(code);
}

}  // namespace fcgi_compat

namespace fc = fcgi_compat;

extern "C" {

__attribute__((visibility("default"), noreturn)) void exit(int code) noexcept {
  if (fc::Armed()) fc::Jump(fc::ExitKind::kExit, code);
  fc::RealExit(code);
}

__attribute__((visibility("default"), noreturn)) void _exit(int code) noexcept {
  if (fc::Armed()) fc::Jump(fc::ExitKind::kUnderscoreExit, code);
  if (fc::g_real_underscore_exit != nullptr) fc::g_real_underscore_exit(code);
  fc::RawExit(code);
}

__attribute__((visibility("default"), noreturn)) void _Exit(int code) noexcept {
  if (fc::Armed()) fc::Jump(fc::ExitKind::kUnderscoreExit, code);
  if (fc::g_real_capital_exit != nullptr) fc::g_real_capital_exit(code);
  fc::RawExit(code);
}

__attribute__((visibility("default"))) int __cxa_atexit(void (*fn)(void*), void* arg, void* dso) noexcept {
  if (arg == nullptr && fc::Armed() && fc::FromProgram(dso) &&
      fc::g_handler_count < fc::kMaxRequestHandlers) {
    fc::g_handlers[fc::g_handler_count] = fn;
    fc::g_handler_count = fc::g_handler_count + 1;
    return 0;
  }
  if (fc::g_real_cxa_atexit == nullptr) fc::ResolveRealExitFunctions();
  return fc::g_real_cxa_atexit(fn, arg, dso);
}

}  // extern "C"
