#include "launcher/front/http_front.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "launcher/log/log.h"

namespace fcgi {

HttpFront::HttpFront(ServerContext& ctx) : ctx_(ctx) {}

HttpFront::~HttpFront() = default;

void HttpFront::Configure(const Config& config, const std::string& program_path) {
  settings_.max_header_bytes = config.http_max_header_bytes;
  settings_.cgi.document_root.clear();
  settings_.cgi.program_path.clear();
  settings_.cgi.program_dir.clear();
  if (config.program.empty() || program_path.empty()) {
    // The first directory --root is the document root URLs map into.
    for (const std::string& root : config.root) {
      struct stat st;
      if (stat(root.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
        settings_.cgi.document_root = root;
        break;
      }
    }
  } else {
    settings_.cgi.program_path = program_path;
    const size_t slash = program_path.rfind('/');
    settings_.cgi.program_dir =
        slash == 0 || slash == std::string::npos ? "/" : program_path.substr(0, slash);
  }
}

Status HttpFront::Open(const Config& config, const std::string& program_path) {
  Configure(config, program_path);
  for (const ListenAddress& address : config.http) {
    const std::string name = address.ToString().substr(4);  // without "tcp:"
    std::vector<ListeningSocket> opened;  // OpenListener's TCP path: SO_REUSEADDR, backlog, close-on-exec
    Status s = OpenListener(address, config, &opened);
    if (!s.ok()) return Status::Invalid("--http " + name + ": " + s.message());
    for (const ListeningSocket& ls : opened) {
      auto a = std::make_unique<Acceptor>(ctx_.io, ls, "--http ");
      Status opened_status = a->Open("--http " + name);
      if (!opened_status.ok()) {
        ::close(ls.fd);
        return opened_status;
      }
      acceptors_.push_back(std::move(a));
    }
  }
  return Status::Ok();
}

void HttpFront::Start() {
  for (auto& a : acceptors_) {
    const std::string& name = a->socket().name;
    std::string url = name.substr(name.rfind("tcp:", 0) == 0 ? 4 : 0);
    LogInfo("HTTP front on http://" + url + "/ (" +
            (settings_.cgi.document_root.empty() ? "every path runs " + settings_.cgi.program_path
                                                 : "programs under " + settings_.cgi.document_root) +
            ")");
    a->Start([this](Acceptor::Socket socket) { OnAccept(std::move(socket)); });
  }
}

void HttpFront::OnAccept(Acceptor::Socket socket) {
  ++ctx_.counters.accepted_connections;
  boost::system::error_code ignored;
  socket.set_option(boost::asio::detail::socket_option::boolean<IPPROTO_TCP, TCP_NODELAY>(true), ignored);
  // Not make_shared: the connection list keeps a weak_ptr until its next
  // Add, and with make_shared that would keep the whole object (its 64 KiB
  // buffers) allocated after the connection closed (connection_list.h).
  auto conn = std::shared_ptr<HttpConnection>(new HttpConnection(ctx_, settings_, std::move(socket)));
  connections_.Add(conn);
  conn->Start();
}

void HttpFront::StopAccepting() {
  for (auto& a : acceptors_) a->Stop();
  connections_.StopReading();
}

void HttpFront::AbortAll(const char* why) {
  StopAccepting();
  connections_.AbortAll(why);
}

bool HttpFront::HasConnections() const { return connections_.Any(); }

}  // namespace fcgi
