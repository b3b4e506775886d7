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

#include "core/listen_address.h"
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

// An error when --listen is given while systemd passes sockets
// (config.systemd_fds): systemd's would never be served. --check-config and
// OpenListeners use it.
Status CheckListenWithSystemd(const Config& config);

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
