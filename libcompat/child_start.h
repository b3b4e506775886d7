// What happens in a freshly forked child of the parked process, between fork()
// and the program's main(): see control_protocol.h for the resulting state.
//
// Split from fork_server.cc so the parked loop and the child's set-up read as
// one concept each. libc only; nothing here allocates or can throw.
#ifndef FCGI_RUN_LIBCOMPAT_CHILD_START_H_
#define FCGI_RUN_LIBCOMPAT_CHILD_START_H_

#include <signal.h>
#include <sys/types.h>

#include <cstdint>

#include "libcompat/fork_server.h"

namespace fcgi_compat {

// The program's own signal state at main(), before the parked loop changed it,
// so that each child gets it back.
struct ChildContext {
  sigset_t mask;             // the signal mask at main()
  struct sigaction sigchld;  // the SIGCHLD disposition at main()
  pid_t parked_pid;
};

// Records the program's signal state in *context, then blocks SIGCHLD and the
// go signal (GoSignal) and sets SIGCHLD's disposition to SIG_DFL (an inherited
// SIG_IGN would auto-reap children and lose their wait status). Returns 0 or
// an errno.
int SaveChildContext(ChildContext* context);

// The go: a child waits for it before main() (StartChild), and the parked
// process sends it (kill(2)) once the child's STARTED is on the control
// socket. So a child whose STARTED was never sent never ran main(): if the
// parked process dies first, the child dies of PR_SET_PDEATHSIG(SIGKILL)
// while it waits, and the launcher may run that request elsewhere. A
// real-time signal, blocked in the parked process (so in each child from
// fork() on) and taken with sigwaitinfo(2): it never reaches the program.
int GoSignal();

// open(path, O_PATH | O_DIRECTORY | O_CLOEXEC): the RUN cwd, validated in the
// parent so that a bad directory becomes FAILED instead of a broken child.
// Returns the fd or -1 with errno set.
int OpenDirectory(const char* path);

struct ChildRequest {
  int* fds;                  // kRunFdCount fds: stdin, stdout, stderr (owned)
  int dir_fd;                // from OpenDirectory(), or -1 to keep the cwd (owned)
  char** envp;               // the new environ, null-terminated
  const char* env_block;     // the RUN's env block ("NAME=VALUE\0" entries) envp points into
  uint32_t env_bytes;
  bool parent_death_signal;  // PR_SET_PDEATHSIG(SIGKILL)
};

// In the child, right after fork(): waits for the go (GoSignal), closes the
// parked loop's fds (close_fds), builds the request's process state and runs
// exit(program.main(...)) (or program.resume(request) for a parked script).
[[noreturn]] void StartChild(const ChildContext& context, const ChildRequest& request, const int* close_fds,
                             int close_count, const ParkedProgram& program);

}  // namespace fcgi_compat

#endif  // FCGI_RUN_LIBCOMPAT_CHILD_START_H_
