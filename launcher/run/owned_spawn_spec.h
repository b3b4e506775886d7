// OwnedSpawnSpec: a SpawnSpec whose stdio fds are its own copies
// (F_DUPFD_CLOEXEC), closed when it goes. The fds of the spec a runner's
// Start gets are only borrowed until Start returns: a runner that keeps the
// spec longer (a run waiting for a worker that is starting, a run kept to be
// dispatched again) keeps it in one of these.
//
// Ownership: move-only; the moved-from object holds no fds.
#ifndef FCGI_RUN_LAUNCHER_RUN_OWNED_SPAWN_SPEC_H_
#define FCGI_RUN_LAUNCHER_RUN_OWNED_SPAWN_SPEC_H_

#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <utility>

#include "launcher/run/spawner.h"

namespace fcgi {

class OwnedSpawnSpec {
 public:
  OwnedSpawnSpec() = default;
  // Copies `borrowed` with copies of its stdio fds. A copy that fails leaves
  // that fd at -1 and ok() false.
  explicit OwnedSpawnSpec(const SpawnSpec& borrowed) : spec_(borrowed) {
    for (int* fd : fds()) {
      if (*fd < 0) continue;
      *fd = fcntl(*fd, F_DUPFD_CLOEXEC, 3);
      if (*fd < 0) ok_ = false;
    }
  }
  OwnedSpawnSpec(OwnedSpawnSpec&& other) noexcept : spec_(std::move(other.spec_)), ok_(other.ok_) {
    other.Forget();
  }
  OwnedSpawnSpec& operator=(OwnedSpawnSpec&& other) noexcept {
    if (this != &other) {
      Release();
      spec_ = std::move(other.spec_);
      ok_ = other.ok_;
      other.Forget();
    }
    return *this;
  }
  OwnedSpawnSpec(const OwnedSpawnSpec&) = delete;
  OwnedSpawnSpec& operator=(const OwnedSpawnSpec&) = delete;
  ~OwnedSpawnSpec() { Release(); }

  // The spec, its fds ours (lent to whoever is given it).
  const SpawnSpec& spec() const { return spec_; }
  // Every fd was copied.
  bool ok() const { return ok_; }
  // Closes the fds now.
  void Release() {
    for (int* fd : fds()) {
      if (*fd >= 0) ::close(*fd);
    }
    Forget();
  }

 private:
  std::array<int*, 3> fds() { return {&spec_.stdin_fd, &spec_.stdout_fd, &spec_.stderr_fd}; }
  void Forget() {
    for (int* fd : fds()) *fd = -1;
  }

  SpawnSpec spec_;
  bool ok_ = true;
};

}  // namespace fcgi

#endif  // FCGI_RUN_LAUNCHER_RUN_OWNED_SPAWN_SPEC_H_
