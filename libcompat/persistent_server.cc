// The persistent loop: see persistent_server.h.
#include "libcompat/persistent_server.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <link.h>
#include <poll.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdio_ext.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>

#include "core/control_protocol.h"
#include "libcompat/child_start.h"
#include "libcompat/control_receive.h"
#include "libcompat/persistent_exit.h"
#include "libcompat/persistent_state.h"
#include "libcompat/persistent_stdio.h"
#include "libcompat/run_message.h"
#include "libcompat/signal_watch.h"

extern char** environ;

namespace fcgi_compat {
namespace {

namespace proto = fcgi::compat;

struct Worker {
  KeptFd control;  // the control socket
  KeptFd devnull;  // /dev/null (O_RDWR): fds 0-2 between requests
  pid_t pid;
  ParkedProgram program;
  ProcessSnapshot snapshot;
  ProcFiles proc;
  char** parked_environ;
  uint32_t requests;
  int baseline_fds;
  StdStreams streams;  // stdin, stdout, stderr as they were at the park
  // Resident output (control_protocol.h): fds 1 and 2 are pipes the launcher
  // reads across requests; their identities, to notice that the program
  // replaced or closed them.
  bool resident;
  KeptFd out, err;
  bool libstdcxx;  // libstdc++ is loaded (HELLO's kHelloLibStdCxx)
  // A request left the worker unable to put itself back in order (it closed
  // fds the worker needs): REPORT said kReportWorkerRetires, and every RUN
  // from now on fails with ESHUTDOWN until SHUTDOWN.
  bool retiring;
  // The last RUN cwd found to be the parked directory (no stat(2) next time).
  char parked_cwd[kMaxCwdBytes + 1];
  uint32_t parked_cwd_bytes;
  alignas(8) unsigned char buffer[proto::kMaxMessageBytes];
  RunView run;  // the RUN being served, decoded from buffer
};

Worker g_worker;

void Send(const Worker& w, const void* message, size_t length) {
  for (;;) {
    ssize_t n = send(w.control.fd, message, length, MSG_NOSIGNAL);
    if (n >= 0) return;
    if (errno == EINTR) continue;
    _exit(0);  // the launcher is gone
  }
}

// REPORT then EXITED, two messages in one sendmmsg(2): one system call and one
// wake-up of the launcher instead of two.
void SendReportAndExited(const Worker& w, const proto::ReportMessage& report,
                         const proto::ExitedMessage& exited) {
  iovec iov[2] = {{const_cast<proto::ReportMessage*>(&report), sizeof report},
                  {const_cast<proto::ExitedMessage*>(&exited), sizeof exited}};
  mmsghdr messages[2] = {};
  for (int i = 0; i < 2; ++i) {
    messages[i].msg_hdr.msg_iov = &iov[i];
    messages[i].msg_hdr.msg_iovlen = 1;
  }
  unsigned sent = 0;
  while (sent < 2) {
    int n = sendmmsg(w.control.fd, messages + sent, 2 - sent, MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<unsigned>(n);
    } else if (n < 0 && errno != EINTR) {
      _exit(0);  // the launcher is gone
    }
  }
}

void SendFailed(const Worker& w, uint64_t id, int error) {
  proto::FailedMessage m{proto::kFailed, static_cast<uint32_t>(error), id};
  Send(w, &m, sizeof m);
}

int LibStdCxxCallback(dl_phdr_info* info, size_t, void* found) {
  if (info->dlpi_name != nullptr && strstr(info->dlpi_name, "libstdc++") != nullptr) {
    *static_cast<bool*>(found) = true;
    return 1;
  }
  return 0;
}

bool LibStdCxxLoaded() {
  bool found = false;
  dl_iterate_phdr(LibStdCxxCallback, &found);
  return found;
}

// A request's environment: its own part of an arena mapping, kept until the
// worker exits.
struct EnvBlock {
  char** envp = nullptr;
  const char* begin = nullptr;  // the request's part of the arena
  const char* end = nullptr;
};

// Where request environments are kept (programs keep getenv() pointers, so a
// request's strings are never reused): requests are packed one after another
// in mappings of kArenaBytes, instead of one mmap(2) per request. A full
// mapping stays mapped; a new one is made.
constexpr size_t kArenaBytes = 256 * 1024;
struct EnvArena {
  char* next = nullptr;
  size_t left = 0;
};
EnvArena g_env_arena;

void* ArenaAllocate(size_t bytes) {
  bytes = (bytes + 15) & ~static_cast<size_t>(15);
  if (bytes > g_env_arena.left) {
    size_t size = bytes > kArenaBytes ? bytes : kArenaBytes;
    void* memory = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (memory == MAP_FAILED) return nullptr;
    g_env_arena = EnvArena{static_cast<char*>(memory), size};
  }
  void* result = g_env_arena.next;
  g_env_arena.next += bytes;
  g_env_arena.left -= bytes;
  return result;
}

// Copies the RUN's env block into the arena and builds the envp array there
// (any number of entries: the arena grows). Returns 0 or an errno for FAILED.
int KeepEnvironment(const RunView& run, EnvBlock* out) {
  size_t array_bytes = (run.env_entries + 1) * sizeof(char*);
  void* memory = ArenaAllocate(array_bytes + run.env_bytes);
  if (memory == nullptr) return errno;
  char** envp = static_cast<char**>(memory);
  char* strings = static_cast<char*>(memory) + array_bytes;
  if (run.env_bytes > 0) memcpy(strings, run.env, run.env_bytes);
  SplitEnvBlock(run, strings, envp);
  *out = EnvBlock{envp, static_cast<const char*>(memory), strings + run.env_bytes};
  return 0;
}

// False when the program replaced environ or one of its entries (setenv,
// putenv, unsetenv or a direct assignment).
bool EnvironIntact(const EnvBlock& env) {
  if (environ != env.envp) return false;
  for (char** p = environ; *p != nullptr; ++p) {
    if (*p < env.begin || *p >= env.end) return false;
  }
  return true;
}

// Records fds 1 and 2 as the resident output; false if not both are pipes.
bool KeepOutputResident(Worker& w) {
  struct stat out, err;
  if (fstat(1, &out) != 0 || fstat(2, &err) != 0 || !S_ISFIFO(out.st_mode) || !S_ISFIFO(err.st_mode))
    return false;
  w.out = KeptFd{1, out.st_dev, out.st_ino};
  w.err = KeptFd{2, err.st_dev, err.st_ino};
  return true;
}

// Ends the request's stdio: flushes what the program left buffered (unless
// it was _exit), then back to the idle state: stdin on /dev/null, stdout and
// stderr on /dev/null too unless they stay the resident output (still the
// pipes the launcher gave and no process of the request left that may hold
// them), the standard streams open on fds 0-2 again if the request closed
// them (persistent_stdio.h), buffers empty, flags clear. Returns
// kReportOutputReleased when resident output was given up,
// kReportStdioReopened, and sets w.retiring when /dev/null or a stream could
// not be reopened. The flush comes this late so that the
// program's output and EXITED reach the launcher together (one wake-up);
// REQUIRES: signals blocked (a SIGPIPE it raises stays pending, and
// FinishRestore discards it).
uint32_t EndStdio(Worker& w, bool children_left, bool flush) {
  uint32_t flags = 0;
  // The program may have closed the kept /dev/null (its number may be the
  // program's now): a new one.
  if (!StillKept(w.devnull) && !KeepFd(open("/dev/null", O_RDWR | O_CLOEXEC), &w.devnull)) w.retiring = true;
  dup2(w.devnull.fd, 0);
  if (w.resident && (children_left || !StillKept(w.out) || !StillKept(w.err))) {
    w.resident = false;
    flags |= proto::kReportOutputReleased;
  }
  if (flush) fflush(nullptr);
  if (!w.resident) {
    dup2(w.devnull.fd, 1);
    dup2(w.devnull.fd, 2);
  }
  bool failed = false;
  flags |= RepairStdStreams(w.streams, &failed);
  if (failed) w.retiring = true;
  PurgeStdio();
  return flags;
}

// True when `path` is the directory the worker is in between requests (the
// snapshot's, where every request's clean-up puts it back): the usual RUN, whose
// cwd is the program's directory, then needs no open/fchdir/close.
// The answer is remembered for the same path (a directory replaced under a
// running worker is not noticed; the program file changing is, and replaces
// the worker).
bool IsParkedDirectory(Worker& w, const char* path, uint32_t bytes) {
  if (bytes == w.parked_cwd_bytes && memcmp(path, w.parked_cwd, bytes) == 0) return true;
  struct stat st;
  if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode) || st.st_dev != w.snapshot.cwd.dev ||
      st.st_ino != w.snapshot.cwd.ino) {
    return false;
  }
  memcpy(w.parked_cwd, path, bytes);
  w.parked_cwd_bytes = bytes;
  return true;
}

