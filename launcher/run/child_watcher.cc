#include "launcher/run/child_watcher.h"

#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sys/prctl.h>

#include <cerrno>
#include <fstream>
#include <string>
#include <unordered_set>

namespace fcgi {

namespace {
// Pids a ChildWatcher owns: ReapOrphans leaves them to their watcher.
std::unordered_set<pid_t>& WatchedPids() {
  static std::unordered_set<pid_t> pids;
  return pids;
}
}  // namespace

ChildWatcher::~ChildWatcher() {
  if (pid_ > 0 && !exited_) {
    // Owner gone while the child runs: do not leave a process or a zombie.
    kill(-pid_, SIGKILL);
    kill(pid_, SIGKILL);
    int status;
    while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
  }
  if (pid_ > 0) WatchedPids().erase(pid_);
}

void BecomeSubreaper() { prctl(PR_SET_CHILD_SUBREAPER, 1); }

int ReapOrphans() {
  // The children of this (single-threaded) process, from /proc.
  std::string path = "/proc/self/task/" + std::to_string(getpid()) + "/children";
  std::ifstream in(path);
  int reaped = 0;
  pid_t pid;
  while (in >> pid) {
    if (WatchedPids().count(pid) != 0) continue;
    int status;
    if (waitpid(pid, &status, WNOHANG) == pid) ++reaped;
  }
  return reaped;
}

Status ChildWatcher::Watch(pid_t pid, ExitCallback on_exit) {
  pid_ = pid;
  on_exit_ = std::move(on_exit);
  WatchedPids().insert(pid);
  int fd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
  if (fd < 0) return Status::FromErrno("pidfd_open(2)", "pid " + std::to_string(pid), errno);
  boost::system::error_code ec;
  descriptor_.assign(fd, ec);
  if (ec) {
    ::close(fd);
    return Status::FromErrno("epoll_ctl(2)", "pidfd of pid " + std::to_string(pid), ec.value());
  }
  descriptor_.async_wait(boost::asio::posix::descriptor_base::wait_read,
                         [this](const boost::system::error_code& error) {
                           if (error == boost::asio::error::operation_aborted) return;
                           Reap();
                         });
  return Status::Ok();
}

void ChildWatcher::Reap() {
  int status = 0;
  pid_t r;
  do {
    r = waitpid(pid_, &status, WNOHANG);
  } while (r < 0 && errno == EINTR);
  if (r == 0) {  // spurious wake-up: wait again
    descriptor_.async_wait(boost::asio::posix::descriptor_base::wait_read,
                           [this](const boost::system::error_code& error) {
                             if (error == boost::asio::error::operation_aborted) return;
                             Reap();
                           });
    return;
  }
  exited_ = true;
  WatchedPids().erase(pid_);
  boost::system::error_code ignored;
  descriptor_.close(ignored);
  if (on_exit_) {
    ExitCallback cb = std::move(on_exit_);
    cb(status);  // may destroy *this
  }
}

void ChildWatcher::SignalGroup(int sig) {
  if (pid_ <= 0 || exited_) return;
  kill(-pid_, sig);
  kill(pid_, sig);
}

}  // namespace fcgi
