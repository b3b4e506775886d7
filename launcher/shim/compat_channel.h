// The launcher's side of libcompat's control channel (fork and persistent
// modes).
//
// Wire format and life cycle: core/control_protocol.h. This file has two
// layers, kept apart so the codec is testable without sockets:
//   - a pure codec: EncodeCompatRun/Signal/Shutdown build one message each;
//     DecodeCompatMessage parses one received shim message;
//   - tiny non-blocking wrappers around sendmsg/recvmmsg for a SOCK_SEQPACKET
//     socket, meant to be called when the reactor says the socket is writable
//     or readable: they never block and report kWouldBlock instead.
// No Boost here; the reactor owns the fd and its readiness notifications.
//
// Ownership: the functions never take ownership of fds passed in; received
// fds (the shim never sends any) are closed and reported as a protocol error.
#ifndef FCGI_RUN_LAUNCHER_SHIM_COMPAT_CHANNEL_H_
#define FCGI_RUN_LAUNCHER_SHIM_COMPAT_CHANNEL_H_

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/control_protocol.h"
#include "core/status.h"

namespace fcgi {

// ---- decoded shim -> launcher messages -------------------------------------

struct CompatHello {  // the program is parked and single-threaded
  uint32_t version = 0;
  pid_t pid = 0;
  uint32_t flags = 0;  // compat::HelloFlags
  uint32_t max_children = 0;
  uint32_t max_message_bytes = 0;
};
struct CompatRefused {  // the shim will not park; the process exits (status 125)
  uint32_t reason = 0;  // compat::RefuseReason
  uint32_t error = 0;   // errno, or the thread count for kRefuseThreads
  pid_t pid = 0;
};
struct CompatStarted {
  uint64_t request_id = 0;
  pid_t pid = 0;  // also the child's process group id
};
struct CompatFailed {
  uint64_t request_id = 0;  // 0 if the RUN header itself was unreadable
  int error = 0;            // errno value, see control_protocol.h
};
struct CompatExited {
  uint64_t request_id = 0;
  pid_t pid = 0;
  int wait_status = 0;  // raw waitpid() status
};
struct CompatBye {  // last message after SHUTDOWN; the process exits next
  pid_t pid = 0;
};
struct CompatReport {  // persistent mode: sent right before each EXITED
  uint64_t request_id = 0;
  uint32_t flags = 0;  // compat::ReportFlags
  uint32_t atexit_handlers = 0;
  uint32_t zombies_reaped = 0;
  uint32_t threads = 0;
  uint32_t open_fds = 0;
  uint32_t baseline_fds = 0;
  uint32_t rss_kib = 0;
  uint32_t requests = 0;
};

using CompatMessage = std::variant<CompatHello, CompatRefused, CompatStarted, CompatFailed, CompatExited,
                                   CompatBye, CompatReport>;

// ---- pure codec --------------------------------------------------------------

struct CompatRunRequest {
  uint64_t request_id = 0;
  std::vector<std::string> env;     // "NAME=VALUE" each; the child's whole environment
  std::string cwd;                  // empty: keep the parked process's cwd
  bool parent_death_signal = true;  // child gets PR_SET_PDEATHSIG(SIGKILL)
  uint32_t flags = 0;               // more compat::RunFlags (persistent mode's stdio and STARTED flags)
};

// A RUN as it goes out: the message, and the env block when it travels in a
// memfd (compat::kRunEnvMemfd: it would take the message past
// compat::kMaxMessageBytes, or has more than compat::kMaxEnvEntries entries).
struct CompatRunMessage {
  std::string bytes;      // for SendCompatMessage
  std::string env_block;  // "" when the block is in `bytes`; else for MakeEnvMemfd
};

// Encodes a RUN message into *out (replacing its contents). The stdio fds
// (and an env memfd, after them) travel separately (SendCompatMessage).
// Errors: kInvalidArgument for an entry without '=' or starting with '=', or
// any NUL byte in an entry or the cwd; kLimitExceeded for a cwd or an env
// block that cannot be sent (over 4 GiB).
Status EncodeCompatRun(const CompatRunRequest& run, CompatRunMessage* out);
// A sealed memfd (no write, grow or shrink) holding `block`, for a RUN with
// compat::kRunEnvMemfd. *fd is the caller's (close-on-exec).
Status MakeEnvMemfd(std::string_view block, int* fd);
// What the parked and persistent runners send: EncodeCompatRun into *message
// and, when the env block goes in a memfd, that memfd in *env_fd (else -1),
// which the caller sends after the stdio fds and closes once sent.
Status PrepareCompatRun(const CompatRunRequest& run, std::string* message, int* env_fd);
std::string EncodeCompatSignal(uint64_t request_id, int signo);

std::string EncodeCompatShutdown();

// Decodes one whole message as received. kProtocolError for an unknown type
// or a length that does not match the type (the message is dropped; the
// channel itself stays usable, but a launcher may prefer to stop the worker).
Status DecodeCompatMessage(std::string_view bytes, CompatMessage* out);

// Largest message the launcher accepts from the shim (its messages are 16 to
// 48 bytes; a longer one is a protocol error).
inline constexpr size_t kMaxShimMessageBytes = 4096;

// ---- non-blocking socket wrappers ---------------------------------------------

enum class ChannelIo {
  kDone,        // one whole message was sent / received
  kWouldBlock,  // nothing happened; wait for writability / readability
  kClosed,      // the peer is gone (EOF, EPIPE, ECONNRESET)
  kError,       // see status
};
struct ChannelResult {
  ChannelIo io = ChannelIo::kDone;
  Status status;  // non-OK only with kError
};

// socketpair(AF_UNIX, SOCK_SEQPACKET): both ends close-on-exec, the launcher's
// end non-blocking. The spawner must place *shim_end in the child (dup2, or
// clear FD_CLOEXEC after fork) and put its number in FCGI_RUN_COMPAT_FD, then
// close its own copy. The caller owns both fds.
Status CreateCompatSocketPair(int* launcher_end, int* shim_end);

// Sends one message with `fds` as SCM_RIGHTS (empty: no ancillary data).
// SEQPACKET sends are atomic: kWouldBlock means nothing was sent.
ChannelResult SendCompatMessage(int fd, std::string_view message, std::span<const int> fds = {});

// Receives, without blocking, everything the shim has sent, in batches of
// several messages per recvmmsg(2), and calls on_message for each in order
// (the view is valid during the call) until it returns false (then: kDone;
// messages received with that one and not yet given are dropped: stop only
// when the channel is done with).
// kWouldBlock: the socket is drained, wait for readability; kClosed: EOF;
// kError: a failed call, or fds or an oversized message (a protocol error).
ChannelResult ReceiveCompatMessages(int fd, const std::function<bool(std::string_view message)>& on_message);

// The message's protocol name, for logs: "HELLO", "REFUSED", "STARTED", ...
const char* CompatMessageName(const CompatMessage& message);

}  // namespace fcgi

#endif  // FCGI_RUN_LAUNCHER_SHIM_COMPAT_CHANNEL_H_
