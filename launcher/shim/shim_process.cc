#include "launcher/shim/shim_process.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string_view>
#include <variant>

namespace fcgi {

namespace {

constexpr int kShimFdInChild = 3;

// Why a HELLO does not do for `mode` ("" when it does).
std::string HelloMismatch(const CompatHello& hello, ShimMode mode) {
  if (hello.version != compat::kProtocolVersion) {
    return "the shim speaks protocol version " + std::to_string(hello.version) + ", expected " +
           std::to_string(compat::kProtocolVersion);
  }
  const bool persistent = (hello.flags & compat::kHelloPersistent) != 0;
  if (persistent != (mode == ShimMode::kPersistent)) {
    return std::string("the shim did not start the ") + (persistent ? "fork server" : "persistent loop") +
           " (flags " + std::to_string(hello.flags) + ")";
  }
  return "";
}

// REFUSED as a log-ready sentence.
std::string DescribeRefusal(const CompatRefused& refused, ShimMode mode) {
  if (refused.reason == compat::kRefuseThreads) {
    return "the program runs " + std::to_string(refused.error) + " threads at main()" +
           (mode == ShimMode::kFork ? ": forking would lose them" : "");
  }
  return std::string("the shim could not set up the ") +
         (mode == ShimMode::kFork ? "fork server: " : "persistent loop: ") +
         std::strerror(static_cast<int>(refused.error));
}

}  // namespace

ShimProcess::ShimProcess(boost::asio::io_context& io, Spawner& spawner, ParkSpec spec, ShimMode mode)
    : spawner_(spawner), spec_(std::move(spec)), mode_(mode), watcher_(io), channel_(io), hello_timer_(io) {}

Status ShimProcess::Start(std::weak_ptr<Owner> owner) {
  owner_ = std::move(owner);
  const ParkSpec& spec = spec_;
  int launcher_end = -1, shim_end = -1;
  Status s = CreateCompatSocketPair(&launcher_end, &shim_end);
  if (!s.ok()) return s;
  int devnull = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  if (devnull < 0) {
    int e = errno;
    ::close(launcher_end);
    ::close(shim_end);
    return Status::FromErrno("open(2)", "/dev/null", e);
  }
  SpawnSpec ss;
  ss.path = spec.program;
  ss.args = spec.args;
  ss.cwd = spec.cwd;
  ss.env = spec.env;
  ss.env.push_back("LD_PRELOAD=" + spec.compat_library);
  ss.env.push_back("LD_BIND_NOW=1");
  ss.env.push_back(std::string(compat::kControlFdEnv) + "=" + std::to_string(kShimFdInChild));
  if (mode_ == ShimMode::kPersistent)
    ss.env.push_back(std::string(compat::kModeEnv) + "=" + compat::kModePersistent);
  ss.rlimits = spec.rlimits;
  ss.stdin_fd = devnull;
  ss.stdout_fd = devnull;
  ss.stderr_fd = STDERR_FILENO;  // the shim's complaints and what runs before main reach fcgi-run's log
  ss.extra_fds.emplace_back(kShimFdInChild, shim_end);
  pid_t pid = -1;
  s = spawner_.Spawn(ss, &pid);
  ::close(devnull);
  ::close(shim_end);
  if (!s.ok()) {
    ::close(launcher_end);
    return s;
  }
  boost::system::error_code ec;
  channel_.assign(launcher_end, ec);
  if (ec) {
    ::close(launcher_end);
    kill(pid, SIGKILL);
    return Status::FromErrno("epoll_ctl(2)", "control channel of " + spec.program, ec.value());
  }
  s = watcher_.Watch(pid, [weak = owner_](int raw) {
    if (auto o = weak.lock()) o->OnShimExit(raw);
  });
  if (!s.ok()) return s;
  hello_timer_.expires_after(spec.hello_timeout);
  std::string why = "no HELLO from the preloaded shim within " + std::to_string(spec.hello_timeout.count()) +
                    " ms (the program may not use the dynamic loader's LD_PRELOAD, or it blocks before main)";
  // `this` lives as long as its owner: the handler may run (aborted) after both are gone.
  hello_timer_.async_wait([this, weak = owner_, why = std::move(why)](const boost::system::error_code& e) {
    if (e) return;
    auto o = weak.lock();
    if (o && !hello_received_) o->OnShimFailed(why);
  });
  WaitReadable();
  return Status::Ok();
}

void ShimProcess::CloseChannel() {
  hello_timer_.cancel();
  boost::system::error_code ignored;
  channel_.close(ignored);
}

void ShimProcess::WaitReadable() {
  channel_.async_wait(boost::asio::posix::descriptor_base::wait_read,
                      [this, weak = owner_](const boost::system::error_code& ec) {
                        auto owner = weak.lock();  // `this` lives as long as its owner
                        if (!owner || ec || !channel_.is_open()) return;
                        if (Read(*owner)) WaitReadable();
                      });
}

void ShimProcess::ReadQueued() {
  if (reading_ || !channel_.is_open()) return;
  auto owner = owner_.lock();
  if (!owner) return;
  Read(*owner);
}

bool ShimProcess::Read(Owner& owner) {
  std::string undecodable;
  reading_ = true;
  ChannelResult r = ReceiveCompatMessages(channel_.native_handle(), [&](std::string_view bytes) {
    CompatMessage m;
    if (Status s = DecodeCompatMessage(bytes, &m); !s.ok()) {
      undecodable = "control channel: " + s.message();
      return false;
    }
    if (!Handshake(owner, m)) owner.OnShimMessage(m);
    return channel_.is_open();  // else the owner gave the process up
  });
  reading_ = false;
  if (!undecodable.empty()) {
    owner.OnShimFailed(undecodable);
    return false;
  }
  if (!channel_.is_open()) return false;
  owner.OnShimMessagesRead();
  if (!channel_.is_open()) return false;
  switch (r.io) {
    case ChannelIo::kClosed:
      owner.OnShimChannelClosed();
      return false;
    case ChannelIo::kError:
      owner.OnShimFailed("control channel: " + r.status.message());
      return false;
    case ChannelIo::kDone:
    case ChannelIo::kWouldBlock:
      break;
  }
  return true;
}

bool ShimProcess::Handshake(Owner& owner, const CompatMessage& message) {
  if (const auto* hello = std::get_if<CompatHello>(&message)) {
    if (std::string why = HelloMismatch(*hello, mode_); !why.empty()) {
      owner.OnShimFailed(why);
      return true;
    }
    hello_received_ = true;
    hello_timer_.cancel();
    owner.OnShimHello(*hello);
    return true;
  }
  if (const auto* refused = std::get_if<CompatRefused>(&message)) {
    refused_threads_ = refused->reason == compat::kRefuseThreads;
    owner.OnShimFailed(DescribeRefusal(*refused, mode_));
    return true;
  }
  return false;
}

}  // namespace fcgi
