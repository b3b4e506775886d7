#include "launcher/shim/shim_process.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>

#include "launcher/shim/compat_channel.h"

namespace fcgi {

namespace {
constexpr int kShimFdInChild = 3;
}  // namespace

ShimProcess::ShimProcess(boost::asio::io_context& io) : watcher_(io), channel_(io), hello_timer_(io) {}

Status ShimProcess::Spawn(Spawner& spawner, const ParkSpec& spec, const std::vector<std::string>& extra_env,
                          ExitCallback on_exit, NoHelloCallback on_no_hello) {
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
  ss.env.insert(ss.env.end(), extra_env.begin(), extra_env.end());
  ss.rlimits = spec.rlimits;
  ss.stdin_fd = devnull;
  ss.stdout_fd = devnull;
  ss.stderr_fd = STDERR_FILENO;  // the shim's complaints and what runs before main reach fcgi-run's log
  ss.extra_fds.emplace_back(kShimFdInChild, shim_end);
  pid_t pid = -1;
  s = spawner.Spawn(ss, &pid);
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
  s = watcher_.Watch(pid, std::move(on_exit));
  if (!s.ok()) return s;
  hello_timer_.expires_after(spec.hello_timeout);
  // Captures no `this`: the handler may run (aborted) after the owner is gone.
  std::string why = "no HELLO from the preloaded shim within " + std::to_string(spec.hello_timeout.count()) +
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
