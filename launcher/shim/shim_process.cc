#include "launcher/shim/shim_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <string_view>

#include "launcher/shim/compat_channel.h"

namespace fcgi {

namespace {
constexpr int kShimFdInChild = 3;

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

ShimProcess::ShimProcess(boost::asio::io_context& io) : watcher_(io), channel_(io), hello_timer_(io) {}

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

Status ShimProcess::Spawn(Spawner& spawner, const ParkSpec& spec, const std::vector<std::string>& extra_env,
                          ExitCallback on_exit, NoHelloCallback on_no_hello) {
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
  if (script) ss.env.push_back(std::string(compat::kParkEnv) + "=" + spec.script_language);
  ss.env.insert(ss.env.end(), extra_env.begin(), extra_env.end());
  ss.rlimits = spec.rlimits;
  ss.stdin_fd = devnull;
  ss.stdout_fd = script ? script_out : devnull;
  // The shim's complaints and what runs before main reach fcgi-run's log;
  // a script's compile-time messages are read from the memfd and logged.
  ss.stderr_fd = script ? compile_stderr_fd_ : STDERR_FILENO;
  ss.extra_fds.emplace_back(kShimFdInChild, shim_end);
  pid_t pid = -1;
  s = spawner.Spawn(ss, &pid);
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
  s = watcher_.Watch(pid, std::move(on_exit));
  if (!s.ok()) return s;
  hello_timer_.expires_after(spec.hello_timeout);
  // Captures no `this`: the handler may run (aborted) after the owner is gone.
  std::string why =
      script ? "the script did not finish compiling within --park-timeout (" +
                   std::to_string(spec.hello_timeout.count()) + " ms)"
             : "no HELLO from the preloaded shim within " + std::to_string(spec.hello_timeout.count()) +
                   " ms (the program may not use the dynamic loader's LD_PRELOAD, or it blocks before main)";
  hello_timer_.async_wait(
      [on_no_hello = std::move(on_no_hello), why = std::move(why)](const boost::system::error_code& e) {
        if (!e) on_no_hello(why);
      });
  return Status::Ok();
}

void ShimProcess::CloseChannel() {
  hello_timer_.cancel();
  boost::system::error_code ignored;
  channel_.close(ignored);
}

void ShimProcess::WatchMessages(std::weak_ptr<void> owner, std::function<bool()> active,
                                std::function<bool(const CompatMessage&)> dispatch,
                                std::function<void(const std::string&)> fail) {
  channel_.async_wait(
      boost::asio::posix::descriptor_base::wait_read,
      [this, owner = std::move(owner), active = std::move(active), dispatch = std::move(dispatch),
       fail = std::move(fail)](const boost::system::error_code& ec) mutable {
        auto keep = owner.lock();  // `this` lives as long as its owner
        if (!keep || ec || !active()) return;
        std::string why;
        switch (ReadCompatMessages(channel_.native_handle(), dispatch, &why)) {
          case ChannelRead::kFailed:
            fail(why);
            return;
          case ChannelRead::kStopped:
            return;
          case ChannelRead::kWaitAgain:
            WatchMessages(std::move(owner), std::move(active), std::move(dispatch), std::move(fail));
            return;
        }
      });
}

}  // namespace fcgi
