#include "launcher/shim/shim_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string_view>
#include <variant>

#include "launcher/shim/compat_channel.h"

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

// REFUSED as a log-ready sentence. `script`: a script park (after its
// compilation, not at main()).
std::string DescribeRefusal(const CompatRefused& refused, ShimMode mode, bool script) {
  const uint32_t error = refused.error;
  switch (refused.reason) {
    case compat::kRefuseThreads:
      return "the program runs " + std::to_string(error) + " threads " +
             (script ? "once compiled" : "at main()") +
             (mode == ShimMode::kFork ? ": forking would lose them" : "");
    case compat::kRefuseStdinRead:
      return "the script read stdin while compiling (a request's body is not there yet)";
    case compat::kRefuseStdioReplaced:
      return std::string("the script ") +
             (error == 0   ? "replaced or closed stdin"
              : error == 1 ? "replaced or closed stdout"
                           : "replaced or closed stderr") +
             " while compiling";
    case compat::kRefuseCompileOutput:
      return "the script wrote " + std::to_string(error) + " bytes while compiling (at most " +
             std::to_string(compat::kMaxCompileOutputBytes) +
             " are kept for each request; Python: none on stdout)";
    default:
      return std::string("the shim could not set up the ") +
             (mode == ShimMode::kFork ? "park: " : "persistent loop: ") +
             std::strerror(static_cast<int>(error));
  }
}

// A memfd (close-on-exec in the launcher) holding `content`, at offset 0.
int MakeMemfd(const char* name, std::string_view content, Status* error) {
  int fd = memfd_create(name, MFD_CLOEXEC);
  if (fd < 0) {
    *error = Status::FromErrno("memfd_create(2)", name, errno);
    return -1;
  }
  if (!content.empty() &&
      (pwrite(fd, content.data(), content.size(), 0) != static_cast<ssize_t>(content.size()))) {
    *error = Status::FromErrno("pwrite(2)", name, errno);
    ::close(fd);
    return -1;
  }
  return fd;
}

// The stdio of a script park (core/control_protocol.h, "Script park"):
// a probe file on stdin, memfds on stdout and stderr. Closes what it made on error.
Status MakeScriptStdio(int* in, int* out, int* err) {
  Status s = Status::Ok();
  *in = MakeMemfd("fcgi-run-compile-stdin", compat::kCompileStdinProbe, &s);
  if (*in >= 0) *out = MakeMemfd("fcgi-run-compile-stdout", "", &s);
  if (*out >= 0) *err = MakeMemfd("fcgi-run-compile-stderr", "", &s);
  if (s.ok()) return s;
  for (int fd : {*in, *out}) {
    if (fd >= 0) ::close(fd);
  }
  *in = *out = *err = -1;
  return s;
}

}  // namespace

ShimProcess::ShimProcess(boost::asio::io_context& io, Spawner& spawner, ParkSpec spec, ShimMode mode)
    : spawner_(spawner), spec_(std::move(spec)), mode_(mode), watcher_(io), channel_(io), hello_timer_(io) {}

ShimProcess::~ShimProcess() {
  if (compile_stderr_fd_ >= 0) ::close(compile_stderr_fd_);
}

std::string ShimProcess::TakeCompileOutput() {
  std::string out;
  if (compile_stderr_fd_ < 0) return out;
  char buffer[16384];
  for (;;) {
    ssize_t n = pread(compile_stderr_fd_, buffer, sizeof buffer, static_cast<off_t>(compile_stderr_read_));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    out.append(buffer, static_cast<size_t>(n));
    compile_stderr_read_ += static_cast<uint64_t>(n);
  }
  return out;
}

Status ShimProcess::Start(std::weak_ptr<Owner> owner) {
  owner_ = std::move(owner);
  const ParkSpec& spec = spec_;
  int launcher_end = -1, shim_end = -1;
  Status s = CreateCompatSocketPair(&launcher_end, &shim_end);
  if (!s.ok()) return s;
  const bool script = !spec.script.empty();
  int devnull = -1, script_out = -1;
  if (script) {
    s = MakeScriptStdio(&devnull, &script_out, &compile_stderr_fd_);
    compile_stderr_read_ = 0;
  } else {
    devnull = ::open("/dev/null", O_RDWR | O_CLOEXEC);
    if (devnull < 0) s = Status::FromErrno("open(2)", "/dev/null", errno);
  }
  if (!s.ok()) {
    ::close(launcher_end);
    ::close(shim_end);
    return s;
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
  if (script) ss.env.push_back(std::string(compat::kParkEnv) + "=" + spec.script_language);
  ss.rlimits = spec.rlimits;
  ss.stdin_fd = devnull;
  ss.stdout_fd = script ? script_out : devnull;
  // The shim's complaints and what runs before main reach fcgi-run's log;
  // a script's compile-time messages are read from the memfd and logged.
  ss.stderr_fd = script ? compile_stderr_fd_ : STDERR_FILENO;
  ss.extra_fds.emplace_back(kShimFdInChild, shim_end);
  pid_t pid = -1;
  s = spawner_.Spawn(ss, &pid);
  ::close(devnull);
  if (script_out >= 0) ::close(script_out);
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
  std::string why =
      script ? "the script did not finish compiling within --park-timeout (" +
                   std::to_string(spec.hello_timeout.count()) + " ms)"
             : "no HELLO from the preloaded shim within " + std::to_string(spec.hello_timeout.count()) +
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
    owner.OnShimFailed(DescribeRefusal(*refused, mode_, !spec_.script.empty()));
    return true;
  }
  return false;
}

}  // namespace fcgi
