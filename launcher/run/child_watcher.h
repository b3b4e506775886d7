// ChildWatcher: waits, inside the reactor, for one child process to exit, and
// signals its process group. Uses a pidfd (pidfd_open(2)) registered with Asio,
// so there is no SIGCHLD handler and no race with pid reuse; the child is
// reaped (waitid) as soon as it exits.
//
// Lifetime: the callback runs at most once, from the io_context; destroying the
// watcher before that cancels it (the child is then killed and reaped
// synchronously so that no zombie is left).
#ifndef FCGI_RUN_LAUNCHER_RUN_CHILD_WATCHER_H_
#define FCGI_RUN_LAUNCHER_RUN_CHILD_WATCHER_H_

#include <sys/types.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <functional>

#include "core/status.h"
#include "core/wait_status.h"  // DescribeWaitStatus, AppStatusFromWaitStatus

namespace fcgi {

class ChildWatcher {
 public:
  // `raw_status` is a wait(2) status (WIFEXITED/WIFSIGNALED apply).
  using ExitCallback = std::function<void(int raw_status)>;

  explicit ChildWatcher(boost::asio::io_context& io) : descriptor_(io) {}
  ChildWatcher(const ChildWatcher&) = delete;
  ChildWatcher& operator=(const ChildWatcher&) = delete;
  ~ChildWatcher();

  // Starts watching `pid` (a child of this process).
  Status Watch(pid_t pid, ExitCallback on_exit);
  // Sends `sig` to the child's process group (and to the child itself, in case
  // it left its group). No-op once the child was reaped.
  void SignalGroup(int sig);

  pid_t pid() const { return pid_; }
  bool exited() const { return exited_; }

 private:
  void Reap();

  boost::asio::posix::stream_descriptor descriptor_;
  pid_t pid_ = -1;
  bool exited_ = false;
  ExitCallback on_exit_;
};

// Makes this process the reaper of its orphaned descendants
// (PR_SET_CHILD_SUBREAPER): what programs leave running in the background is
// re-parented to fcgi-run, not to init, which may not reap in containers.
void BecomeSubreaper();
// Reaps every exited child that no ChildWatcher watches (call on SIGCHLD).
// Returns how many were reaped.
int ReapOrphans();

}  // namespace fcgi

#endif  // FCGI_RUN_LAUNCHER_RUN_CHILD_WATCHER_H_
