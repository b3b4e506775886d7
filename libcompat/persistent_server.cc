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
#include "libcompat/signal_watch.h"

extern char** environ;

namespace fcgi_compat {
namespace {

namespace proto = fcgi::compat;

struct Worker {
  int control_fd;
  int devnull;
  pid_t pid;
  ParkedProgram program;
  ProcessSnapshot snapshot;
  ProcFiles proc;
  char** parked_environ;
  uint32_t requests;
  int baseline_fds;
  // Resident output (control_protocol.h): fds 1 and 2 are pipes the launcher
  // reads across requests; their identities, to notice that the program
  // replaced or closed them.
  bool resident;
  dev_t out_dev, err_dev;
  ino_t out_ino, err_ino;
  bool libstdcxx;  // libstdc++ is loaded (HELLO's kHelloLibStdCxx)
  // The last RUN cwd found to be the parked directory (no stat(2) next time).
  char parked_cwd[4097];
  uint32_t parked_cwd_bytes;
  alignas(8) unsigned char buffer[proto::kMaxMessageBytes];
};

Worker g_worker;

void Send(const Worker& w, const void* message, size_t length) {
  for (;;) {
    ssize_t n = send(w.control_fd, message, length, MSG_NOSIGNAL);
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
    int n = sendmmsg(w.control_fd, messages + sent, 2 - sent, MSG_NOSIGNAL);
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

void CloseAll(const int* fds, int n) {
  for (int i = 0; i < n; ++i) close(fds[i]);
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

// Copies the env block into the arena and builds the envp array there.
// Returns 0 or an errno for FAILED.
int KeepEnvironment(const char* block, uint32_t size, EnvBlock* out) {
  uint32_t entries = 0;
  if (size > 0 && block[size - 1] != '\0') return EPROTO;
  for (uint32_t i = 0; i < size; i += static_cast<uint32_t>(strlen(block + i)) + 1) {
    if (block[i] == '\0') return EPROTO;
    if (++entries > proto::kMaxEnvEntries) return E2BIG;
  }
  size_t array_bytes = (entries + 1) * sizeof(char*);
  void* memory = ArenaAllocate(array_bytes + size);
  if (memory == nullptr) return errno;
  char** envp = static_cast<char**>(memory);
  char* strings = static_cast<char*>(memory) + array_bytes;
  if (size > 0) memcpy(strings, block, size);
  uint32_t n = 0;
  for (uint32_t i = 0; i < size; i += static_cast<uint32_t>(strlen(strings + i)) + 1) envp[n++] = strings + i;
  envp[n] = nullptr;
  *out = EnvBlock{envp, static_cast<const char*>(memory), strings + size};
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

bool SameFile(int fd, dev_t dev, ino_t ino) {
  struct stat st;
  return fstat(fd, &st) == 0 && st.st_dev == dev && st.st_ino == ino;
}

// Records fds 1 and 2 as the resident output; false if not both are pipes.
bool KeepOutputResident(Worker& w) {
  struct stat out, err;
  if (fstat(1, &out) != 0 || fstat(2, &err) != 0 || !S_ISFIFO(out.st_mode) || !S_ISFIFO(err.st_mode))
    return false;
  w.out_dev = out.st_dev;
  w.out_ino = out.st_ino;
  w.err_dev = err.st_dev;
  w.err_ino = err.st_ino;
  return true;
}

// Stdio back to empty: buffers purged, error and EOF flags clear.
void PurgeStdio() {
  __fpurge(stdin);
  __fpurge(stdout);
  __fpurge(stderr);
  clearerr(stdin);
  clearerr(stdout);
  clearerr(stderr);
}

// Ends the request's stdio: flushes what the program left buffered (unless
// it was _exit), then back to the idle state: stdin on /dev/null, stdout and
// stderr on /dev/null too unless they stay the resident output (still the
// pipes the launcher gave and no process of the request left that may hold
// them), buffers empty, flags clear. Returns kReportOutputReleased when
// resident output was given up. The flush comes this late so that the
// program's output and EXITED reach the launcher together (one wake-up);
// REQUIRES: signals blocked (a SIGPIPE it raises stays pending, and
// FinishRestore discards it).
uint32_t EndStdio(Worker& w, bool children_left, bool flush) {
  uint32_t flags = 0;
  dup2(w.devnull, 0);
  if (w.resident &&
      (children_left || !SameFile(1, w.out_dev, w.out_ino) || !SameFile(2, w.err_dev, w.err_ino))) {
    w.resident = false;
    flags |= proto::kReportOutputReleased;
  }
  if (flush) fflush(nullptr);
  if (!w.resident) {
    dup2(w.devnull, 1);
    dup2(w.devnull, 2);
  }
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
  if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode) || st.st_dev != w.snapshot.cwd_dev ||
      st.st_ino != w.snapshot.cwd_ino) {
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

int ExpectedFds(uint32_t flags) {
  return proto::kRunFdCount - ((flags & proto::kRunStdinNull) != 0 ? 1 : 0) -
         ((flags & proto::kRunKeepOutput) != 0 ? 2 : 0);
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

void HandleRun(Worker& w, size_t length, int* fds, int nfds, bool fds_truncated) {
  proto::RunHeader h;
  if (length < sizeof h) {
    CloseAll(fds, nfds);
    return SendFailed(w, 0, EPROTO);
  }
  memcpy(&h, w.buffer, sizeof h);
  int error = 0;
  char cwd[4097];
  if (static_cast<uint64_t>(h.env_bytes) + h.cwd_bytes + sizeof h != length) {
    error = EPROTO;
  } else if (nfds != ExpectedFds(h.flags) || fds_truncated) {
    error = EBADMSG;
  } else if ((h.flags & proto::kRunKeepOutput) != 0 && !w.resident) {
    error = EBADF;  // no resident output to keep (the launcher missed a release)
  } else if (h.cwd_bytes >= sizeof cwd) {
    error = ENAMETOOLONG;
  }
  int dir_fd = -1;
  if (error == 0 && h.cwd_bytes > 0) {
    memcpy(cwd, w.buffer + sizeof h + h.env_bytes, h.cwd_bytes);
    cwd[h.cwd_bytes] = '\0';
    if (strlen(cwd) != h.cwd_bytes) error = EPROTO;
    if (error == 0 && !IsParkedDirectory(w, cwd, h.cwd_bytes) && (dir_fd = OpenDirectory(cwd)) < 0)
      error = errno;
  }
  EnvBlock env;
  if (error == 0) error = KeepEnvironment(reinterpret_cast<char*>(w.buffer + sizeof h), h.env_bytes, &env);
  if (error != 0) {
    CloseAll(fds, nfds);
    if (dir_fd >= 0) close(dir_fd);
    return SendFailed(w, h.request_id, error);
  }
  // dup2 clears FD_CLOEXEC. Without kRunStdinNull / kRunKeepOutput the fds
  // replace what 0 / 1 and 2 hold (/dev/null, or the resident pipes).
  int next = 0;
  if ((h.flags & proto::kRunStdinNull) == 0) dup2(fds[next++], 0);
  if ((h.flags & proto::kRunKeepOutput) == 0) {
    dup2(fds[next++], 1);
    dup2(fds[next++], 2);
    w.resident = (h.flags & proto::kRunResidentOutput) != 0 && KeepOutputResident(w);
  }
  CloseAll(fds, nfds);
  if (dir_fd >= 0) {
    fchdir(dir_fd);
    close(dir_fd);
  }
  proto::ReportMessage report{};
  report.type = proto::kReport;
  report.request_id = h.request_id;
  if ((h.flags & proto::kRunNoStarted) == 0) {
    proto::StartedMessage started{proto::kStarted, static_cast<uint32_t>(w.pid), h.request_id};
    Send(w, &started, sizeof started);
  }
  bool children_left = false;
  int wait_status = RunAndRestore(w, env, &report, &children_left);
  // The output last, right before EXITED (see EndStdio), signals still blocked.
  report.flags |= EndStdio(w, children_left, (report.flags & proto::kReportOutputDiscarded) == 0);
  proto::ExitedMessage exited{proto::kExited, static_cast<uint32_t>(w.pid), h.request_id, wait_status, 0};
  SendReportAndExited(w, report, exited);
  FinishRestore(w.snapshot);
}

// Blocks for one command and serves it.
void ServeOne(Worker& w) {
  ReceivedMessage m;
  ssize_t n = ReceiveControlMessage(w.control_fd, w.buffer, sizeof w.buffer, 0, &m);
  if (n < 0 && errno == EINTR) return;
  if (n <= 0) _exit(0);  // EOF or a broken socket: the launcher is gone
  if (m.type == proto::kRun && !m.truncated) {
    return HandleRun(w, m.length, m.fds, m.nfds, m.fds_truncated);
  }
  CloseAll(m.fds, m.nfds);
  if (m.type == proto::kRun) {
    uint64_t id = 0;
    memcpy(&id, w.buffer + offsetof(proto::RunHeader, request_id), sizeof id);
    SendFailed(w, id, EPROTO);
  } else if (m.type == proto::kShutdown) {
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
  w.control_fd = control_fd;
  w.program = program;
  w.pid = getpid();
  w.parked_environ = environ;
  w.devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
  if (w.devnull < 0) RefuseAndExit(control_fd, proto::kRefuseSetup, errno);
  // Orphans of the program's processes become the worker's children, so that
  // a request that left any process running is noticed (ReapZombies), and
  // reaped.
  prctl(PR_SET_CHILD_SUBREAPER, 1);
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
