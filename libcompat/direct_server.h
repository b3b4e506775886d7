// Direct mode (fcgi-run --mode persistent --direct): the persistent worker
// answers the web server itself, and the launcher leaves the request path.
//
// After HELLO the launcher sends DIRECT (control_protocol.h) with its FastCGI
// listening sockets, a supervision slot and the limits. The worker then waits
// (epoll) on the listeners (EPOLLEXCLUSIVE: one idle worker is woken per
// connection), on the FastCGI connections it keeps open for KEEP_CONN, and on
// the control socket (SHUTDOWN, served between requests). Per request it uses
// the launcher's own core (launcher/core, linked into the shim): the FastCGI
// connection state machine (GET_VALUES, UNKNOWN_TYPE, a second concurrent
// request refused with OVERLOADED, PARAMS limits), the request environment
// (BuildRequestEnvironment, with the launcher's base variables and overrides),
// the response header check (CgiResponseParser) and the record encoders.
// main() runs through the persistent loop's cycle (RunDirectRequest) with
// stdin = the body in a memfd (or /dev/null) and stdout/stderr = memfds; when
// it ends, the response is checked and sent, END_REQUEST carries the exit
// status, and the recycle policy (RecyclePolicy, the launcher's limits) may
// end the worker (RETIRE, BYE, exit 0).
//
// What the launcher no longer does for these requests, and the worker does
// not either (README "Direct mode"): streaming (the response leaves when
// main() ends), access/slow logs and the status page, 502/504 bodies for
// crashes and timeouts (the worker dies; the web server answers).
//
// Memory: the request's body and output are held in memfds; their pages are
// freed (ftruncate) when the next request starts.
#ifndef FCGI_RUN_LIBCOMPAT_DIRECT_SERVER_H_
#define FCGI_RUN_LIBCOMPAT_DIRECT_SERVER_H_

#include <sys/types.h>

#include <cstddef>

namespace fcgi_compat {

// What the persistent loop hands over with a DIRECT message.
struct DirectStart {
  int control_fd;
  int devnull;  // /dev/null, O_RDWR (the persistent loop's)
  pid_t pid;
  bool links_libstdcxx;
  const unsigned char* message;  // the DIRECT message (valid until it is parsed)
  size_t length;
  bool truncated;
  int* fds;  // received with it; owned from here on
  int nfds;  // -1 when more fds came than could be received
};

// Serves FastCGI connections until SHUTDOWN, EOF on the control socket or a
// recycle. A malformed DIRECT is logged (LOG) and ends the worker (exit 1).
[[noreturn]] void RunDirectServer(const DirectStart& start);

}  // namespace fcgi_compat

#endif  // FCGI_RUN_LIBCOMPAT_DIRECT_SERVER_H_
