#include "launcher/front/listener.h"

#include <fcntl.h>
#include <grp.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/listen_address.h"
#include "launcher/log/log.h"

namespace fcgi {

namespace {

constexpr int kSystemdFirstFd = 3;

void SetCloexec(int fd) {
  int flags = fcntl(fd, F_GETFD);
  if (flags >= 0) fcntl(fd, F_SETFD, flags | FD_CLOEXEC);
}

Status ResolveOwner(const std::string& spec, uid_t* uid, gid_t* gid) {
  std::string user = spec, group;
  if (auto colon = spec.find(':'); colon != std::string::npos) {
    user = spec.substr(0, colon);
    group = spec.substr(colon + 1);
  }
  *uid = static_cast<uid_t>(-1);
  *gid = static_cast<gid_t>(-1);
  if (!user.empty()) {
    struct passwd* pw = getpwnam(user.c_str());
    if (pw == nullptr) return Status::NotFound("--socket-owner: no user named '" + user + "'");
    *uid = pw->pw_uid;
    *gid = pw->pw_gid;
  }
  if (!group.empty()) {
    struct group* gr = getgrnam(group.c_str());
    if (gr == nullptr) return Status::NotFound("--socket-owner: no group named '" + group + "'");
    *gid = gr->gr_gid;
  }
  return Status::Ok();
}

// What is at the unix socket path `path`: nothing (*stale false), a socket
// nobody listens on (*stale true), or an error: something that is not a
// socket, or a socket another process listens on.
Status ProbeSocketPath(const std::string& path, bool* stale) {
  *stale = false;
  struct stat st;
  if (lstat(path.c_str(), &st) != 0) return Status::Ok();  // nothing there
  if (!S_ISSOCK(st.st_mode)) {
    return Status::Invalid("listen unix:" + path +
                           ": path exists and is not a socket; refusing to replace it");
  }
  int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (probe < 0) return Status::FromErrno("socket(2)", "unix:" + path, errno);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
  int rc = connect(probe, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  int err = errno;
  close(probe);
  if (rc == 0) return Status::Invalid("listen unix:" + path + ": another process is listening on it");
  if (err != ECONNREFUSED && err != ENOENT) return Status::FromErrno("connect(2)", path, err);
  *stale = err == ECONNREFUSED;
  return Status::Ok();
}

// Removes `path` if it is a socket nobody listens on. Error if something does.
Status ClearStaleSocket(const std::string& path) {
  bool stale = false;
  Status s = ProbeSocketPath(path, &stale);
  if (!s.ok() || !stale) return s;
  if (unlink(path.c_str()) != 0 && errno != ENOENT) return Status::FromErrno("unlink(2)", path, errno);
  LogInfo("removed stale socket " + path);
  return Status::Ok();
}

// getaddrinfo(3) for a TCP address to bind; the caller frees *out.
Status ResolveTcp(const ListenAddress& a, addrinfo** out) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE;
  std::string port = std::to_string(a.port);
  int gai = getaddrinfo(a.host.c_str(), port.c_str(), &hints, out);
  if (gai != 0) return Status::NotFound("getaddrinfo(3) " + a.ToString() + ": " + gai_strerror(gai));
  return Status::Ok();
}

Status OpenUnix(const ListenAddress& a, const Config& config, ListeningSocket* out) {
  Status s = ClearStaleSocket(a.path);
  if (!s.ok()) return s;
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Status::FromErrno("socket(2)", a.ToString(), errno);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, a.path.c_str(), sizeof(addr.sun_path) - 1);
  // Create the socket with no permissions for others, then chmod: no window
  // in which the socket is reachable with wider permissions than asked.
  mode_t old = umask(0777 & ~config.socket_mode & 0777);
  int rc = bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  int err = errno;
  umask(old);
  if (rc != 0) {
    close(fd);
    return Status::FromErrno("bind(2)", a.path, err);
  }
  out->created_path = a.path;
  if (chmod(a.path.c_str(), config.socket_mode) != 0) {
    err = errno;
    close(fd);
    return Status::FromErrno("chmod(2)", a.path, err);
  }
  if (!config.socket_owner.empty()) {
    uid_t uid;
    gid_t gid;
    s = ResolveOwner(config.socket_owner, &uid, &gid);
    if (!s.ok()) {
      close(fd);
      return s;
    }
    if (chown(a.path.c_str(), uid, gid) != 0) {
      err = errno;
      close(fd);
      return Status::FromErrno("chown(2)", a.path, err);
    }
  }
  if (listen(fd, config.backlog) != 0) {
    err = errno;
    close(fd);
    return Status::FromErrno("listen(2)", a.path, err);
  }
  out->fd = fd;
  return Status::Ok();
}

Status OpenTcp(const ListenAddress& a, const Config& config, ListeningSocket* out) {
  addrinfo* res = nullptr;
  Status resolved = ResolveTcp(a, &res);
  if (!resolved.ok()) return resolved;
  Status last = Status::NotFound("listen " + a.ToString() + ": no usable address");
  for (addrinfo* ai = res; ai != nullptr; ai = ai->ai_next) {
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) {
      last = Status::FromErrno("socket(2)", a.ToString(), errno);
      continue;
    }
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (ai->ai_family == AF_INET6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    if (bind(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
      last = Status::FromErrno("bind(2)", a.ToString(), errno);
      close(fd);
      continue;
    }
    // Warn before listen(2): once the socket accepts, a caller may read the log.
    if (!IsLoopbackHost(a.host) && !config.allowed_peers) {
      LogWarning("listening on non-loopback address " + a.ToString() +
                 " without --allow-from (or FCGI_WEB_SERVER_ADDRS): any host that can reach it can run the "
                 "program; restrict peers with --allow-from ADDR[,ADDR...]");
    }
    if (listen(fd, config.backlog) != 0) {
      last = Status::FromErrno("listen(2)", a.ToString(), errno);
      close(fd);
      continue;
    }
    freeaddrinfo(res);
    out->fd = fd;
    out->is_tcp = true;
    return Status::Ok();
  }
  freeaddrinfo(res);
  return last;
}

bool IsTcpSocket(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return false;
  return ss.ss_family == AF_INET || ss.ss_family == AF_INET6;
}

Status AdoptFd(int fd, const std::string& name, std::vector<ListeningSocket>* out) {
  if (!IsListeningSocket(fd)) {
    return Status::Invalid(name + ": file descriptor " + std::to_string(fd) + " is not a listening socket");
  }
  SetCloexec(fd);
  ListeningSocket ls;
  ls.fd = fd;
  ls.name = name;
  ls.is_tcp = IsTcpSocket(fd);
  out->push_back(ls);
  return Status::Ok();
}

}  // namespace

bool IsListeningSocket(int fd) {
  int value = 0;
  socklen_t len = sizeof value;
  if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &value, &len) != 0) return false;
  return value != 0;
}

