// Decoding a RUN message (core/control_protocol.h) on the shim's side: the one
// decoder of the fork server (fork_server.cc) and the persistent loop
// (persistent_server.cc). It checks the header, the fds that came with it,
// the env block (in the message, or in the env memfd of kRunEnvMemfd) and the
// cwd, and leaves what only one loop decides (draining, the child limit,
// resident output) to that loop.
//
// libc only; nothing allocates but the env memfd's mapping. The decoded view
// points into the caller's message buffer (cwd is copied) or into that
// mapping, which ReleaseRunEnv() unmaps: the view is valid until then and
// while the buffer is unchanged.
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
  char* env = nullptr;      // the env block: in the message buffer, or mapped
  uint32_t env_bytes = 0;
  uint32_t env_entries = 0;  // NAME=VALUE strings in the block
  bool env_mapped = false;   // env is a private, writable mapping of the env memfd
  // The message's fds still open that the caller owns: all of them, or, once
  // DecodeRun has mapped the env memfd (the last fd), all but that one, which
  // it closed. Close message.fds[0 .. fd_count - 1] on every path.
  int fd_count = 0;
  char cwd[kMaxCwdBytes + 1];  // NUL-terminated; "" keeps the current cwd
};

// Which loop reads the RUN: the fds it must carry differ. Fork mode: always
// stdin, stdout and stderr; persistent mode: fewer with kRunStdinNull and
// kRunKeepOutput. Either: one more, last, with kRunEnvMemfd.
enum class RunLoop { kFork, kPersistent };

// Decodes the RUN `message` (a ReceiveControlMessage() into `buffer`).
// Returns 0, or the errno the shim answers in FAILED: EPROTO (too short, too
// long, sizes that do not add up, an entry that is empty or not
// NUL-terminated, a NUL in the cwd, an env memfd shorter than env_bytes),
// EBADMSG (not the fds the flags say), ENAMETOOLONG (cwd), E2BIG (more than
// kMaxEnvEntries entries in the message itself; an env memfd may hold any
// number), or fstat(2)'s / mmap(2)'s errno for the env memfd.
// out->request_id is set whenever the header was there; out->fd_count always.
// On an error nothing stays mapped.
int DecodeRun(const ReceivedMessage& message, unsigned char* buffer, RunLoop loop, RunView* out);

// Fills envp[0 .. view.env_entries - 1] with the entries of the view's env
// block (pointers into `block`, a block laid out as the view's, e.g. a copy)
// and envp[view.env_entries] with nullptr. REQUIRES: envp has
// view.env_entries + 1 slots; DecodeRun accepted the view.
void SplitEnvBlock(const RunView& view, char* block, char** envp);

// Unmaps the env memfd's mapping, if the view has one. Idempotent. A child
// forked before keeps its own copy of the mapping.
void ReleaseRunEnv(RunView* view);

// Closes fds[0 .. n-1].
void CloseFds(const int* fds, int n);

}  // namespace fcgi_compat

#endif  // FCGI_RUN_LIBCOMPAT_RUN_MESSAGE_H_
