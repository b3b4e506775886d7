// Listening sockets: opening them from --listen addresses, or taking them over
// from the parent (fd 0 per the FastCGI convention FCGI_LISTENSOCK_FILENO, or
// systemd socket activation's LISTEN_FDS/LISTEN_PID).
//
// Unix sockets: an existing path is replaced only when nothing listens on it
// (connect(2) refused); its mode and owner are set from the config (the owner
// defaults to the user the programs run as: SocketOwnerFor). A socket file is
// removed again if opening fails after bind(2). The caller owns the returned
// fds (close-on-exec is set on all of them) and calls RemoveSocketFiles() at
// shutdown.
//
// systemd socket activation and --listen are exclusive: a --listen while
// systemd passes sockets to this process is an error (its sockets would be
// left unserved and requests would hang).
#ifndef FCGI_RUN_LAUNCHER_FRONT_LISTENER_H_
#define FCGI_RUN_LAUNCHER_FRONT_LISTENER_H_

#include <sys/types.h>

#include <string>
#include <vector>

#include "core/status.h"
#include "launcher/config/options.h"

namespace fcgi {

struct ListeningSocket {
  int fd = -1;
  std::string name;          // "unix:/run/app.sock", "tcp:127.0.0.1:9000", "fd:0"
  std::string created_path;  // unix socket path fcgi-run created (removed at exit), or ""
  dev_t created_dev = 0;     // the created file's identity: only that file is removed
  ino_t created_ino = 0;
  // A unix socket's file, for the "listening on" line: "www-data:www-data 0660", or
  // for an inherited one "unix:/run/fcgi-run/app.sock, root:www-data 0660"; "" for TCP.
  std::string file;
  bool is_tcp = false;
};

// The owner (USER[:GROUP]) of the unix sockets fcgi-run creates: --socket-owner;
// without it the user the programs run as (--user, else --program-user when
// started as root), so the web server running as that user can connect; ""
// leaves the creator. *source names the option it came from ("" when none).
std::string SocketOwnerFor(const Config& config, std::string* source = nullptr);

// Whether this process may give its sockets the owner SocketOwnerFor(config)
// names: the user and group exist, and chown(2) to them is allowed (root or
// CAP_CHOWN, or the caller's own uid and one of its groups). Errors name the
// option and say why; --check-config and OpenListeners use it.
Status CheckSocketOwner(const Config& config);

// Opens every address of config.listen; with none, takes over fd 0 or the
// systemd sockets. Errors name the address and the syscall.
Status OpenListeners(const Config& config, std::vector<ListeningSocket>* out);

// How many listening sockets systemd socket activation passes to this
// process (LISTEN_FDS when LISTEN_PID is ours; 0 when none or not ours).
int SystemdSocketCount();

// True when `fd` is a listening socket (getsockopt SO_ACCEPTCONN).
bool IsListeningSocket(int fd);

// Unlinks ls.created_path if it is still the socket fcgi-run created there
// (same device and inode). Ok when removed or already gone; kInvalidArgument
// when another file has taken the path (left alone); the unlink(2) error else.
Status RemoveCreatedSocket(const ListeningSocket& ls);

// RemoveCreatedSocket for every socket that has a created_path, logging each
// removal (notice) or failure (warning); clears created_path, so a second
// call does nothing.
void RemoveSocketFiles(std::vector<ListeningSocket>* sockets);

}  // namespace fcgi

#endif  // FCGI_RUN_LAUNCHER_FRONT_LISTENER_H_
