#include "launcher/front/parent_watch.h"

#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <utility>

#include "launcher/log/log.h"

namespace fcgi {

namespace {

// True when `fd` is open, a pipe/FIFO and opened for reading only.
bool IsPipeReadEnd(int fd) {
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISFIFO(st.st_mode)) return false;
  int flags = fcntl(fd, F_GETFL);
  return flags >= 0 && (flags & O_ACCMODE) == O_RDONLY;
}

}  // namespace

ParentWatch::ParentWatch(boost::asio::io_context& io) : epoll_(io) {}

ParentWatch::~ParentWatch() {
  boost::system::error_code ignored;
  epoll_.close(ignored);
}

Status ParentWatch::Start(int setting, bool spawned, GoneCallback on_gone) {
  int fd = setting;
  if (setting == kParentPipeNone) return Status::Ok();
  if (setting == kParentPipeAuto) {
    if (!spawned || !IsPipeReadEnd(kH2oParentPipeFd)) return Status::Ok();
    fd = kH2oParentPipeFd;
  }
  const std::string name = "--parent-pipe-fd " + std::to_string(fd);
  if (fcntl(fd, F_GETFD) < 0) return Status::FromErrno("fcntl(2)", name, errno);
  int ep = epoll_create1(EPOLL_CLOEXEC);
  if (ep < 0) return Status::FromErrno("epoll_create1(2)", name, errno);
  epoll_event ev{};
  ev.events = EPOLLRDHUP | EPOLLET;  // EPOLLHUP and EPOLLERR are always reported
  ev.data.fd = fd;
  if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) != 0) {
    int err = errno;
    close(ep);
    return Status::FromErrno("epoll_ctl(2)", name + " (not a pipe or socket?)", err);
  }
  boost::system::error_code ec;
  epoll_.assign(ep, ec);  // the private epoll fd: making it non-blocking touches no one else
  if (ec) {
    close(ep);
    return Status::FromErrno("epoll_ctl(2)", name, ec.value());
  }
  fcntl(fd, F_SETFD, fcntl(fd, F_GETFD) | FD_CLOEXEC);
  fd_ = fd;
  on_gone_ = std::move(on_gone);
  LogInfo("watching fd " + std::to_string(fd) + " from the parent (" +
          (setting == kParentPipeAuto ? "a pipe, as h2o's fastcgi.spawn hands over" : "--parent-pipe-fd") +
          "): fcgi-run stops when it is closed");
  Wait();
  return Status::Ok();
}

void ParentWatch::Wait() {
  epoll_.async_wait(boost::asio::posix::stream_descriptor::wait_read,
                    [this](const boost::system::error_code& ec) {
                      if (!ec) OnReady();
                    });
}

void ParentWatch::OnReady() {
  epoll_event ev{};
  int n = epoll_wait(epoll_.native_handle(), &ev, 1, 0);
  if (n < 0 && errno != EINTR) {
    LogError(Status::FromErrno("epoll_wait(2)", "parent pipe fd " + std::to_string(fd_), errno).message() +
             " (no longer watched)");
    return;
  }
  if (n == 1 && (ev.events & (EPOLLHUP | EPOLLRDHUP | EPOLLERR)) != 0) {
    GoneCallback cb = std::move(on_gone_);
    on_gone_ = nullptr;
    if (cb) cb("parent pipe fd " + std::to_string(fd_) + " closed");
    return;
  }
  Wait();  // bytes written to it (never by h2o): left for the parent's reader
}

}  // namespace fcgi
