// Receiving one control message (control_protocol.h) on the shim's side, with
// the fds it carries: shared by the parked loop (fork_server.cc) and the
// persistent loop (persistent_server.cc). libc only; nothing allocates.
#ifndef FCGI_RUN_LIBCOMPAT_CONTROL_RECEIVE_H_
#define FCGI_RUN_LIBCOMPAT_CONTROL_RECEIVE_H_

#include <sys/types.h>

#include <cstddef>
#include <cstdint>

namespace fcgi_compat {

// Room for SCM_RIGHTS carrying more fds than allowed, so excess is detected.
constexpr int kMaxReceivedFds = 8;

struct ReceivedMessage {
  size_t length = 0;           // bytes in the caller's buffer
  uint32_t type = 0;           // the message type; 0 when shorter than one
  bool truncated = false;      // MSG_TRUNC: longer than the buffer
  bool fds_truncated = false;  // MSG_CTRUNC: more fds than kMaxReceivedFds
  int fds[kMaxReceivedFds];    // owned by the caller (close-on-exec)
  int nfds = 0;
};

// recvmsg(2) of one message into buffer[size] (flags: 0 or MSG_DONTWAIT;
// MSG_CMSG_CLOEXEC is added). Returns recvmsg's result: < 0 with errno set,
// 0 at EOF; when > 0, *out describes the message.
ssize_t ReceiveControlMessage(int fd, void* buffer, size_t size, int flags, ReceivedMessage* out);

}  // namespace fcgi_compat

#endif  // FCGI_RUN_LIBCOMPAT_CONTROL_RECEIVE_H_
