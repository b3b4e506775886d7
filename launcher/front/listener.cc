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

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>

#include "core/listen_address.h"
#include "launcher/log/log.h"
#include "launcher/run/privileges.h"

namespace fcgi {

namespace {

constexpr int kSystemdFirstFd = 3;

void SetCloexec(int fd) {
  int flags = fcntl(fd, F_GETFD);
  if (flags >= 0) fcntl(fd, F_SETFD, flags | FD_CLOEXEC);
}

// USER[:GROUP] or :GROUP; -1 for what is not given (USER alone: its primary group).
struct SocketOwner {
  uid_t uid = static_cast<uid_t>(-1);
  gid_t gid = static_cast<gid_t>(-1);
};

Status ResolveSocketOwner(const std::string& spec, SocketOwner* out) {
  const size_t colon = spec.find(':');
  if (colon != 0) {  // USER or USER:GROUP (names or numeric ids)
    Credentials c;
    Status s = LookUpCredentials(spec, &c);
    if (!s.ok()) return s;
    out->uid = c.uid;
    out->gid = c.gid;
    return Status::Ok();
  }
  const std::string group = spec.substr(1);
  struct group* gr = getgrnam(group.c_str());
  if (gr == nullptr) return Status::NotFound("no such group: " + group);
  out->gid = gr->gr_gid;
  return Status::Ok();
}

// CAP_CHOWN in the effective set (bit 0 of /proc/self/status CapEff).
bool HasCapChown() {
  std::ifstream in("/proc/self/status");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("CapEff:", 0) == 0) return (std::strtoull(line.c_str() + 7, nullptr, 16) & 1) != 0;
  }
  return false;
}

bool InOurGroups(gid_t gid) {
  if (gid == getegid()) return true;
  std::vector<gid_t> groups(static_cast<size_t>(std::max(getgroups(0, nullptr), 0)));
  int n = getgroups(static_cast<int>(groups.size()), groups.data());
  return n > 0 && std::find(groups.begin(), groups.begin() + n, gid) != groups.begin() + n;
}

// "www-data:www-data 0660" for the file at `path` ("" if it cannot be stat'ed).
std::string DescribeSocketFile(const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) return "";
  char mode[8];
  std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
  return UserName(st.st_uid) + ":" + GroupName(st.st_gid) + " " + mode;
}

// The path of an inherited unix socket (systemd, fd:N), "" for others and abstract ones.
std::string UnixSocketPath(int fd) {
  sockaddr_un addr{};
  socklen_t len = sizeof addr;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0 || addr.sun_family != AF_UNIX ||
      len <= offsetof(sockaddr_un, sun_path) || addr.sun_path[0] == '\0') {
    return "";
  }
  return std::string(addr.sun_path, strnlen(addr.sun_path, sizeof addr.sun_path));
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
  Status s = CheckSocketOwner(config);  // before anything exists on disk
  if (!s.ok()) return s;
  SocketOwner owner;
  std::string source;
  const std::string owner_spec = SocketOwnerFor(config, &source);
  if (!owner_spec.empty() && !(s = ResolveSocketOwner(owner_spec, &owner)).ok()) return s;
  s = ClearStaleSocket(a.path);
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
  // From here on the file is ours: a failure removes it again.
  auto fail = [&](Status status) {
    close(fd);
    unlink(a.path.c_str());
    return status;
  };
  struct stat st;
  if (lstat(a.path.c_str(), &st) != 0) return fail(Status::FromErrno("lstat(2)", a.path, errno));
  if (chmod(a.path.c_str(), config.socket_mode) != 0)
    return fail(Status::FromErrno("chmod(2)", a.path, errno));
  // The group alone when USER is ours already (no CAP_CHOWN needed for that).
  if (!owner_spec.empty() &&
      chown(a.path.c_str(), owner.uid == geteuid() ? static_cast<uid_t>(-1) : owner.uid, owner.gid) != 0) {
    err = errno;
    return fail(Status::FromErrno("chown(2)", a.path + " to " + owner_spec + " (" + source + ")", err));
  }
  if (listen(fd, config.backlog) != 0) return fail(Status::FromErrno("listen(2)", a.path, errno));
  out->fd = fd;
  out->created_path = a.path;
  out->created_dev = st.st_dev;
  out->created_ino = st.st_ino;
  out->file = DescribeSocketFile(a.path);
  if (!source.empty() && source != "--socket-owner") out->file += ", owner from " + source;
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
  if (std::string path = ls.is_tcp ? "" : UnixSocketPath(fd); !path.empty()) {
    const std::string file = DescribeSocketFile(path);
    ls.file = "unix:" + path + (file.empty() ? "" : ", " + file);
  }
  out->push_back(ls);
  return Status::Ok();
}

}  // namespace

