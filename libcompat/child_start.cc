// A child's set-up between fork() and main(): see child_start.h.
#include "libcompat/child_start.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdio_ext.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "core/control_protocol.h"

extern char** environ;

namespace fcgi_compat {
namespace {

namespace proto = fcgi::compat;

// Exit status of a child whose set-up failed before main() (a dup2 failure;
// practically unreachable). Same convention as a shell's "cannot execute".
constexpr int kSetupFailedStatus = 126;

// Puts request fds on 0, 1, 2 without clobbering one another, then closes the
// originals. Received fds carry FD_CLOEXEC (MSG_CMSG_CLOEXEC); the dup2'd
// copies do not, exactly like stdio in exec mode.
bool InstallStdio(int* fds) {
  // A received fd below 3 (possible only if the parked process had closed its
  // own stdio) could be overwritten by an earlier dup2: move it out of the way.
  for (int i = 0; i < proto::kRunFdCount; ++i) {
    if (fds[i] < proto::kRunFdCount && fds[i] != i) {
      int moved = fcntl(fds[i], F_DUPFD_CLOEXEC, proto::kRunFdCount);
      if (moved < 0) return false;
      fds[i] = moved;
    }
  }
  for (int i = 0; i < proto::kRunFdCount; ++i) {
    if (fds[i] == i) {
      if (fcntl(i, F_SETFD, 0) != 0) return false;
    } else if (dup2(fds[i], i) != i) {
      return false;
    }
  }
  for (int i = 0; i < proto::kRunFdCount; ++i) {
    if (fds[i] >= proto::kRunFdCount) close(fds[i]);
  }
  return true;
}

// Blocks until the parked process (context.parked_pid) sends the go.
void WaitForGo(const ChildContext& context) {
  sigset_t go;
  sigemptyset(&go);
  sigaddset(&go, GoSignal());
  for (;;) {
    siginfo_t info;
    if (sigwaitinfo(&go, &info) == GoSignal() && info.si_pid == context.parked_pid) return;
    // EINTR, or the same signal from someone else: not the go.
  }
}

}  // namespace

int GoSignal() { return SIGRTMIN + 2; }

int SaveChildContext(ChildContext* context) {
  sigset_t blocked;
  sigemptyset(&blocked);
  sigaddset(&blocked, SIGCHLD);
  sigaddset(&blocked, GoSignal());
  if (sigprocmask(SIG_BLOCK, &blocked, &context->mask) != 0) return errno;
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  sigemptyset(&dfl.sa_mask);
  if (sigaction(SIGCHLD, &dfl, &context->sigchld) != 0) return errno;
  context->parked_pid = getpid();
  return 0;
}

int OpenDirectory(const char* path) { return open(path, O_PATH | O_DIRECTORY | O_CLOEXEC); }

[[noreturn]] void StartChild(const ChildContext& context, const ChildRequest& request, const int* close_fds,
                             int close_count, const ParkedProgram& program) {
  // Own process group first, so that SIGNAL (killpg) reaches it and anything
  // it starts as soon as the parent has the pid.
  setpgid(0, 0);
  // Dies with the parked process at least until the go: a child whose
  // STARTED was never sent must not run main().
  prctl(PR_SET_PDEATHSIG, SIGKILL, 0UL, 0UL, 0UL);
  if (getppid() != context.parked_pid) _exit(kSetupFailedStatus);  // parent already gone
  WaitForGo(context);
  if (!request.parent_death_signal) prctl(PR_SET_PDEATHSIG, 0UL, 0UL, 0UL, 0UL);
  for (int i = 0; i < close_count; ++i) close(close_fds[i]);
  if (!InstallStdio(request.fds)) _exit(kSetupFailedStatus);
  if (request.dir_fd >= 0) {
    if (fchdir(request.dir_fd) != 0) _exit(kSetupFailedStatus);
    close(request.dir_fd);
  }
  environ = request.envp;
  // stdin of the parked process was /dev/null: forget anything a constructor
  // read from it (buffer and EOF flag). stdout/stderr were flushed at park.
  __fpurge(stdin);
  clearerr(stdin);
  sigaction(SIGCHLD, &context.sigchld, nullptr);
  sigprocmask(SIG_SETMASK, &context.mask, nullptr);
  if (program.resume != nullptr) program.resume(request);
  exit(program.main(program.argc, program.argv, environ));
}

}  // namespace fcgi_compat
