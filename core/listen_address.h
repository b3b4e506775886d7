// ListenAddress: where fcgi-run accepts FastCGI connections (--listen). Pure
// parsing; no I/O (nothing is resolved, bound or checked on disk).
//
// Accepted forms:
//   unix:PATH       "unix:/run/app.sock" (relative paths allowed with the prefix)
//   /PATH           bare unix socket path (must start with '/')
//   tcp:HOST:PORT   "tcp:127.0.0.1:9000", "tcp:[::1]:9000", "tcp:localhost:9000"
//   HOST:PORT       "127.0.0.1:9000", "[::1]:9000", "localhost:9000"
//   fd:N            an inherited listening socket, "fd:0" (mod_fcgid, lighttpd)
// ":9000" (no host) is an error: binding every interface must be asked for
// explicitly ("tcp:0.0.0.0:9000" or "tcp:[::]:9000").
#ifndef FCGI_RUN_CORE_LISTEN_ADDRESS_H_
#define FCGI_RUN_CORE_LISTEN_ADDRESS_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/status.h"

namespace fcgi {

// Longest unix socket path that fits sockaddr_un::sun_path with its NUL.
inline constexpr size_t kMaxUnixPathBytes = 107;

struct ListenAddress {
  enum class Kind { kUnix, kTcp, kFd };
  Kind kind = Kind::kUnix;
  std::string path;   // kUnix
  std::string host;   // kTcp: IPv4 literal, IPv6 literal (no brackets) or host name
  uint16_t port = 0;  // kTcp: 1-65535
  int fd = -1;        // kFd: >= 0

  // Canonical text that ParseListenAddress reads back to the same value:
  // "unix:/run/app.sock", "tcp:127.0.0.1:9000", "tcp:[::1]:9000", "fd:3".
  std::string ToString() const;
  bool operator==(const ListenAddress&) const = default;
};

// Parses `text` into *out (left unchanged on error). Errors are kInvalidArgument
// and quote the input: "listen address \"tcp:1.2.3.4\": missing :PORT".
Status ParseListenAddress(std::string_view text, ListenAddress* out);

// True for hosts that only the local machine can reach: "localhost", 127.0.0.0/8,
// ::1 and ::ffff:127.0.0.0/104 (brackets allowed). Used to warn about listening
// on a non-loopback address.
bool IsLoopbackHost(std::string_view host);

}  // namespace fcgi

#endif  // FCGI_RUN_CORE_LISTEN_ADDRESS_H_
