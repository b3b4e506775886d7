// Decoding a RUN message (core/control_protocol.h) on the shim's side: the one
// decoder of the fork server (fork_server.cc) and the persistent loop
// (persistent_server.cc). It checks the header, the fds that came with it,
// the env block and the cwd, and leaves what only one loop decides (draining,
// the child limit, resident output) to that loop.
//
// libc only; nothing allocates. The decoded view points into the caller's
// message buffer and is valid while that buffer is unchanged.
#ifndef FCGI_RUN_LIBCOMPAT_RUN_MESSAGE_H_
#define FCGI_RUN_LIBCOMPAT_RUN_MESSAGE_H_

#include <cstddef>
#include <cstdint>

#include "core/control_protocol.h"
#include "libcompat/control_receive.h"

namespace fcgi_compat {

// Longest RUN cwd, in bytes (a Linux path, PATH_MAX without the NUL).
constexpr uint32_t kMaxCwdBytes = 4096;

struct RunView {
  uint64_t request_id = 0;  // 0 when not even the header was readable
  uint32_t flags = 0;       // fcgi::compat::RunFlags
  char* env = nullptr;      // the env block, in the message buffer
  uint32_t env_bytes = 0;
  uint32_t env_entries = 0;    // NAME=VALUE strings in the block
  char cwd[kMaxCwdBytes + 1];  // NUL-terminated; "" keeps the current cwd
};

// Which loop reads the RUN: the fds it must carry differ. Fork mode: always
// stdin, stdout and stderr; persistent mode: fewer with kRunStdinNull and
// kRunKeepOutput.
enum class RunLoop { kFork, kPersistent };

// Decodes the RUN `message` (a ReceiveControlMessage() into `buffer`).
// Returns 0, or the errno the shim answers in FAILED: EPROTO (too short, too
// long, sizes that do not add up, an entry that is empty or not
// NUL-terminated, a NUL in the cwd), EBADMSG (not the fds the flags say),
// ENAMETOOLONG (cwd), E2BIG (more than kMaxEnvEntries entries).
// out->request_id is set whenever the header was there.
int DecodeRun(const ReceivedMessage& message, unsigned char* buffer, RunLoop loop, RunView* out);

// Fills envp[0 .. view.env_entries - 1] with the entries of the view's env
// block (pointers into `block`, a block laid out as the view's, e.g. a copy)
// and envp[view.env_entries] with nullptr. REQUIRES: envp has
// view.env_entries + 1 slots; DecodeRun accepted the view.
void SplitEnvBlock(const RunView& view, char* block, char** envp);

// Closes fds[0 .. n-1].
void CloseFds(const int* fds, int n);

}  // namespace fcgi_compat

#endif  // FCGI_RUN_LIBCOMPAT_RUN_MESSAGE_H_
