// ParentWatch: a descriptor inherited from the process that spawned fcgi-run
// whose end-of-file means "exit" (h2o's fastcgi.spawn hands such a pipe as
// fd 5, its share/h2o/kill-on-close helper holds the other end's reader too).
// When every writer has closed it (the web server is gone), the callback runs
// once, on the reactor thread; the Server then stops as on SIGTERM.
//
// Which descriptor (--parent-pipe-fd, parsed into Config::parent_pipe_fd):
//   "none"  never watch;
//   "N"     watch fd N (start-up error if it is not open or cannot be polled);
//   "auto"  (default) watch fd 5 only when fcgi-run was spawned by a web
//           server (no --listen, the listening socket taken over from fd 0)
//           and fd 5 is the read end of a pipe: exactly h2o's hand-over.
//
// The descriptor's open file description is shared with the parent (h2o's
// kill-on-close reads the same pipe with a blocking read), so ParentWatch never
// changes its flags (no O_NONBLOCK) and never reads from it: it asks a private
// epoll instance for EPOLLHUP/EPOLLRDHUP/EPOLLERR (edge-triggered, so bytes
// written to the pipe wake it once and are left alone) and waits on that epoll
// descriptor through the reactor. The watched fd gets FD_CLOEXEC (a per-process
// flag) so that programs never inherit it.
//
// Ownership: owns the epoll descriptor (closed on destruction); the watched fd
// stays open for the life of the process. Not copyable. Single-threaded.
#ifndef FCGI_RUN_LAUNCHER_FRONT_PARENT_WATCH_H_
#define FCGI_RUN_LAUNCHER_FRONT_PARENT_WATCH_H_

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <functional>
#include <string>

#include "core/status.h"
#include "launcher/config/options.h"

namespace fcgi {

// The fd h2o's fastcgi.spawn hands over ("auto" looks only at this one).
inline constexpr int kH2oParentPipeFd = 5;

class ParentWatch {
 public:
  // Called once, with a one-line description of what happened
  // ("parent pipe fd 5 closed").
  using GoneCallback = std::function<void(const std::string& what)>;

  explicit ParentWatch(boost::asio::io_context& io);
  ~ParentWatch();
  ParentWatch(const ParentWatch&) = delete;
  ParentWatch& operator=(const ParentWatch&) = delete;

  // setting: Config::parent_pipe_fd (kParentPipeAuto, kParentPipeNone or a
  // descriptor). spawned: fcgi-run serves the listening socket it found on
  // fd 0 (no --listen). Logs one info line when it starts watching. Errors: an
  // explicit fd that is not open or cannot be polled.
  Status Start(int setting, bool spawned, GoneCallback on_gone);
  // The fd watched, -1 if none.
  int fd() const { return fd_; }

 private:
  void Wait();
  void OnReady();

  boost::asio::posix::stream_descriptor epoll_;
  int fd_ = -1;
  GoneCallback on_gone_;
};

}  // namespace fcgi

#endif  // FCGI_RUN_LAUNCHER_FRONT_PARENT_WATCH_H_