// Runs main() for one request; returns the raw wait status to report and
// fills the REPORT.
int RunMain(Worker& w, char** envp, proto::ReportMessage* report) {
  static sigjmp_buf main_exit;  // static: must outlive main()'s frames
  ResetExit();
  volatile int code = 0;
  if (sigsetjmp(main_exit, 1) == 0) {
    ArmExit(&main_exit, w.pid);
    code = w.program.main(w.program.argc, w.program.argv, envp);
    DisarmExit();
  } else {
    code = InterceptedExitCode();
    report->flags |= proto::kReportExitIntercepted;
  }
  DisarmExit();
  // A child the program forked came back here: it must end as a child would.
  if (getpid() != w.pid) RealExit(code);
  if (InterceptedExitKind() == ExitKind::kUnderscoreExit) {
    report->flags |= proto::kReportOutputDiscarded;
    DropRequestAtexitHandlers();
    __fpurge(stdout);
    __fpurge(stderr);
  } else {
    // Buffered output is flushed later (HandleRun), right before EXITED.
    report->atexit_handlers = RunRequestAtexitHandlers(w.pid);
  }
  return W_EXITCODE(code & 0xff, 0);
}

// One request's cycle: environ becomes the
// request's, main() runs, then with all signals blocked (until FinishRestore)
// zombies are reaped, the REPORT's counts taken and the snapshot restored.
// Stdio is left to the caller (EndStdio). Returns the raw
// wait status.
int RunAndRestore(Worker& w, const EnvBlock& env, proto::ReportMessage* report, bool* children_left) {
  __fpurge(stdin);
  clearerr(stdin);
  clearerr(stdout);
  clearerr(stderr);
  environ = env.envp;
  optind = 0;  // glibc: full getopt re-initialisation
  opterr = 1;
  ++w.requests;

  int wait_status = RunMain(w, env.envp, report);

  sigset_t request_mask;
  BlockAllSignals(&request_mask);
  *children_left = false;
  report->zombies_reaped = ReapZombies(children_left);
  if (*children_left) report->flags |= proto::kReportChildrenLeft;
  if (!EnvironIntact(env)) report->flags |= proto::kReportEnvironChanged;
  // Unread request body: purge it so that request N+1 never sees it.
  if (stdin->_IO_read_ptr != stdin->_IO_read_end) report->flags |= proto::kReportStdinUnread;
  // The program may have closed the worker's own fds (as daemons close every
  // fd from 3 up) and opened its own files at their numbers.
  CheckProcFiles(&w.proc);
  if (!StillKept(w.snapshot.cwd)) {  // no way back to the parked directory
    w.snapshot.cwd = KeptFd{};
    w.retiring = true;
  }
  ProcessUsage usage = ReadProcessUsage(&w.proc);
  int fds_now = CountOpenFds(&w.proc);
  report->threads = usage.threads > 0 ? static_cast<uint32_t>(usage.threads) : 0;
  report->open_fds = fds_now > 0 ? static_cast<uint32_t>(fds_now) : 0;
  report->baseline_fds = static_cast<uint32_t>(w.baseline_fds);
  report->rss_kib = usage.rss_kib;
  report->requests = w.requests;
  environ = w.parked_environ;
  optind = 0;
  report->flags |=
      RestoreSnapshot(w.snapshot, request_mask, SignalDispositionsTouched(), IntervalTimersTouched());
  ForgetSignalChanges();  // after the restore, whose own sigaction() calls set it
  return wait_status;
}

