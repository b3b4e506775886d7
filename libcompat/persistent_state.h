// Process state that libcompat's persistent mode snapshots before the first
// request and puts back after each one (LIBCOMPAT.md lists why each is
// needed), plus the measurements the launcher recycles on.
//
// Restored: every signal disposition, the signal mask, ITIMER_REAL (alarm),
// ITIMER_VIRTUAL and ITIMER_PROF, the working directory (fchdir to a
// directory fd kept open), the umask. Signals left pending by the request are
// discarded (an alarm that fired late must not kill the idle worker).
// Measured: threads (/proc/self/task), open fds (/proc/self/fd), RSS
// (/proc/self/statm). libc only, nothing allocated.
#ifndef FCGI_RUN_LIBCOMPAT_PERSISTENT_STATE_H_
#define FCGI_RUN_LIBCOMPAT_PERSISTENT_STATE_H_

#include <signal.h>
#include <sys/types.h>

#include <cstdint>

namespace fcgi_compat {

struct ProcessSnapshot {
  struct sigaction actions[NSIG];
  sigset_t mask;
  int cwd_fd = -1;  // O_PATH | O_DIRECTORY, close-on-exec; owned
  mode_t umask = 022;
};

// Fills *snapshot from the current process. Returns 0 or an errno.
int TakeSnapshot(ProcessSnapshot* snapshot);

// Puts the snapshot back. REQUIRES: BlockAllSignals() was called and
// `request_mask` is the mask it replaced; the mask ends as in the snapshot.
// Returns the
// fcgi::compat::ReportFlags of what differed (signals, mask, timers, cwd,
// umask, pending signals dropped).
uint32_t RestoreSnapshot(const ProcessSnapshot& snapshot, const sigset_t& request_mask);

// Blocks every signal (the start of the restore, so that nothing the request
// armed fires while the worker is put back in order).
void BlockAllSignals(sigset_t* previous);

// Entries of a /proc directory (not counting . and ..), or -errno.
int CountDirectoryEntries(const char* path);
// /proc/self/task entries minus 0: the thread count, or -errno.
inline int CountThreads() { return CountDirectoryEntries("/proc/self/task"); }
// Open fds of this process (the directory fd used to count is not counted).
int CountOpenFds();
// Resident set size in KiB (0 if unreadable).
uint32_t ResidentKib();
// Reaps every exited child (WNOHANG). Returns how many.
unsigned ReapZombies();

}  // namespace fcgi_compat

#endif  // FCGI_RUN_LIBCOMPAT_PERSISTENT_STATE_H_
