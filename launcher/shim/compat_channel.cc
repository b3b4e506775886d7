// Launcher side of the libcompat control channel: see compat_channel.h.
#include "launcher/shim/compat_channel.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <functional>
#include <iterator>
#include <type_traits>

namespace fcgi {
namespace {

namespace proto = compat;

constexpr std::string_view kSocketName = "compat control socket";
// The shim never sends fds; this is only room to detect (and close) them.
constexpr size_t kMaxFdsPerMessage = 8;

template <typename T>
std::string Bytes(const T& value) {
  static_assert(std::is_trivially_copyable_v<T>);
  return std::string(reinterpret_cast<const char*>(&value), sizeof value);
}

// Copies a fixed-size message out of `bytes` if the length matches exactly.
template <typename T>
bool Fixed(std::string_view bytes, T* out) {
  if (bytes.size() != sizeof(T)) return false;
  std::memcpy(out, bytes.data(), sizeof(T));
  return true;
}

Status BadLength(const char* name, size_t size) {
  return Status::Protocol(std::string("compat: ") + name + " message of " + std::to_string(size) + " bytes");
}

// Closes the fds a received message carried (the shim sends none) and tells
// whether the message is malformed: it had fds, or was cut (MSG_TRUNC,
// MSG_CTRUNC).
bool DropFdsAndCheck(msghdr* msg) {
  bool had_fds = false;
  for (cmsghdr* c = CMSG_FIRSTHDR(msg); c != nullptr; c = CMSG_NXTHDR(msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    const size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (size_t i = 0; i < count; ++i) {
      int received;
      std::memcpy(&received, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
      close(received);
      had_fds = true;
    }
  }
  return had_fds || (msg->msg_flags & (MSG_TRUNC | MSG_CTRUNC)) != 0;
}

// Checks "NAME=VALUE" entries (no NUL, a non-empty name) and adds up their
// bytes in an env block (each entry and its NUL).
Status EnvBlockBytes(const char* what, const std::vector<std::string>& entries, size_t* bytes) {
  *bytes = 0;
  for (const std::string& entry : entries) {
    size_t eq = entry.find('=');
    if (eq == std::string::npos || eq == 0 || entry.find('\0') != std::string::npos) {
      return Status::Invalid(std::string(what) + ": malformed environment entry \"" + entry + "\"");
    }
    *bytes += entry.size() + 1;
  }
  return Status::Ok();
}

void AppendEnvBlock(const std::vector<std::string>& entries, std::string* out) {
  for (const std::string& entry : entries) {
    out->append(entry);
    out->push_back('\0');
  }
}

}  // namespace

Status EncodeCompatRun(const CompatRunRequest& run, CompatRunMessage* out) {
  if (run.cwd.find('\0') != std::string::npos) {
    return Status::Invalid("compat RUN: NUL byte in the working directory");
  }
  size_t env_bytes = 0;
  if (Status s = EnvBlockBytes("compat RUN", run.env, &env_bytes); !s.ok()) return s;
  if (env_bytes > UINT32_MAX || sizeof(proto::RunHeader) + run.cwd.size() > proto::kMaxMessageBytes) {
    return Status::Limit("compat RUN: environment of " + std::to_string(env_bytes) +
                         " bytes or working directory of " + std::to_string(run.cwd.size()) + " bytes");
  }
  const bool in_memfd = run.env.size() > proto::kMaxEnvEntries ||
                        sizeof(proto::RunHeader) + env_bytes + run.cwd.size() > proto::kMaxMessageBytes;
  proto::RunHeader header{};
  header.type = proto::kRun;
  header.flags = run.flags | (run.parent_death_signal ? 0u : proto::kRunNoParentDeathSignal) |
                 (in_memfd ? proto::kRunEnvMemfd : 0u);
  header.request_id = run.request_id;
  header.env_bytes = static_cast<uint32_t>(env_bytes);
  header.cwd_bytes = static_cast<uint32_t>(run.cwd.size());
  out->bytes.clear();
  out->env_block.clear();
  std::string& block = in_memfd ? out->env_block : out->bytes;
  out->bytes.reserve(sizeof header + (in_memfd ? 0 : env_bytes) + run.cwd.size());
  out->bytes.append(Bytes(header));
  block.reserve(block.size() + env_bytes);
  AppendEnvBlock(run.env, &block);
  out->bytes.append(run.cwd);
  return Status::Ok();
}

Status MakeEnvMemfd(std::string_view block, int* fd) {
  int m = memfd_create("fcgi-run request environment", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (m < 0) return Status::FromErrno("memfd_create(2)", "request environment", errno);
  for (size_t done = 0; done < block.size();) {
    ssize_t n = write(m, block.data() + done, block.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      Status s = Status::FromErrno("write(2)", "request environment memfd", n < 0 ? errno : EIO);
      close(m);
      return s;
    }
    done += static_cast<size_t>(n);
  }
  if (fcntl(m, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) != 0) {
    Status s = Status::FromErrno("fcntl(2) F_ADD_SEALS", "request environment memfd", errno);
    close(m);
    return s;
  }
  *fd = m;
  return Status::Ok();
}

Status PrepareCompatRun(const CompatRunRequest& run, std::string* message, int* env_fd) {
  *env_fd = -1;
  CompatRunMessage m;
  if (Status s = EncodeCompatRun(run, &m); !s.ok()) return s;
  if (!m.env_block.empty()) {
    if (Status s = MakeEnvMemfd(m.env_block, env_fd); !s.ok()) return s;
  }
  *message = std::move(m.bytes);
  return Status::Ok();
}

std::string EncodeCompatSignal(uint64_t request_id, int signo) {
  return Bytes(proto::SignalMessage{proto::kSignal, signo, request_id});
}

std::string EncodeCompatShutdown() { return Bytes(proto::ShutdownMessage{proto::kShutdown, 0}); }

Status DecodeCompatMessage(std::string_view bytes, CompatMessage* out) {
  uint32_t type = 0;
  if (bytes.size() < sizeof type) return BadLength("short", bytes.size());
  std::memcpy(&type, bytes.data(), sizeof type);
  switch (type) {
    case proto::kHello: {
      proto::HelloMessage m;
      if (!Fixed(bytes, &m)) return BadLength("HELLO", bytes.size());
      *out = CompatHello{m.version, static_cast<pid_t>(m.pid), m.flags, m.max_children, m.max_message_bytes};
      return Status::Ok();
    }
    case proto::kRefused: {
      proto::RefusedMessage m;
      if (!Fixed(bytes, &m)) return BadLength("REFUSED", bytes.size());
      *out = CompatRefused{m.reason, m.error, static_cast<pid_t>(m.pid)};
      return Status::Ok();
    }
    case proto::kStarted: {
      proto::StartedMessage m;
      if (!Fixed(bytes, &m)) return BadLength("STARTED", bytes.size());
      *out = CompatStarted{m.request_id, static_cast<pid_t>(m.pid)};
      return Status::Ok();
    }
    case proto::kFailed: {
      proto::FailedMessage m;
      if (!Fixed(bytes, &m)) return BadLength("FAILED", bytes.size());
      *out = CompatFailed{m.request_id, static_cast<int>(m.error)};
      return Status::Ok();
    }
    case proto::kExited: {
      proto::ExitedMessage m;
      if (!Fixed(bytes, &m)) return BadLength("EXITED", bytes.size());
      *out = CompatExited{m.request_id, static_cast<pid_t>(m.pid), m.wait_status};
      return Status::Ok();
    }
    case proto::kBye: {
      proto::ByeMessage m;
      if (!Fixed(bytes, &m)) return BadLength("BYE", bytes.size());
      *out = CompatBye{static_cast<pid_t>(m.pid)};
      return Status::Ok();
    }
    case proto::kReport: {
      proto::ReportMessage m;
      if (!Fixed(bytes, &m)) return BadLength("REPORT", bytes.size());
      *out = CompatReport{m.request_id, m.flags,        m.atexit_handlers, m.zombies_reaped, m.threads,
                          m.open_fds,   m.baseline_fds, m.rss_kib,         m.requests};
      return Status::Ok();
    }
    default:
      return Status::Protocol("compat: unknown message type " + std::to_string(type));
  }
}

const char* CompatMessageName(const CompatMessage& message) {
  static constexpr const char* kNames[] = {"HELLO",  "REFUSED", "STARTED", "FAILED",
                                           "EXITED", "BYE",     "REPORT"};
  static_assert(std::size(kNames) == std::variant_size_v<CompatMessage>);
  return kNames[message.index()];
}

Status CreateCompatSocketPair(int* launcher_end, int* shim_end) {
  int fds[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds) != 0) {
    return Status::FromErrno("socketpair(2)", kSocketName, errno);
  }
  int flags = fcntl(fds[0], F_GETFL);
  if (flags < 0 || fcntl(fds[0], F_SETFL, flags | O_NONBLOCK) != 0) {
    int err = errno;
    close(fds[0]);
    close(fds[1]);
    return Status::FromErrno("fcntl(2) O_NONBLOCK", kSocketName, err);
  }
  *launcher_end = fds[0];
  *shim_end = fds[1];
  return Status::Ok();
}

ChannelResult SendCompatMessage(int fd, std::string_view message, std::span<const int> fds) {
  if (fds.size() > kMaxFdsPerMessage) {
    return {ChannelIo::kError, Status::Invalid("compat: too many fds in one message")};
  }
  iovec iov{const_cast<char*>(message.data()), message.size()};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * kMaxFdsPerMessage)];
  if (!fds.empty()) {
    msg.msg_control = control;
    msg.msg_controllen = CMSG_SPACE(sizeof(int) * fds.size());
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
    std::memcpy(CMSG_DATA(c), fds.data(), sizeof(int) * fds.size());
  }
  for (;;) {
    ssize_t n = sendmsg(fd, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n >= 0) return {ChannelIo::kDone, Status::Ok()};
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return {ChannelIo::kWouldBlock, Status::Ok()};
    if (errno == EPIPE || errno == ECONNRESET) return {ChannelIo::kClosed, Status::Ok()};
    return {ChannelIo::kError, Status::FromErrno("sendmsg(2)", kSocketName, errno)};
  }
}

ChannelResult ReceiveCompatMessages(int fd, const std::function<bool(std::string_view message)>& on_message) {
  // The shim's messages are 16 to 48 bytes: kBatch of them per recvmmsg(2), so that REPORT and
  // EXITED (or STARTED and EXITED) cost one system call, and a batch that is
  // not full says the socket is drained.
  constexpr unsigned kBatch = 8;
  constexpr size_t kSlotBytes = kMaxShimMessageBytes;  // longer: MSG_TRUNC, a protocol error
  alignas(8) char buffers[kBatch][kSlotBytes];
  alignas(cmsghdr) char controls[kBatch][CMSG_SPACE(sizeof(int) * kMaxFdsPerMessage)];
  iovec iov[kBatch];
  mmsghdr msgs[kBatch];
  for (;;) {
    for (unsigned i = 0; i < kBatch; ++i) {
      iov[i] = iovec{buffers[i], kSlotBytes};
      msgs[i] = mmsghdr{};
      msgs[i].msg_hdr.msg_iov = &iov[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
      msgs[i].msg_hdr.msg_control = controls[i];
      msgs[i].msg_hdr.msg_controllen = sizeof controls[i];
    }
    int n;
    do {
      n = recvmmsg(fd, msgs, kBatch, MSG_DONTWAIT | MSG_CMSG_CLOEXEC, nullptr);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) return {ChannelIo::kWouldBlock, Status::Ok()};
      if (errno == ECONNRESET) return {ChannelIo::kClosed, Status::Ok()};
      return {ChannelIo::kError, Status::FromErrno("recvmmsg(2)", kSocketName, errno)};
    }
    bool protocol_error = false;
    for (int i = 0; i < n; ++i) protocol_error |= DropFdsAndCheck(&msgs[i].msg_hdr);  // every fd closed
    for (int i = 0; i < n; ++i) {
      // A SEQPACKET end of file reads as an empty message; the shim sends none.
      if (msgs[i].msg_len == 0) return {ChannelIo::kClosed, Status::Ok()};
      if (protocol_error)
        return {ChannelIo::kError, Status::Protocol("compat: unexpected fds or oversized message")};
      if (!on_message(std::string_view(buffers[i], msgs[i].msg_len))) return {ChannelIo::kDone, Status::Ok()};
    }
    if (static_cast<unsigned>(n) < kBatch) return {ChannelIo::kWouldBlock, Status::Ok()};
  }
}

}  // namespace fcgi
