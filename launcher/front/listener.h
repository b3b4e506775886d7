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

#include "core/status.h"
#include "launcher/config/options.h"

namespace fcgi {

struct ListeningSocket {
  int fd = -1;
  std::string name;          // "unix:/run/app.sock", "tcp:127.0.0.1:9000", "fd:0"
  std::string created_path;  // unix socket path fcgi-run created (removed at exit), or ""
  bool is_tcp = false;
};

// Opens every address of config.listen; with none, takes over fd 0 or the
// systemd sockets. Errors name the address and the syscall.
Status OpenListeners(const Config& config, std::vector<ListeningSocket>* out);

// True when `fd` is a listening socket (getsockopt SO_ACCEPTCONN).
bool IsListeningSocket(int fd);

// Unlinks the unix socket files this process created.
void RemoveSocketFiles(const std::vector<ListeningSocket>& sockets);

}  // namespace fcgi

#endif  // FCGI_RUN_LAUNCHER_FRONT_LISTENER_H_
