#include "libcompat/control_receive.h"

#include <string.h>
#include <sys/socket.h>

namespace fcgi_compat {

ssize_t ReceiveControlMessage(int fd, void* buffer, size_t size, int flags, ReceivedMessage* out) {
  iovec iov{buffer, size};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * kMaxReceivedFds)];
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  ssize_t n = recvmsg(fd, &msg, flags | MSG_CMSG_CLOEXEC);
  if (n <= 0) return n;
  out->nfds = 0;
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    int count = static_cast<int>((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
    for (int k = 0; k < count && out->nfds < kMaxReceivedFds; ++k) {
      memcpy(&out->fds[out->nfds++], CMSG_DATA(c) + k * sizeof(int), sizeof(int));
    }
  }
  out->length = static_cast<size_t>(n);
  out->type = 0;
  if (out->length >= sizeof out->type) memcpy(&out->type, buffer, sizeof out->type);
  out->truncated = (msg.msg_flags & MSG_TRUNC) != 0;
  out->fds_truncated = (msg.msg_flags & MSG_CTRUNC) != 0;
  return n;
}

}  // namespace fcgi_compat
