// Listening sockets: opening them from --listen addresses, or taking them over
// from the parent (fd 0 per the FastCGI convention FCGI_LISTENSOCK_FILENO, or
// systemd socket activation's LISTEN_FDS/LISTEN_PID).
//
// Unix sockets: an existing path is replaced only when nothing listens on it
// (connect(2) refused); its mode and owner are set from the config. The caller
// owns the returned fds (close-on-exec is set on all of them) and calls
// RemoveSocketFiles() at shutdown.
#ifndef FCGI_RUN_LAUNCHER_FRONT_LISTENER_H_
#define FCGI_RUN_LAUNCHER_FRONT_LISTENER_H_

#include <string>
#include <vector>

#include "core/listen_address.h"
#include "core/status.h"
#include "launcher/config/options.h"

namespace fcgi {

struct ListeningSocket {
  int fd = -1;
  std::string name;          // "unix:/run/app.sock", "tcp:127.0.0.1:9000", "fd:0"
  std::string created_path;  // unix socket path fcgi-run created (removed at exit), or ""
  bool is_tcp = false;
};

// Opens every address of config.listen; with none, takes over the inherited
// sockets (FindInheritedListeners). Errors name the address and the syscall.
Status OpenListeners(const Config& config, std::vector<ListeningSocket>* out);

// Opens one address (config gives the unix socket mode and owner, the backlog).
Status OpenListener(const ListenAddress& address, const Config& config, std::vector<ListeningSocket>* out);

// The listening sockets fcgi-run inherits when --listen is absent: systemd's
// (config.systemd_fds, from fd 3 on), else fd 0 when it is a listening socket
// (FastCGI's FCGI_LISTENSOCK_FILENO). kNotFound when there is none. Sets
// close-on-exec on what it finds.
Status FindInheritedListeners(const Config& config, std::vector<ListeningSocket>* out);

// What OpenListener would refuse before it binds: for a unix socket, a
// missing directory, a path that is not a socket or that another process
// listens on; for TCP, a host that does not resolve; for fd:N, a descriptor
// that is not a listening socket. Changes nothing (--check-config).
Status CheckListenAddress(const ListenAddress& address);

// True when `fd` is a listening socket (getsockopt SO_ACCEPTCONN).
bool IsListeningSocket(int fd);

// Unlinks the unix socket files this process created.
void RemoveSocketFiles(const std::vector<ListeningSocket>& sockets);

}  // namespace fcgi

#endif  // FCGI_RUN_LAUNCHER_FRONT_LISTENER_H_