void HandleRun(Worker& w, const ReceivedMessage& m) {
  RunView& run = w.run;
  int error = DecodeRun(m, w.buffer, RunLoop::kPersistent, &run);
  if (error == 0 && w.retiring) error = ESHUTDOWN;
  if (error == 0 && (run.flags & proto::kRunKeepOutput) != 0 && !w.resident) {
    error = EBADF;  // no resident output to keep (the launcher missed a release)
  }
  const uint32_t cwd_bytes = static_cast<uint32_t>(strlen(run.cwd));
  int dir_fd = -1;
  if (error == 0 && cwd_bytes > 0 && !IsParkedDirectory(w, run.cwd, cwd_bytes) &&
      (dir_fd = OpenDirectory(run.cwd)) < 0) {
    error = errno;
  }
  EnvBlock env;
  if (error == 0) error = KeepEnvironment(run, &env);
  ReleaseRunEnv(&run);  // copied into the arena, or an error
  if (error != 0) {
    CloseFds(m.fds, run.fd_count);
    if (dir_fd >= 0) close(dir_fd);
    return SendFailed(w, run.request_id, error);
  }
  const int* fds = m.fds;
  const uint32_t flags = run.flags;
  // dup2 clears FD_CLOEXEC. Without kRunStdinNull / kRunKeepOutput the fds
  // replace what 0 / 1 and 2 hold (/dev/null, or the resident pipes).
  int next = 0;
  if ((flags & proto::kRunStdinNull) == 0) dup2(fds[next++], 0);
  if ((flags & proto::kRunKeepOutput) == 0) {
    dup2(fds[next++], 1);
    dup2(fds[next++], 2);
    w.resident = (flags & proto::kRunResidentOutput) != 0 && KeepOutputResident(w);
  }
  CloseFds(fds, run.fd_count);
  if (dir_fd >= 0) {
    fchdir(dir_fd);
    close(dir_fd);
  }
  proto::ReportMessage report{};
  report.type = proto::kReport;
  report.request_id = run.request_id;
  if ((flags & proto::kRunNoStarted) == 0) {
    proto::StartedMessage started{proto::kStarted, static_cast<uint32_t>(w.pid), run.request_id};
    Send(w, &started, sizeof started);
  }
  bool children_left = false;
  int wait_status = RunAndRestore(w, env, &report, &children_left);
  // The output last, right before EXITED (see EndStdio), signals still blocked.
  report.flags |= EndStdio(w, children_left, (report.flags & proto::kReportOutputDiscarded) == 0);
  // The program closed the control socket (its number may be the program's
  // now): nothing can be reported. The worker ends with the request's exit
  // status, which the launcher then takes as the request's, as after a crash.
  if (!StillKept(w.control)) _exit(WEXITSTATUS(wait_status));
  if (w.retiring) report.flags |= proto::kReportWorkerRetires;
  proto::ExitedMessage exited{proto::kExited, static_cast<uint32_t>(w.pid), run.request_id, wait_status, 0};
  SendReportAndExited(w, report, exited);
  FinishRestore(w.snapshot);
}