std::string SocketOwnerFor(const Config& config, std::string* source) {
  std::string ignored;
  std::string& from = source != nullptr ? *source : ignored;
  from.clear();
  if (!config.socket_owner.empty()) return from = "--socket-owner", config.socket_owner;
  if (!config.user.empty()) return from = "--user", config.user;
  if (!config.program_user.empty() && geteuid() == 0) return from = "--program-user", config.program_user;
  return "";
}

Status CheckSocketOwner(const Config& config) {
  std::string source;
  const std::string spec = SocketOwnerFor(config, &source);
  if (spec.empty()) return Status::Ok();
  // Only where fcgi-run creates sockets.
  const bool creates = std::any_of(config.listen.begin(), config.listen.end(), [](const ListenAddress& l) {
    return l.kind == ListenAddress::Kind::kUnix;
  });
  if (!creates) return Status::Ok();
  SocketOwner owner;
  Status s = ResolveSocketOwner(spec, &owner);
  if (!s.ok()) return Status::Invalid(source + " " + spec + ": " + s.message());
  if (geteuid() == 0 || HasCapChown()) return Status::Ok();
  if (owner.uid != static_cast<uid_t>(-1) && owner.uid != geteuid()) {
    return Status::Denied(source + " " + spec +
                          ": giving the socket to another user needs root (or CAP_CHOWN); " +
                          "fcgi-run runs as " + UserName(geteuid()) +
                          ". Start fcgi-run as root (--user drops privileges after binding), or let the web "
                          "server in through a group of yours (--socket-owner :GROUP) or --socket-mode");
  }
  if (owner.gid != static_cast<gid_t>(-1) && !InOurGroups(owner.gid)) {
    return Status::Denied(source + " " + spec + ": the group " + GroupName(owner.gid) + " is not one of " +
                          UserName(geteuid()) + "'s groups, so chown(2) to it needs root (or CAP_CHOWN)");
  }
  return Status::Ok();
}

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

Status CheckListenWithSystemd(const Config& config) {
  if (config.systemd_fds == 0 || config.listen.empty()) return Status::Ok();
  return Status::Invalid("--listen " + config.listen.front().ToString() + " given while systemd passes " +
                         std::to_string(config.systemd_fds) +
                         " listening socket(s) (LISTEN_FDS): fcgi-run would not serve systemd's socket and "
                         "requests sent to it would hang. Remove 'listen' from the config file (the .socket "
                         "unit says where fcgi-run listens), or start the service without its socket unit");
}

Status OpenListeners(const Config& config, std::vector<ListeningSocket>* out) {
  if (Status s = CheckListenWithSystemd(config); !s.ok()) return s;
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

Status RemoveCreatedSocket(const ListeningSocket& ls) {
  struct stat st;
  if (lstat(ls.created_path.c_str(), &st) != 0) {
    return errno == ENOENT ? Status::Ok() : Status::FromErrno("lstat(2)", ls.created_path, errno);
  }
  if (!S_ISSOCK(st.st_mode) || st.st_dev != ls.created_dev || st.st_ino != ls.created_ino) {
    return Status::Invalid(ls.created_path + " is no longer the socket fcgi-run created: left alone");
  }
  if (unlink(ls.created_path.c_str()) != 0 && errno != ENOENT) {
    return Status::FromErrno("unlink(2)", ls.created_path, errno);
  }
  return Status::Ok();
}

void RemoveSocketFiles(std::vector<ListeningSocket>* sockets) {
  for (ListeningSocket& s : *sockets) {
    if (s.created_path.empty()) continue;
    Status removed = RemoveCreatedSocket(s);
    if (removed.ok()) {
      LogNotice("removed socket " + s.created_path);
    } else if (removed.code() == Status::Code::kInvalidArgument) {
      LogInfo(removed.message());
    } else {
      LogWarning("could not remove socket " + s.created_path + ": " + removed.message() +
                 "; the next fcgi-run on this path replaces it (nothing listens on it)");
    }
    s.created_path.clear();
  }
}

}  // namespace fcgi
