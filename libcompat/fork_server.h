// The parked loop of libcompat's fork mode (runs inside the foreign program).
//
// After the shim has taken over main() and checked that the process is
// single-threaded, RunForkServer() owns the process: it says HELLO on the
// control socket and then serves RUN / SIGNAL / SHUTDOWN commands until the
// launcher stops it (core/control_protocol.h documents the messages and
// what a child inherits). It never returns: the parked process ends with
// _exit(0) (the program's atexit handlers never run in the parked process),
// and every child ends with exit(main(...)), or, for a script parked after
// its compilation (script_park.h), resumes the script through `resume`.
//
// Constraints (the shim lives inside someone else's program): libc only, no
// heap allocation (all state is in static storage of fixed size), no signal
// handlers (SIGCHLD is taken through a signalfd), nothing that can throw, and
// the launcher is only ever written with MSG_DONTWAIT: replies wait in a
// bounded queue, and commands are read only while the queue has room for
// every reply they and the running children can still cause.
#ifndef FCGI_RUN_LIBCOMPAT_FORK_SERVER_H_
#define FCGI_RUN_LIBCOMPAT_FORK_SERVER_H_

namespace fcgi_compat {

using MainFunction = int (*)(int, char**, char**);
struct ChildRequest;  // child_start.h

struct ParkedProgram {
  MainFunction main = nullptr;  // the program's own main()
  int argc = 0;
  char** argv = nullptr;  // children get exactly this argv
  bool bind_now = false;  // LD_BIND_NOW was set at start-up (HELLO flag)
  // Script park: runs in each child instead of main(), once the request's
  // process state is in place; never returns (script_park.h). HELLO then
  // carries kHelloScript.
  void (*resume)(const ChildRequest& request) = nullptr;
};

// REQUIRES: control_fd is a connected SOCK_SEQPACKET unix socket; the process
// has exactly one thread; stdio has been flushed. Never returns.
[[noreturn]] void RunForkServer(int control_fd, const ParkedProgram& program);

// True when fd is a SOCK_SEQPACKET socket (what the control fd must be).
bool IsControlSocket(int fd);

// Sends REFUSED{reason, error} (best effort, bounded wait) and _exit()s with
// fcgi::compat::kRefusedExitStatus without running main().
[[noreturn]] void RefuseAndExit(int control_fd, unsigned reason, unsigned error);

}  // namespace fcgi_compat

#endif  // FCGI_RUN_LIBCOMPAT_FORK_SERVER_H_
