#include "launcher/http_front.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>

#include "launcher/log.h"

namespace fcgi {

HttpFront::HttpFront(ServerContext& ctx) : ctx_(ctx) {}

HttpFront::~HttpFront() = default;

Status HttpFront::Open(const Config& config, const std::string& program_path) {
  settings_.max_header_bytes = config.http_max_header_bytes;
  if (config.program.empty() || program_path.empty()) {
    settings_.cgi.document_root = config.root;
  } else {
    settings_.cgi.program_path = program_path;
    const size_t slash = program_path.rfind('/');
    settings_.cgi.program_dir = slash == 0 || slash == std::string::npos ? "/" : program_path.substr(0, slash);
  }
  for (const std::string& address : config.http) {
    Config one = config;  // OpenListeners' TCP path: SO_REUSEADDR, backlog, close-on-exec
    one.listen = {address.rfind("tcp:", 0) == 0 ? address : "tcp:" + address};
    std::vector<ListeningSocket> opened;
    Status s = OpenListeners(one, &opened);
    if (!s.ok()) return Status::Invalid("--http " + address + ": " + s.message());
    for (const ListeningSocket& ls : opened) {
      auto a = std::make_unique<Acceptor>(ctx_.io);
      a->socket = ls;
      sockaddr_storage ss{};
      socklen_t len = sizeof ss;
      getsockname(ls.fd, reinterpret_cast<sockaddr*>(&ss), &len);
      boost::system::error_code ec;
      a->acceptor.assign(boost::asio::generic::stream_protocol(ss.ss_family, IPPROTO_TCP), ls.fd, ec);
      if (ec) {
        ::close(ls.fd);
        return Status::FromErrno("epoll_ctl(2)", "--http " + address, ec.value());
      }
      a->acceptor.non_blocking(true, ec);
      acceptors_.push_back(std::move(a));
    }
  }
  return Status::Ok();
}

void HttpFront::Start() {
  for (auto& a : acceptors_) {
    std::string url = a->socket.name.substr(a->socket.name.rfind("tcp:", 0) == 0 ? 4 : 0);
    LogInfo("HTTP front on http://" + url + "/ (" +
            (settings_.cgi.document_root.empty() ? "every path runs " + settings_.cgi.program_path
                                                 : "programs under " + settings_.cgi.document_root) +
            ")");
    Accept(a.get());
  }
}

void HttpFront::Accept(Acceptor* a) {
  if (stopping_) return;
  a->acceptor.async_accept([this, a](const boost::system::error_code& ec,
                                     boost::asio::generic::stream_protocol::socket socket) {
    if (stopping_ || ec == boost::asio::error::operation_aborted) return;
    if (ec) {
      a->delay = std::min(std::chrono::milliseconds(1000),
                          a->delay.count() == 0 ? std::chrono::milliseconds(50) : a->delay * 2);
      LogError("accept(2) on --http " + a->socket.name + ": " + ec.message() + "; retrying in " +
               std::to_string(a->delay.count()) + " ms");
      a->backoff.expires_after(a->delay);
      a->backoff.async_wait([this, a](const boost::system::error_code& e) {
        if (!e) Accept(a);
      });
      return;
    }
    a->delay = std::chrono::milliseconds(0);
    ++ctx_.counters.accepted_connections;
    boost::system::error_code ignored;
    socket.set_option(boost::asio::detail::socket_option::boolean<IPPROTO_TCP, TCP_NODELAY>(true), ignored);
    auto conn = std::make_shared<HttpConnection>(ctx_, settings_, std::move(socket));
    for (auto it = connections_.begin(); it != connections_.end();) {
      it = it->expired() ? connections_.erase(it) : std::next(it);
    }
    connections_.push_back(conn);
    conn->Start();
    Accept(a);
  });
}

void HttpFront::StopAccepting() {
  stopping_ = true;
  for (auto& a : acceptors_) {
    boost::system::error_code ignored;
    a->acceptor.close(ignored);
    a->backoff.cancel();
  }
  for (auto& weak : connections_) {
    if (auto c = weak.lock()) c->StopReading();
  }
}

void HttpFront::AbortAll(const char* why) {
  StopAccepting();
  std::list<std::shared_ptr<HttpConnection>> live;
  for (auto& weak : connections_) {
    if (auto c = weak.lock()) live.push_back(c);
  }
  for (auto& c : live) c->Abort(why);
}

bool HttpFront::HasConnections() const {
  for (const auto& weak : connections_) {
    if (!weak.expired()) return true;
  }
  return false;
}

}  // namespace fcgi
