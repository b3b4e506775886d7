// Decoding a RUN message: see run_message.h.
#include "libcompat/run_message.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace fcgi_compat {
namespace {

namespace proto = fcgi::compat;

// Checks an env block (every entry non-empty and NUL-terminated) and counts
// its entries; 0 or EPROTO.
int CountEnvEntries(const char* block, uint32_t size, uint32_t* entries) {
  *entries = 0;
  if (size > 0 && block[size - 1] != '\0') return EPROTO;
  for (uint32_t i = 0; i < size;) {
    uint32_t length = static_cast<uint32_t>(strlen(block + i));
    if (length == 0) return EPROTO;
    ++*entries;
    i += length + 1;
  }
  return 0;
}

// The fds a RUN with `flags` carries.
int ExpectedFds(RunLoop loop, uint32_t flags) {
  int fds = proto::kRunFdCount;
  if (loop == RunLoop::kPersistent) {
    fds -= ((flags & proto::kRunStdinNull) != 0 ? 1 : 0) + ((flags & proto::kRunKeepOutput) != 0 ? 2 : 0);
  }
  return fds + ((flags & proto::kRunEnvMemfd) != 0 ? 1 : 0);
}

// Maps the env memfd's first `size` bytes private and writable
// (copy-on-write: envp points into it, and a program may write to its
// environment strings). nullptr with errno set (EPROTO: shorter than size).
char* MapEnvMemfd(int fd, uint32_t size) {
  struct stat st;
  if (fstat(fd, &st) != 0) return nullptr;
  if (size == 0 || st.st_size < static_cast<off_t>(size)) {
    errno = EPROTO;
    return nullptr;
  }
  void* block = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
  return block == MAP_FAILED ? nullptr : static_cast<char*>(block);
}

}  // namespace

int DecodeRun(const ReceivedMessage& message, unsigned char* buffer, RunLoop loop, RunView* out) {
  out->request_id = 0;
  out->env = nullptr;
  out->env_mapped = false;
  out->fd_count = message.nfds;
  out->cwd[0] = '\0';
  proto::RunHeader h;
  if (message.length < sizeof h) return EPROTO;
  memcpy(&h, buffer, sizeof h);
  out->request_id = h.request_id;
  out->flags = h.flags;
  const bool env_memfd = (h.flags & proto::kRunEnvMemfd) != 0;
  const uint64_t inline_env = env_memfd ? 0 : h.env_bytes;
  if (message.truncated || inline_env + h.cwd_bytes + sizeof h != message.length) return EPROTO;
  if (message.nfds != ExpectedFds(loop, h.flags) || message.fds_truncated) return EBADMSG;
  if (h.cwd_bytes > kMaxCwdBytes) return ENAMETOOLONG;
  memcpy(out->cwd, buffer + sizeof h + inline_env, h.cwd_bytes);
  out->cwd[h.cwd_bytes] = '\0';
  if (strlen(out->cwd) != h.cwd_bytes) return EPROTO;
  out->env_bytes = h.env_bytes;
  if (env_memfd) {  // the last fd: mapped, then closed (no child may inherit it)
    const int memfd = message.fds[message.nfds - 1];
    out->env = MapEnvMemfd(memfd, h.env_bytes);
    const int map_error = errno;
    close(memfd);
    out->fd_count = message.nfds - 1;
    if (out->env == nullptr) return map_error;
    out->env_mapped = true;
  } else {
    out->env = reinterpret_cast<char*>(buffer + sizeof h);
  }
  int error = CountEnvEntries(out->env, h.env_bytes, &out->env_entries);
  if (error == 0 && !env_memfd && out->env_entries > proto::kMaxEnvEntries) error = E2BIG;
  if (error != 0) ReleaseRunEnv(out);
  return error;
}

void SplitEnvBlock(const RunView& view, char* block, char** envp) {
  uint32_t n = 0;
  for (uint32_t i = 0; n < view.env_entries; ++n) {
    envp[n] = block + i;
    i += static_cast<uint32_t>(strlen(block + i)) + 1;
  }
  envp[n] = nullptr;
}

void ReleaseRunEnv(RunView* view) {
  if (view->env_mapped) munmap(view->env, view->env_bytes);
  view->env_mapped = false;
  view->env = nullptr;
}

void CloseFds(const int* fds, int n) {
  for (int i = 0; i < n; ++i) close(fds[i]);
}

}  // namespace fcgi_compat
