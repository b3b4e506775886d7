// Snapshot and restore of process state: see persistent_state.h.
#include "libcompat/persistent_state.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/control_protocol.h"

namespace fcgi_compat {
namespace {

namespace proto = fcgi::compat;

struct LinuxDirent64 {
  uint64_t d_ino;
  int64_t d_off;
  unsigned short d_reclen;
  unsigned char d_type;
  char d_name[1];
};

bool Restorable(int sig) { return sig != SIGKILL && sig != SIGSTOP; }

// The kernel's 64 signals are the first 64 bits of glibc's 1024-bit
// sigset_t (NSIG is 65); glibc fills only those bits of sa_mask and leaves the
// rest as it found it, so only they are compared.
uint64_t KernelBits(const sigset_t& set) {
  uint64_t bits;
  memcpy(&bits, &set, sizeof bits);
  return bits;
}

bool SameMask(const sigset_t& a, const sigset_t& b) { return KernelBits(a) == KernelBits(b); }

bool SameAction(const struct sigaction& a, const struct sigaction& b) {
  return a.sa_handler == b.sa_handler && a.sa_flags == b.sa_flags && SameMask(a.sa_mask, b.sa_mask);
}

bool Armed(const itimerval& t) {
  return t.it_value.tv_sec != 0 || t.it_value.tv_usec != 0 || t.it_interval.tv_sec != 0 ||
         t.it_interval.tv_usec != 0;
}

// A signal still pending belonged to the request (a late alarm, a SIGPIPE):
// setting SIG_IGN discards it, then the snapshot's action comes back.
// Returns whether there was one.
bool DiscardPendingSignals(const ProcessSnapshot& snapshot) {
  sigset_t pending;
  if (sigpending(&pending) != 0 || KernelBits(pending) == 0) return false;
  bool discarded = false;
  for (int sig = 1; sig < NSIG; ++sig) {
    if (!Restorable(sig) || sigismember(&pending, sig) != 1) continue;
    struct sigaction ignore {};
    ignore.sa_handler = SIG_IGN;
    sigemptyset(&ignore.sa_mask);
    if (sigaction(sig, &ignore, nullptr) == 0) {
      sigaction(sig, &snapshot.actions[sig], nullptr);
      discarded = true;
    }
  }
  return discarded;
}

}  // namespace

bool KeepFd(int fd, KeptFd* kept) {
  *kept = KeptFd{};
  if (fd < 0) return false;
  struct stat st;
  if (fstat(fd, &st) != 0) {
    int error = errno;
    close(fd);
    errno = error;
    return false;
  }
  *kept = KeptFd{fd, st.st_dev, st.st_ino};
  return true;
}

bool StillKept(const KeptFd& kept) {
  struct stat st;
  return kept.fd >= 0 && fstat(kept.fd, &st) == 0 && st.st_dev == kept.dev && st.st_ino == kept.ino;
}

int TakeSnapshot(ProcessSnapshot* snapshot) {
  for (int sig = 1; sig < NSIG; ++sig) {
    memset(&snapshot->actions[sig], 0, sizeof snapshot->actions[sig]);
    if (!Restorable(sig)) continue;
    // Signals glibc reserves for itself (32, 33) fail with EINVAL: skip them.
    if (sigaction(sig, nullptr, &snapshot->actions[sig]) != 0 && errno != EINVAL) return errno;
  }
  if (sigprocmask(SIG_SETMASK, nullptr, &snapshot->mask) != 0) return errno;
  if (!KeepFd(open(".", O_PATH | O_DIRECTORY | O_CLOEXEC), &snapshot->cwd)) return errno;
  snapshot->umask = umask(022);
  umask(snapshot->umask);
  return 0;
}

void BlockAllSignals(sigset_t* previous) {
  sigset_t all;
  sigfillset(&all);
  sigprocmask(SIG_SETMASK, &all, previous);
}

uint32_t RestoreSnapshot(const ProcessSnapshot& snapshot, const sigset_t& request_mask,
                         bool compare_dispositions, bool check_timers) {
  uint32_t flags = 0;
  if (!SameMask(request_mask, snapshot.mask)) flags |= proto::kReportMaskRestored;
  static const int kTimers[] = {ITIMER_REAL, ITIMER_VIRTUAL, ITIMER_PROF};
  for (int which : kTimers) {
    if (!check_timers) break;
    itimerval zero{}, old{};
    if (setitimer(which, &zero, &old) == 0 && Armed(old)) flags |= proto::kReportTimerCancelled;
  }
  for (int sig = 1; compare_dispositions && sig < NSIG; ++sig) {
    if (!Restorable(sig)) continue;
    struct sigaction now;
    memset(&now, 0, sizeof now);  // glibc fills only the kernel's part of sa_mask
    if (sigaction(sig, nullptr, &now) != 0) continue;
    if (!SameAction(now, snapshot.actions[sig])) {
      sigaction(sig, &snapshot.actions[sig], nullptr);
      flags |= proto::kReportSignalsRestored;
    }
  }
  if (DiscardPendingSignals(snapshot)) flags |= proto::kReportSignalsDiscarded;
  if (snapshot.cwd.fd >= 0) {
    struct stat here;
    if (stat(".", &here) != 0 || here.st_ino != snapshot.cwd.ino || here.st_dev != snapshot.cwd.dev) {
      fchdir(snapshot.cwd.fd);
      flags |= proto::kReportCwdRestored;
    }
  }
  mode_t previous = umask(snapshot.umask);
  if (previous != snapshot.umask) flags |= proto::kReportUmaskRestored;
  return flags;
}

void FinishRestore(const ProcessSnapshot& snapshot) {
  DiscardPendingSignals(snapshot);
  sigprocmask(SIG_SETMASK, &snapshot.mask, nullptr);
}

// Calls visit(name, arg) for each entry read from `fd` (a /proc directory)
// from its current offset on, not counting . and ..; returns how many, or -errno.
int VisitEntries(int fd, void (*visit)(const char* name, void* arg), void* arg) {
  alignas(8) char buffer[4096];
  int entries = 0;
  for (;;) {
    long n = syscall(SYS_getdents64, fd, buffer, sizeof buffer);
    if (n < 0) return -errno;
    if (n == 0) return entries;
    for (long off = 0; off < n;) {
      const auto* d = reinterpret_cast<const LinuxDirent64*>(buffer + off);
      if (!(d->d_name[0] == '.' && (d->d_name[1] == '\0' || (d->d_name[1] == '.' && d->d_name[2] == '\0')))) {
        ++entries;
        if (visit != nullptr) visit(d->d_name, arg);
      }
      off += d->d_reclen;
    }
  }
}

int CountEntries(int fd) { return VisitEntries(fd, nullptr, nullptr); }

int CountDirectoryEntries(const char* path) { return VisitDirectoryEntries(path, nullptr, nullptr); }

int VisitDirectoryEntries(const char* path, void (*visit)(const char* name, void* arg), void* arg) {
  int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return -errno;
  int entries = VisitEntries(fd, visit, arg);
  close(fd);
  return entries;
}

namespace {

// Entries of the directory *kept (reread from offset 0), opening `path` when
// it is not open.
int CountKeptDirectory(KeptFd* kept, const char* path) {
  if (kept->fd < 0 && !KeepFd(open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC), kept)) return -errno;
  if (lseek(kept->fd, 0, SEEK_SET) != 0) return -errno;
  return CountEntries(kept->fd);
}

int KeptCount(const ProcFiles& files) { return (files.stat.fd >= 0) + (files.fd_dir.fd >= 0); }

// Field `n` (1-based, as in proc(5)) of /proc/self/stat's text, counting from
// field 3 (after the ")" that ends the command name, which may hold spaces).
unsigned long StatField(const char* text, int n) {
  const char* p = strrchr(text, ')');
  if (p == nullptr) return 0;
  ++p;
  for (int field = 3; field < n; ++field) {  // skip fields 3 .. n-1
    while (*p == ' ') ++p;
    while (*p != '\0' && *p != ' ') ++p;
  }
  while (*p == ' ') ++p;
  unsigned long value = 0;
  for (; *p >= '0' && *p <= '9'; ++p) value = value * 10 + static_cast<unsigned long>(*p - '0');
  return value;
}

}  // namespace

