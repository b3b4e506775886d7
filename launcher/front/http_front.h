// HttpFront: the built-in HTTP front (--http ADDR:PORT, repeatable): its
// listening sockets, their accept loops, and the HttpConnections they create.
// It serves through the same ServerContext as the FastCGI listeners, so the
// same worker slots, queue and limits apply to both.
//
// Ownership: owned by Server, which outlives it; the connections are held by
// their own I/O and tracked here by weak_ptr so a graceful stop can wait for
// them and an immediate stop can abort them.
#ifndef FCGI_RUN_LAUNCHER_FRONT_HTTP_FRONT_H_
#define FCGI_RUN_LAUNCHER_FRONT_HTTP_FRONT_H_

#include <memory>
#include <string>
#include <vector>

#include "core/status.h"
#include "launcher/config/options.h"
#include "launcher/front/acceptor.h"
#include "launcher/front/connection_list.h"
#include "launcher/front/http_connection.h"
#include "launcher/front/listener.h"
#include "launcher/request/server_context.h"

namespace fcgi {

class HttpFront {
 public:
  explicit HttpFront(ServerContext& ctx);
  HttpFront(const HttpFront&) = delete;
  HttpFront& operator=(const HttpFront&) = delete;
  ~HttpFront();

  // Binds every config.http address ("127.0.0.1:8080", "[::1]:8080",
  // "localhost:8080") and Configure()s. Errors name the address.
  Status Open(const Config& config, const std::string& program_path);
  // What requests run: `program_path` is the single program ("" in dispatcher
  // mode, where config.root is the document root); and the header limit.
  // Again on a SIGHUP reload, for the requests that follow.
  void Configure(const Config& config, const std::string& program_path);
  // Starts the accept loops (logs the URLs).
  void Start();
  // Graceful stop: no new connections; open ones finish their response.
  void StopAccepting();
  // Immediate stop: every connection is closed, running requests aborted.
  void AbortAll(const char* why);
  bool HasConnections() const;

 private:
  void OnAccept(Acceptor::Socket socket);

  ServerContext& ctx_;
  HttpFrontSettings settings_;
  std::vector<std::unique_ptr<Acceptor>> acceptors_;
  ConnectionList<HttpConnection> connections_;
};

}  // namespace fcgi

#endif  // FCGI_RUN_LAUNCHER_FRONT_HTTP_FRONT_H_