// Blocks for one command and serves it.
void ServeOne(Worker& w) {
  ReceivedMessage m;
  ssize_t n = ReceiveControlMessage(w.control.fd, w.buffer, sizeof w.buffer, 0, &m);
  if (n < 0 && errno == EINTR) return;
  if (n <= 0) _exit(0);  // EOF or a broken socket: the launcher is gone
  if (m.type == proto::kRun) return HandleRun(w, m);
  CloseFds(m.fds, m.nfds);
  if (m.type == proto::kShutdown) {
    proto::ByeMessage bye{proto::kBye, static_cast<uint32_t>(w.pid)};
    Send(w, &bye, sizeof bye);
    _exit(0);
  }  // SIGNAL and unknown types: nothing to do between requests
}

}  // namespace

bool PersistentModeRequested() {
  const char* mode = getenv(proto::kModeEnv);
  return mode != nullptr && strcmp(mode, proto::kModePersistent) == 0;
}

[[noreturn]] void RunPersistentServer(int control_fd, const ParkedProgram& program) {
  Worker& w = g_worker;
  w.program = program;
  w.pid = getpid();
  w.parked_environ = environ;
  if (!KeepFd(control_fd, &w.control) || !KeepFd(open("/dev/null", O_RDWR | O_CLOEXEC), &w.devnull))
    RefuseAndExit(control_fd, proto::kRefuseSetup, errno);
  SaveStdStreams(&w.streams);
  // Orphans of the program's processes become the worker's children, so that
  // a request that left any process running is noticed (ReapZombies), and
  // reaped.
  prctl(PR_SET_CHILD_SUBREAPER, 1UL, 0UL, 0UL, 0UL);
  int error = TakeSnapshot(&w.snapshot);
  if (error != 0) RefuseAndExit(control_fd, proto::kRefuseSetup, error);
  ResolveRealExitFunctions();
  SetProgramImage(reinterpret_cast<const void*>(program.main));
  OpenProcFiles(&w.proc);
  w.baseline_fds = CountOpenFds(&w.proc);
  ForgetSignalChanges();  // the snapshot holds what the program set before main
  w.libstdcxx = LibStdCxxLoaded();
  uint32_t flags = proto::kHelloPersistent | (program.bind_now ? proto::kHelloBindNow : 0u) |
                   (w.libstdcxx ? proto::kHelloLibStdCxx : 0u);
  proto::HelloMessage hello{proto::kHello,
                            proto::kProtocolVersion,
                            static_cast<uint32_t>(w.pid),
                            flags,
                            1,
                            static_cast<uint32_t>(proto::kMaxMessageBytes)};
  Send(w, &hello, sizeof hello);
  for (;;) ServeOne(w);
}

}  // namespace fcgi_compat
