#include "launcher/direct_worker.h"

#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>
#include <variant>

#include "launcher/log.h"

namespace fcgi {

namespace {

const compat::DirectSlot* Slot(const void* mapping) {
  return static_cast<const compat::DirectSlot*>(mapping);
}

LogLevel LevelOf(uint32_t value) {
  return static_cast<LogLevel>(std::min<uint32_t>(value, static_cast<uint32_t>(LogLevel::kError)));
}

}  // namespace

DirectWorker::DirectWorker(boost::asio::io_context& io, Spawner& spawner, const DirectWorkerSpec& spec)
    : io_(io), spawner_(spawner), spec_(spec), shim_(io), kill_timer_(io) {}

// shim_'s destructor kills and reaps the worker if it still runs.
DirectWorker::~DirectWorker() {
  if (slot_fd_ >= 0) ::close(slot_fd_);
  if (slot_ != nullptr) munmap(const_cast<void*>(slot_), sizeof(compat::DirectSlot));
}

Status DirectWorker::Spawn(Callbacks callbacks) {
  callbacks_ = std::move(callbacks);
  slot_fd_ = memfd_create("fcgi-run direct slot", MFD_CLOEXEC);
  if (slot_fd_ < 0) return Status::FromErrno("memfd_create(2)", "direct-mode slot", errno);
  if (ftruncate(slot_fd_, sizeof(compat::DirectSlot)) != 0) {
    return Status::FromErrno("ftruncate(2)", "direct-mode slot", errno);
  }
  void* m = mmap(nullptr, sizeof(compat::DirectSlot), PROT_READ, MAP_SHARED, slot_fd_, 0);
  if (m == MAP_FAILED) return Status::FromErrno("mmap(2)", "direct-mode slot", errno);
  slot_ = m;  // all zero: no request running
  std::weak_ptr<DirectWorker> weak = weak_from_this();
  Status s = shim_.Spawn(
      spawner_, spec_.park, {std::string(compat::kModeEnv) + "=" + compat::kModePersistent},
      [weak](int raw) {
        if (auto self = weak.lock()) self->OnProcessExit(raw);
      },
      [weak](const std::string& why) {
        auto self = weak.lock();
        if (self && !self->serving_ && !self->gone_) self->Fail(why);
      });
  if (!s.ok()) return s;
  WaitReadable();
  return Status::Ok();
}

uint64_t DirectWorker::RequestStartedNs() const {
  return slot_ == nullptr ? 0 : __atomic_load_n(&Slot(slot_)->started_ns, __ATOMIC_ACQUIRE);
}

uint64_t DirectWorker::RequestsServed() const {
  return slot_ == nullptr ? 0 : __atomic_load_n(&Slot(slot_)->requests, __ATOMIC_RELAXED);
}

void DirectWorker::Shutdown() {
  if (gone_ || shutdown_sent_) return;
  shutdown_sent_ = true;
  if (!serving_) {  // still starting: nothing to drain
    shim_.watcher().SignalGroup(SIGKILL);
    return;
  }
  ChannelResult r = SendCompatMessage(shim_.channel().native_handle(), EncodeCompatShutdown());
  if (r.io != ChannelIo::kDone) shim_.watcher().SignalGroup(SIGKILL);
}

void DirectWorker::Terminate(std::chrono::milliseconds grace) {
  if (gone_ || terminating_) return;
  terminating_ = true;
  shim_.watcher().SignalGroup(SIGTERM);
  kill_timer_.expires_after(grace);
  kill_timer_.async_wait([weak = weak_from_this()](const boost::system::error_code& ec) {
    auto self = weak.lock();
    if (!ec && self && !self->gone_) self->shim_.watcher().SignalGroup(SIGKILL);
  });
}

void DirectWorker::Kill() {
  terminating_ = true;
  if (!gone_) shim_.watcher().SignalGroup(SIGKILL);
}

void DirectWorker::WaitReadable() {
  std::weak_ptr<DirectWorker> weak = weak_from_this();
  shim_.WatchMessages(
      weak,
      [weak] {
        auto self = weak.lock();
        return self && !self->gone_;
      },
      [weak](const CompatMessage& m) {
        auto self = weak.lock();
        if (!self) return false;
        self->Dispatch(m);
        return !self->gone_;
      },
      [weak](const std::string& why) {
        if (auto self = weak.lock()) self->Fail(why);
      });
}

void DirectWorker::Dispatch(const CompatMessage& m) {
  if (auto* hello = std::get_if<CompatHello>(&m)) {
    if (serving_ || stopping()) return;  // stopping before HELLO: it was killed
    if (hello->version != compat::kProtocolVersion || (hello->flags & compat::kHelloPersistent) == 0) {
      Fail("the shim did not start the persistent loop (protocol version " + std::to_string(hello->version) +
           ", flags " + std::to_string(hello->flags) + ")");
      return;
    }
    shim_.HelloReceived();
    SendDirect((hello->flags & compat::kHelloLibStdCxx) != 0);
  } else if (auto* refused = std::get_if<CompatRefused>(&m)) {
    refused_threads_ = refused->reason == compat::kRefuseThreads;
    Fail(refused->reason == compat::kRefuseThreads
             ? "the program runs " + std::to_string(refused->error) + " threads at main()"
             : std::string("the shim could not set up: ") + std::strerror(static_cast<int>(refused->error)));
  } else if (auto* log = std::get_if<CompatLog>(&m)) {
    Log::Write(LevelOf(log->level), "worker pid " + std::to_string(pid()) + ": " + log->text);
  } else if (auto* retire = std::get_if<CompatRetire>(&m)) {
    if (retired_) return;
    retired_ = true;
    if (callbacks_.on_retire) callbacks_.on_retire(retire->reason, retire->requests);
  } else if (std::holds_alternative<CompatBye>(m)) {
    LogDebug("direct mode: worker pid " + std::to_string(pid()) + " of " + spec_.park.program + " said BYE");
  } else {
    LogDebug(std::string("direct mode: worker pid ") + std::to_string(pid()) + " sent an unexpected " +
             CompatMessageName(m) + " (ignored)");
  }
}

void DirectWorker::SendDirect(bool links_libstdcxx) {
  CompatDirectRequest d = spec_.direct;
  d.listener_count = static_cast<uint32_t>(spec_.listeners.size());
  if (links_libstdcxx) d.flags |= compat::kDirectLinksLibStdCxx;
  std::string message;
  if (Status s = EncodeCompatDirect(d, &message); !s.ok()) {
    Fail(s.message());
    return;
  }
  std::vector<int> fds = spec_.listeners;
  fds.push_back(slot_fd_);
  // Nothing else is in flight after HELLO: the socket has room for DIRECT.
  ChannelResult r = SendCompatMessage(shim_.channel().native_handle(), message, fds);
  if (r.io != ChannelIo::kDone) {
    Fail("control channel: " +
         (r.io == ChannelIo::kError ? r.status.message() : std::string("cannot send DIRECT")));
    return;
  }
  ::close(slot_fd_);  // the worker has its copy; the mapping stays
  slot_fd_ = -1;
  serving_ = true;
  LogDebug("direct mode: worker pid " + std::to_string(pid()) + " of " + spec_.park.program + " serving" +
           (links_libstdcxx ? " (links libstdc++)" : ""));
  if (callbacks_.on_serving) callbacks_.on_serving();
}

// A start-up failure (before DIRECT went out) ends the worker at once; later
// ones are logged and reported when the process's exit status arrives.
void DirectWorker::Fail(const std::string& why) {
  if (gone_) return;
  auto keep = shared_from_this();
  shim_.watcher().SignalGroup(SIGKILL);
  terminating_ = true;
  if (!serving_) {
    gone_ = true;
    shim_.CloseChannel();
    if (callbacks_.on_gone) callbacks_.on_gone(why, true, false, -1);
    return;
  }
  LogWarning("direct mode: worker pid " + std::to_string(pid()) + " of " + spec_.park.program + ": " + why);
}

void DirectWorker::OnProcessExit(int raw_status) {
  if (gone_) return;
  auto keep = shared_from_this();
  gone_ = true;
  kill_timer_.cancel();
  shim_.CloseChannel();
  const bool running = RequestStartedNs() != 0;
  std::string why = "worker pid " + std::to_string(pid()) + " ended: " + DescribeWaitStatus(raw_status);
  if (callbacks_.on_gone) callbacks_.on_gone(why, !serving_, running, raw_status);
}

}  // namespace fcgi
