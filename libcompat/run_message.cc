// Decoding a RUN message: see run_message.h.
#include "libcompat/run_message.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

namespace fcgi_compat {
namespace {

namespace proto = fcgi::compat;

// Counts the entries of an env block; 0 or an errno (EPROTO, E2BIG).
int CountEnvEntries(const char* block, uint32_t size, uint32_t* entries) {
  *entries = 0;
  if (size > 0 && block[size - 1] != '\0') return EPROTO;
  for (uint32_t i = 0; i < size;) {
    uint32_t length = static_cast<uint32_t>(strlen(block + i));
    if (length == 0) return EPROTO;
    if (*entries == proto::kMaxEnvEntries) return E2BIG;
    ++*entries;
    i += length + 1;
  }
  return 0;
}

// The fds a RUN with `flags` carries.
int ExpectedFds(RunLoop loop, uint32_t flags) {
  if (loop == RunLoop::kFork) return proto::kRunFdCount;
  return proto::kRunFdCount - ((flags & proto::kRunStdinNull) != 0 ? 1 : 0) -
         ((flags & proto::kRunKeepOutput) != 0 ? 2 : 0);
}

}  // namespace

int DecodeRun(const ReceivedMessage& message, unsigned char* buffer, RunLoop loop, RunView* out) {
  out->request_id = 0;
  out->cwd[0] = '\0';
  proto::RunHeader h;
  if (message.length < sizeof h) return EPROTO;
  memcpy(&h, buffer, sizeof h);
  out->request_id = h.request_id;
  out->flags = h.flags;
  if (message.truncated || static_cast<uint64_t>(h.env_bytes) + h.cwd_bytes + sizeof h != message.length)
    return EPROTO;
  if (message.nfds != ExpectedFds(loop, h.flags) || message.fds_truncated) return EBADMSG;
  if (h.cwd_bytes > kMaxCwdBytes) return ENAMETOOLONG;
  out->env = reinterpret_cast<char*>(buffer + sizeof h);
  out->env_bytes = h.env_bytes;
  if (int error = CountEnvEntries(out->env, h.env_bytes, &out->env_entries); error != 0) return error;
  memcpy(out->cwd, buffer + sizeof h + h.env_bytes, h.cwd_bytes);
  out->cwd[h.cwd_bytes] = '\0';
  if (strlen(out->cwd) != h.cwd_bytes) return EPROTO;
  return 0;
}

void SplitEnvBlock(const RunView& view, char* block, char** envp) {
  uint32_t n = 0;
  for (uint32_t i = 0; n < view.env_entries; ++n) {
    envp[n] = block + i;
    i += static_cast<uint32_t>(strlen(block + i)) + 1;
  }
  envp[n] = nullptr;
}

void CloseFds(const int* fds, int n) {
  for (int i = 0; i < n; ++i) close(fds[i]);
}

}  // namespace fcgi_compat