void OpenProcFiles(ProcFiles* files) {
  KeepFd(open("/proc/self/stat", O_RDONLY | O_CLOEXEC), &files->stat);
  KeepFd(open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC), &files->fd_dir);
}

void CheckProcFiles(ProcFiles* files) {
  if (!StillKept(files->stat)) files->stat = KeptFd{};
  if (!StillKept(files->fd_dir)) files->fd_dir = KeptFd{};
}

ProcessUsage ReadProcessUsage(ProcFiles* files) {
  char text[1024];
  if (files->stat.fd < 0 && !KeepFd(open("/proc/self/stat", O_RDONLY | O_CLOEXEC), &files->stat)) return {};
  ssize_t n = pread(files->stat.fd, text, sizeof text - 1, 0);
  if (n <= 0) return {};
  text[n] = '\0';
  ProcessUsage usage;
  usage.threads = static_cast<int>(StatField(text, 20));  // num_threads
  usage.rss_kib =
      static_cast<uint32_t>(StatField(text, 24) * static_cast<unsigned long>(sysconf(_SC_PAGESIZE)) / 1024);
  return usage;
}

int CountOpenFds(ProcFiles* files) {
  int n = CountKeptDirectory(&files->fd_dir, "/proc/self/fd");
  return n > 0 ? n - KeptCount(*files) : n;
}

unsigned ReapZombies(bool* children_left) {
  unsigned reaped = 0;
  int status;
  pid_t pid;
  while ((pid = waitpid(-1, &status, WNOHANG)) > 0) ++reaped;
  *children_left = pid == 0;  // -1 ECHILD: none left
  return reaped;
}

}  // namespace fcgi_compat
