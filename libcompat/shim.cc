// libfcgi-run-compat.so: the entry point preloaded into a CGI program.
//
// The library exports one symbol, __libc_start_main. The program's _start calls
// it with the program's main(); we forward to glibc's real one (dlsym
// RTLD_NEXT: glibc 2.36 exports it as GLIBC_2.34 and GLIBC_2.2.5 at the same
// address, so one unversioned definition serves old and new binaries) but hand
// it ParkingMain instead. glibc then runs the program's constructors and calls
// ParkingMain, which is the park point:
//   - FCGI_RUN_COMPAT_FD unset: not started by fcgi-run; call main() untouched.
//   - otherwise remove LD_PRELOAD, LD_BIND_NOW and every FCGI_RUN_* variable
//     from environ and check the control fd; with FCGI_RUN_COMPAT_PARK (a
//     script parked after its compilation, script_park.h) call main() and let
//     the script's module or bootstrap park it; else check that the process has exactly one
//     thread, flush stdio and enter the fork server (fork_server.h) or, with
//     FCGI_RUN_COMPAT_MODE=persistent, the persistent loop
//     (persistent_server.h); neither returns. The shim also interposes
//     exit/_exit/_Exit/__cxa_atexit (persistent_exit.h), which forward to libc
//     unless a persistent request is running, and the functions that set
//     signal dispositions (signal_watch.h), which note it and forward. When parking is refused, main() never
//     runs (a run with /dev/null stdin and a neutral environment would be a spurious request).
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/control_protocol.h"
#include "libcompat/fork_server.h"
#include "libcompat/persistent_exit.h"
#include "libcompat/persistent_server.h"
#include "libcompat/persistent_state.h"
#include "libcompat/script_park.h"
#include "libcompat/signal_watch.h"

extern char** environ;

namespace fcgi_compat {
namespace {

namespace proto = fcgi::compat;

using InitFunction = void (*)(void);
using StartMainFunction = int (*)(MainFunction, int, char**, InitFunction, InitFunction, InitFunction, void*);

MainFunction g_program_main = nullptr;

void WriteStderr(const char* text) {
  ssize_t ignored = write(STDERR_FILENO, text, strlen(text));
  (void)ignored;
}

bool StartsWith(const char* s, const char* prefix) { return strncmp(s, prefix, strlen(prefix)) == 0; }

// True for the variables the launcher set for the shim only.
bool IsLaunchVariable(const char* entry) {
  return StartsWith(entry, "LD_PRELOAD=") || StartsWith(entry, "LD_BIND_NOW=") ||
         StartsWith(entry, proto::kLaunchVarPrefix);
}

// Compacts environ in place (what unsetenv does, without a name buffer).
void ScrubEnvironment() {
  if (environ == nullptr) return;
  char** out = environ;
  for (char** in = environ; *in != nullptr; ++in) {
    if (!IsLaunchVariable(*in)) *out++ = *in;
  }
  *out = nullptr;
}

// Decimal fd number; -1 when malformed.
int ParseFd(const char* text) {
  if (text == nullptr || *text == '\0') return -1;
  long value = 0;
  for (const char* p = text; *p != '\0'; ++p) {
    if (*p < '0' || *p > '9' || value > 1000000) return -1;
    value = value * 10 + (*p - '0');
  }
  return static_cast<int>(value);
}

int ParkingMain(int argc, char** argv, char** envp) {
  const char* fd_text = getenv(proto::kControlFdEnv);
  if (fd_text == nullptr) return g_program_main(argc, argv, envp);
  int control_fd = ParseFd(fd_text);
  const char* bind_now = getenv("LD_BIND_NOW");
  ParkedProgram program{g_program_main, argc, argv, bind_now != nullptr && *bind_now != '\0'};
  const bool persistent = PersistentModeRequested();
  const ScriptLanguage script = ScriptParkRequested();
  ScrubEnvironment();
  if (control_fd < 0 || !IsControlSocket(control_fd)) {
    WriteStderr("fcgi-run-compat: FCGI_RUN_COMPAT_FD is not a SOCK_SEQPACKET socket; not parking\n");
    _exit(proto::kRefusedExitStatus);
  }
  fcntl(control_fd, F_SETFD, FD_CLOEXEC);
  if (script != ScriptLanguage::kNone) {  // the script's module or bootstrap parks it once compiled
    PrepareScriptPark(control_fd, script, program.bind_now);
    return g_program_main(argc, argv, envp);
  }
  int threads = CountDirectoryEntries("/proc/self/task");  // one entry per thread
  if (threads < 0) RefuseAndExit(control_fd, proto::kRefuseSetup, static_cast<unsigned>(-threads));
  if (threads != 1) RefuseAndExit(control_fd, proto::kRefuseThreads, static_cast<unsigned>(threads));
  fflush(nullptr);  // nothing a constructor buffered may reach a request's stdout
  if (persistent) RunPersistentServer(control_fd, program);
  RunForkServer(control_fd, program);
}

}  // namespace
}  // namespace fcgi_compat

extern "C" __attribute__((visibility("default"))) int __libc_start_main(
    fcgi_compat::MainFunction main, int argc, char** argv, fcgi_compat::InitFunction init,
    fcgi_compat::InitFunction fini, fcgi_compat::InitFunction rtld_fini, void* stack_end) {
  auto real = reinterpret_cast<fcgi_compat::StartMainFunction>(dlsym(RTLD_NEXT, "__libc_start_main"));
  if (real == nullptr) {
    fcgi_compat::WriteStderr("fcgi-run-compat: cannot find the real __libc_start_main\n");
    _exit(127);
  }
  fcgi_compat::g_program_main = main;
  fcgi_compat::ResolveRealExitFunctions();
  fcgi_compat::ResolveRealSignalFunctions();
  return real(fcgi_compat::ParkingMain, argc, argv, init, fini, rtld_fini, stack_end);
}
