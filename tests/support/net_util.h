// Sockets for the end-to-end tests. Addresses use fcgi-run's --listen syntax:
// "unix:/path", "tcp:127.0.0.1:PORT", "tcp:[::1]:PORT".
#ifndef FCGI_RUN_TESTS_SUPPORT_NET_UTIL_H_
#define FCGI_RUN_TESTS_SUPPORT_NET_UTIL_H_

#include <chrono>
#include <string>
#include <string_view>

namespace fcgi::test {

// Owns one file descriptor; closes it on destruction. Movable, not copyable.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  ~UniqueFd() { Reset(); }
  UniqueFd(UniqueFd&& other) noexcept : fd_(other.Release()) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept;
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  int Release();
  void Reset(int fd = -1);

 private:
  int fd_ = -1;
};

// A port on 127.0.0.1 that was free a moment ago (bind port 0, read, close).
int FreeTcpPort();

// "tcp:127.0.0.1:<FreeTcpPort()>".
std::string FreeTcpAddress();

// Connects (blocking) to `address`. Invalid UniqueFd on failure, with the
// reason in *error if given.
UniqueFd ConnectTo(std::string_view address, std::string* error = nullptr);

// Retries ConnectTo until it succeeds or `timeout` passes.
bool WaitForConnect(std::string_view address, std::chrono::milliseconds timeout);

// A listening unix socket bound to `path` (backlog 128), not close-on-exec
// concerns aside: hand it to a child as fd 0 with ProcessOptions::stdin_fd.
// Throws std::runtime_error on failure.
UniqueFd ListenUnix(const std::string& path);

// Writes all of `data` (blocking). False on error.
bool SendAll(int fd, std::string_view data);

// Address forms the servers want.
std::string NginxFastcgiPass(std::string_view address);   // "unix:/p" or "127.0.0.1:9000"
std::string ApacheProxyTarget(std::string_view address);  // "unix:/p|fcgi://localhost/" or "fcgi://h:p/"
std::string CgiFcgiConnect(std::string_view address);     // "/p" or "127.0.0.1:9000"
bool IsUnixAddress(std::string_view address);
std::string UnixPath(std::string_view address);  // "/p" of "unix:/p"

}  // namespace fcgi::test

#endif  // FCGI_RUN_TESTS_SUPPORT_NET_UTIL_H_
