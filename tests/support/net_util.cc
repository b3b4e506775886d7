#include "tests/support/net_util.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <thread>

namespace fcgi::test {

UniqueFd& UniqueFd::operator=(UniqueFd&& other) noexcept {
  if (this != &other) Reset(other.Release());
  return *this;
}

int UniqueFd::Release() {
  int fd = fd_;
  fd_ = -1;
  return fd;
}

void UniqueFd::Reset(int fd) {
  if (fd_ >= 0) close(fd_);
  fd_ = fd;
}

int FreeTcpPort() {
  UniqueFd fd(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  if (bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    throw std::runtime_error(std::string("bind(2) 127.0.0.1:0: ") + std::strerror(errno));
  }
  socklen_t len = sizeof addr;
  getsockname(fd.get(), reinterpret_cast<sockaddr*>(&addr), &len);
  return ntohs(addr.sin_port);
}

std::string FreeTcpAddress() { return "tcp:127.0.0.1:" + std::to_string(FreeTcpPort()); }

bool IsUnixAddress(std::string_view address) { return address.substr(0, 5) == "unix:"; }

std::string UnixPath(std::string_view address) { return std::string(address.substr(5)); }

namespace {

// Splits "tcp:HOST:PORT" / "tcp:[V6]:PORT" into host and port.
bool SplitTcp(std::string_view address, std::string* host, std::string* port) {
  if (address.substr(0, 4) != "tcp:") return false;
  std::string_view rest = address.substr(4);
  size_t colon = rest.rfind(':');
  if (colon == std::string_view::npos) return false;
  std::string_view h = rest.substr(0, colon);
  if (h.size() >= 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
  *host = std::string(h);
  *port = std::string(rest.substr(colon + 1));
  return true;
}

}  // namespace

UniqueFd ConnectTo(std::string_view address, std::string* error) {
  auto fail = [&](const std::string& what) {
    if (error != nullptr) *error = what + ": " + std::strerror(errno);
    return UniqueFd();
  };
  if (IsUnixAddress(address)) {
    std::string path = UnixPath(address);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (path.size() >= sizeof addr.sun_path) {
      errno = ENAMETOOLONG;
      return fail("connect(2) " + path);
    }
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
    UniqueFd fd(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      return fail("connect(2) " + std::string(address));
    }
    return fd;
  }
  std::string host, port;
  if (!SplitTcp(address, &host, &port)) {
    errno = EINVAL;
    return fail("bad address " + std::string(address));
  }
  sockaddr_storage storage{};
  socklen_t len = 0;
  int family = AF_INET;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&storage);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&storage);
  if (inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(static_cast<uint16_t>(std::stoi(port)));
    len = sizeof *v4;
  } else if (inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
    family = AF_INET6;
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(static_cast<uint16_t>(std::stoi(port)));
    len = sizeof *v6;
  } else {
    errno = EINVAL;
    return fail("bad host " + host);
  }
  UniqueFd fd(socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (connect(fd.get(), reinterpret_cast<sockaddr*>(&storage), len) != 0) {
    return fail("connect(2) " + std::string(address));
  }
  return fd;
}

UniqueFd ListenUnix(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) throw std::runtime_error("socket path too long: " + path);
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  UniqueFd fd(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || listen(fd.get(), 128) != 0) {
    throw std::runtime_error("bind/listen " + path + ": " + std::strerror(errno));
  }
  return fd;
}

bool WaitForConnect(std::string_view address, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    if (ConnectTo(address).valid()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

bool SendAll(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

std::string NginxFastcgiPass(std::string_view address) {
  if (IsUnixAddress(address)) return std::string(address);
  return std::string(address.substr(4));  // "127.0.0.1:9000" / "[::1]:9000"
}

std::string ApacheProxyTarget(std::string_view address) {
  if (IsUnixAddress(address)) return std::string(address) + "|fcgi://localhost/";
  return "fcgi://" + std::string(address.substr(4)) + "/";
}

std::string CgiFcgiConnect(std::string_view address) {
  if (IsUnixAddress(address)) return UnixPath(address);
  return std::string(address.substr(4));
}

}  // namespace fcgi::test
