// Acceptor: one listening socket's accept loop on the reactor, shared by the
// FastCGI listeners (Server) and the HTTP front (HttpFront). An accept error
// (EMFILE, ENFILE, ENOBUFS...) is logged and retried after a backoff (50 ms,
// doubling up to 1 s) instead of spinning; serving goes on. Every accepted
// socket is handed to the OnAccept callback, then the next accept starts.
//
// Ownership: owned (by unique_ptr) by the Server or HttpFront that created
// it, which outlives the reactor's run. The listening fd stays owned by the
// caller until Open() succeeds; then the acceptor closes it (Stop() or
// destruction).
#ifndef FCGI_RUN_LAUNCHER_FRONT_ACCEPTOR_H_
#define FCGI_RUN_LAUNCHER_FRONT_ACCEPTOR_H_

#include <boost/asio/basic_socket_acceptor.hpp>
#include <boost/asio/generic/stream_protocol.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <functional>
#include <string>

#include "core/status.h"
#include "launcher/front/listener.h"

namespace fcgi {

class Acceptor {
 public:
  using Socket = boost::asio::generic::stream_protocol::socket;
  using OnAccept = std::function<void(Socket)>;

  // `log_prefix` goes before the socket's name in log lines ("--http " for
  // the HTTP front, "" for FastCGI listeners).
  Acceptor(boost::asio::io_context& io, ListeningSocket socket, std::string log_prefix);
  Acceptor(const Acceptor&) = delete;
  Acceptor& operator=(const Acceptor&) = delete;

  // Registers the listening fd with the reactor (non-blocking). Errors:
  // epoll_ctl(2), naming `object`; the fd is then still the caller's.
  Status Open(const std::string& object);
  // Starts the accept loop. REQUIRES: Open() succeeded.
  void Start(OnAccept on_accept);
  // Closes the listening socket and cancels a pending backoff; no callback
  // runs after this.
  void Stop();
  const ListeningSocket& socket() const { return socket_; }

 private:
  void Accept();

  boost::asio::basic_socket_acceptor<boost::asio::generic::stream_protocol> acceptor_;
  boost::asio::steady_timer backoff_;
  ListeningSocket socket_;
  std::string log_prefix_;
  std::chrono::milliseconds delay_{0};
  OnAccept on_accept_;
  bool stopped_ = false;
};

}  // namespace fcgi

#endif  // FCGI_RUN_LAUNCHER_FRONT_ACCEPTOR_H_