Status OpenListener(const ListenAddress& a, const Config& config, std::vector<ListeningSocket>* out) {
  ListeningSocket ls;
  ls.name = a.ToString();
  Status s;
  switch (a.kind) {
    case ListenAddress::Kind::kUnix:
      s = OpenUnix(a, config, &ls);
      break;
    case ListenAddress::Kind::kTcp:
      s = OpenTcp(a, config, &ls);
      break;
    case ListenAddress::Kind::kFd:
      return AdoptFd(a.fd, ls.name, out);
  }
  if (s.ok()) out->push_back(ls);
  return s;
}

Status OpenListeners(const Config& config, std::vector<ListeningSocket>* out) {
  for (const ListenAddress& a : config.listen) {
    Status s = OpenListener(a, config, out);
    if (!s.ok()) return s;
  }
  if (!config.listen.empty()) return Status::Ok();
  return FindInheritedListeners(config, out);
}

Status FindInheritedListeners(const Config& config, std::vector<ListeningSocket>* out) {
  // systemd socket activation (LISTEN_FDS, when LISTEN_PID named this process).
  for (int i = 0; i < config.systemd_fds; ++i) {
    Status s = AdoptFd(kSystemdFirstFd + i, "systemd:fd:" + std::to_string(kSystemdFirstFd + i), out);
    if (!s.ok()) return s;
  }
  if (config.systemd_fds > 0) return Status::Ok();
  // FastCGI convention: the web server hands a listening socket as fd 0.
  sockaddr_storage peer{};
  socklen_t len = sizeof peer;
  if (getpeername(0, reinterpret_cast<sockaddr*>(&peer), &len) != 0 && errno == ENOTCONN &&
      IsListeningSocket(0)) {
    return AdoptFd(0, "fd:0", out);
  }
  return Status::NotFound(
      "nothing to listen on: give --listen unix:/path/to.sock or --listen tcp:127.0.0.1:9000, "
      "or start fcgi-run with a listening socket on fd 0 (as mod_fcgid, lighttpd and spawn-fcgi do) "
      "or through systemd socket activation");
}

Status CheckListenAddress(const ListenAddress& a) {
  switch (a.kind) {
    case ListenAddress::Kind::kUnix: {
      std::string dir = a.path.find('/') == std::string::npos ? "." : a.path.substr(0, a.path.rfind('/'));
      if (dir.empty()) dir = "/";
      struct stat st;
      if (stat(dir.c_str(), &st) != 0) return Status::FromErrno("stat(2)", dir, errno);
      if (!S_ISDIR(st.st_mode)) return Status::Invalid(dir + " is not a directory");
      bool stale = false;
      return ProbeSocketPath(a.path, &stale);
    }
    case ListenAddress::Kind::kTcp: {
      addrinfo* res = nullptr;
      Status s = ResolveTcp(a, &res);
      if (s.ok()) freeaddrinfo(res);
      return s;
    }
    case ListenAddress::Kind::kFd:
      if (!IsListeningSocket(a.fd)) {
        return Status::Invalid("file descriptor " + std::to_string(a.fd) + " is not a listening socket");
      }
      return Status::Ok();
  }
  return Status::Ok();
}

void RemoveSocketFiles(const std::vector<ListeningSocket>& sockets) {
  for (const ListeningSocket& s : sockets) {
    if (!s.created_path.empty()) unlink(s.created_path.c_str());
  }
}

}  // namespace fcgi
