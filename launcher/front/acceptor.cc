#include "launcher/front/acceptor.h"

#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <utility>

#include "launcher/log/log.h"

namespace fcgi {

namespace {

int SocketFamily(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return AF_UNIX;
  return ss.ss_family;
}

}  // namespace

Acceptor::Acceptor(boost::asio::io_context& io, ListeningSocket socket, std::string log_prefix)
    : acceptor_(io), backoff_(io), socket_(std::move(socket)), log_prefix_(std::move(log_prefix)) {}

Status Acceptor::Open(const std::string& object) {
  const int family = SocketFamily(socket_.fd);
  boost::system::error_code ec;
  acceptor_.assign(boost::asio::generic::stream_protocol(family, family == AF_UNIX ? 0 : IPPROTO_TCP),
                   socket_.fd, ec);
  if (ec) return Status::FromErrno("epoll_ctl(2)", object, ec.value());
  acceptor_.non_blocking(true, ec);
  return Status::Ok();
}

void Acceptor::Start(OnAccept on_accept) {
  on_accept_ = std::move(on_accept);
  Accept();
}

void Acceptor::Stop() {
  stopped_ = true;
  boost::system::error_code ignored;
  acceptor_.close(ignored);
  backoff_.cancel();
}

void Acceptor::Accept() {
  if (stopped_) return;
  acceptor_.async_accept([this](const boost::system::error_code& ec, Socket socket) {
    if (stopped_ || ec == boost::asio::error::operation_aborted) return;
    if (ec) {
      // EMFILE/ENFILE/ENOBUFS...: back off instead of spinning, keep serving.
      delay_ = std::min(std::chrono::milliseconds(1000),
                        delay_.count() == 0 ? std::chrono::milliseconds(50) : delay_ * 2);
      LogError("accept(2) on " + log_prefix_ + socket_.name + ": " + ec.message() + "; retrying in " +
               std::to_string(delay_.count()) + " ms");
      backoff_.expires_after(delay_);
      backoff_.async_wait([this](const boost::system::error_code& e) {
        if (!e) Accept();
      });
      return;
    }
    delay_ = std::chrono::milliseconds(0);
    on_accept_(std::move(socket));
    Accept();
  });
}

}  // namespace fcgi
