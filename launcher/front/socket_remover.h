// SocketRemover: removes the unix socket files fcgi-run created when fcgi-run
// itself can no longer do so. After `--user www-data` drops privileges,
// unlink(2) of /run/app.sock fails (/run is root's), so the socket would be
// left behind at every stop. Before the drop, Start() forks a small process
// that keeps the current (root) user, closes every other descriptor, ignores
// the stop signals and waits on a socketpair: on "remove" it unlinks the files
// that are still the ones fcgi-run created (same device and inode:
// RemoveCreatedSocket), reports one line per file and exits; when fcgi-run
// goes away without asking (a crash, SIGKILL) it sees EOF and does the same.
// It takes nothing from fcgi-run after the fork but that one request.
//
// Ownership: the SocketRemover owns its end of the socketpair and the child
// (reaped by RemoveNow or the destructor, which asks for the removal if
// RemoveNow was not called).
#ifndef FCGI_RUN_LAUNCHER_FRONT_SOCKET_REMOVER_H_
#define FCGI_RUN_LAUNCHER_FRONT_SOCKET_REMOVER_H_

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "core/status.h"
#include "launcher/front/listener.h"

namespace fcgi {

class SocketRemover {
 public:
  // Forks the remover for the sockets with a created_path. REQUIRES: the
  // process is single-threaded (it is, before the reactor runs).
  static Status Start(const std::vector<ListeningSocket>& sockets, std::unique_ptr<SocketRemover>* out);
  ~SocketRemover();
  SocketRemover(const SocketRemover&) = delete;
  SocketRemover& operator=(const SocketRemover&) = delete;

  pid_t pid() const { return pid_; }

  // Asks the remover to remove the files now and waits (2 s at most) for its
  // report: one line per file, "removed PATH" or why not. Logs each line and
  // clears created_path in *sockets. Idempotent.
  void RemoveNow(std::vector<ListeningSocket>* sockets);

 private:
  SocketRemover(pid_t pid, int fd) : pid_(pid), fd_(fd) {}
  pid_t pid_;
  int fd_;  // our end of the socketpair (-1 once the remover was asked)
};

}  // namespace fcgi

#endif  // FCGI_RUN_LAUNCHER_FRONT_SOCKET_REMOVER_H_
