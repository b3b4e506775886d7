#include "launcher/shim/parked_program.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <utility>
#include <variant>

#include "core/cgi_environment.h"
#include "launcher/log/log.h"
#include "launcher/shim/compat_channel.h"

namespace fcgi {

ParkedProgram::ParkedProgram(boost::asio::io_context& io, Spawner& spawner, ParkSpec spec)
    : shim_(io, spawner, std::move(spec), ShimMode::kFork) {}

ParkedProgram::~ParkedProgram() {
  for (Outgoing& o : outgoing_) {
    for (int fd : o.fds) ::close(fd);
  }
  // shim_'s destructor kills and reaps the parked process if still running.
}

Status ParkedProgram::Spawn(ReadyCallback on_ready, FailedCallback on_failed) {
  on_ready_ = std::move(on_ready);
  on_failed_ = std::move(on_failed);
  return shim_.Start(weak_from_this());
}

uint64_t ParkedProgram::Run(const SpawnSpec& spec, ProgramRunner::StartedCallback on_started,
                            ProgramRunner::ExitCallback on_exit, LostCallback on_lost) {
  if (dead_ || gone_) return 0;
  const uint64_t id = next_id_++;
  CompatRunRequest run;
  run.request_id = id;
  run.env = spec.env;
  run.cwd = spec.cwd;
  std::string message;
  int env_fd = -1;
  Status s = PrepareCompatRun(run, &message, &env_fd);
  if (!s.ok()) {
    on_started(s, -1, nullptr);
    return id;
  }
  // The env memfd, if any, is sent (or queued, as a copy) below: ours closes here.
  struct CloseOnReturn {
    int fd;
    ~CloseOnReturn() {
      if (fd >= 0) ::close(fd);
    }
  } env_fd_owner{env_fd};
  const int fds[4] = {spec.stdin_fd, spec.stdout_fd, spec.stderr_fd, env_fd};
  const size_t nfds = env_fd >= 0 ? 4 : 3;
  if (outgoing_.empty()) {
    ChannelResult r =
        SendCompatMessage(shim_.channel().native_handle(), message, std::span<const int>(fds, nfds));
    if (r.io == ChannelIo::kClosed || r.io == ChannelIo::kError) {
      // Not handed over, so certainly not started: the caller may retry it.
      // (`this` may be destroyed by Fail's callback: touch nothing after it.)
      if (r.io == ChannelIo::kClosed) {
        Gone("control channel: closed by the parked process");
      } else {
        Fail("control channel: " + r.status.message());
      }
      return 0;
    }
    if (r.io == ChannelIo::kDone) {
      runs_[id] = PendingRun{std::move(on_started), std::move(on_exit), std::move(on_lost), false};
      return id;
    }
  }
  runs_[id] = PendingRun{std::move(on_started), std::move(on_exit), std::move(on_lost), false};
  Send(std::move(message), fds, nfds);  // the socket is full: queued
  return id;
}

void ParkedProgram::Signal(uint64_t request_id, int sig) {
  auto it = runs_.find(request_id);
  if (it == runs_.end() || dead_) return;
  Send(EncodeCompatSignal(request_id, sig), nullptr, 0);
}

void ParkedProgram::Shutdown() {
  if (dead_ || shutting_down_) return;
  shutting_down_ = true;
  Send(EncodeCompatShutdown(), nullptr, 0);
}

void ParkedProgram::Kill() { shim_.watcher().SignalGroup(SIGKILL); }

void ParkedProgram::Send(std::string message, const int* fds, size_t nfds) {
  if (dead_ || gone_) return;
  if (outgoing_.empty()) {
    ChannelResult r =
        SendCompatMessage(shim_.channel().native_handle(), message, std::span<const int>(fds, nfds));
    if (r.io == ChannelIo::kDone) return;
    if (r.io == ChannelIo::kClosed) {
      Gone("control channel: closed by the parked process");
      return;
    }
    if (r.io == ChannelIo::kError) {
      Fail("control channel: " + r.status.message());
      return;
    }
  }
  // The socket is full: keep the message, with our own copies of its fds.
  Outgoing o;
  o.message = std::move(message);
  for (size_t i = 0; i < nfds; ++i) {
    int d = fcntl(fds[i], F_DUPFD_CLOEXEC, 3);
    if (d < 0) {
      for (int x : o.fds) ::close(x);
      Fail(Status::FromErrno("fcntl(2) F_DUPFD_CLOEXEC", "request stdio", errno).message());
      return;
    }
    o.fds.push_back(d);
  }
  outgoing_.push_back(std::move(o));
  FlushOutgoing();
}

void ParkedProgram::FlushOutgoing() {
  while (!outgoing_.empty() && !dead_ && !gone_) {
    Outgoing& o = outgoing_.front();
    ChannelResult r = SendCompatMessage(shim_.channel().native_handle(), o.message, o.fds);
    if (r.io == ChannelIo::kWouldBlock) {
      if (!write_wait_) {
        write_wait_ = true;
        shim_.channel().async_wait(boost::asio::posix::descriptor_base::wait_write,
                                   [weak = weak_from_this()](const boost::system::error_code& ec) {
                                     auto self = weak.lock();
                                     if (!self) return;
                                     self->write_wait_ = false;
                                     if (!ec) self->FlushOutgoing();
                                   });
      }
      return;
    }
    for (int fd : o.fds) ::close(fd);
    outgoing_.pop_front();
    if (r.io == ChannelIo::kClosed) {
      Gone("control channel: closed by the parked process");
      return;
    }
    if (r.io != ChannelIo::kDone) {
      Fail("control channel: " + r.status.message());
      return;
    }
  }
}

void ParkedProgram::OnShimHello(const CompatHello& hello) {
  const ParkSpec& spec = shim_.spec();
  if (spec.script.empty()) {
    LogInfo("fork mode: " + spec.program + " parked at main() as pid " + std::to_string(hello.pid));
  } else {
    LogCompileOutput();
    LogInfo("fork mode: " + spec.script + " (" + spec.script_language + ") parked after compilation as pid " +
            std::to_string(hello.pid));
  }
  if (on_ready_) on_ready_();
}

void ParkedProgram::OnShimMessagesRead() {
  if (gone_) Fail(gone_why_, true);  // found gone while dispatching (a send failed): all it sent is read now
}

void ParkedProgram::OnShimChannelClosed() {
  // EOF: the process is exiting; OnShimExit reports what is pending.
  // (A script that never parked ends while compiling: its exit says why.)
  if (!shutting_down_ && (shim_.hello_received() || !after_compilation())) {
    LogWarning("fork mode: parked " + shim_.program() + " closed its control channel");
  }
}

void ParkedProgram::OnShimMessage(const CompatMessage& m) {
  if (auto* started = std::get_if<CompatStarted>(&m)) {
    auto it = runs_.find(started->request_id);
    if (it != runs_.end() && !it->second.started) {
      it->second.started = true;
      auto cb = it->second.on_started;
      cb(Status::Ok(), started->pid, nullptr);
    }
  } else if (auto* failed = std::get_if<CompatFailed>(&m)) {
    auto it = runs_.find(failed->request_id);
    if (it != runs_.end()) {
      auto cb = std::move(it->second.on_started);
      runs_.erase(it);
      cb(Status::FromErrno("fork(2) in the parked process", shim_.program(), failed->error), -1, nullptr);
    }
  } else if (auto* exited = std::get_if<CompatExited>(&m)) {
    auto it = runs_.find(exited->request_id);
    if (it != runs_.end()) {
      auto cb = std::move(it->second.on_exit);
      runs_.erase(it);
      cb(exited->wait_status);
    }
  }
  // BYE: nothing to do; the process exit follows.
}

void ParkedProgram::Gone(const std::string& why) {
  if (dead_) return;
  if (!gone_) {
    gone_ = true;
    gone_why_ = why;
  }
  if (shim_.reading()) return;  // OnShimMessagesRead fails it once the messages in hand are dispatched
  auto keep = shared_from_this();
  // What the process sent before it died is still queued on our end of the
  // channel (the pidfd may report its exit first): STARTED for runs that did
  // start, which must not be taken for lost.
  shim_.ReadQueued();
  Fail(gone_why_, true);
}

void ParkedProgram::Fail(const std::string& why, bool process_gone) {
  if (dead_) return;
  auto keep = shared_from_this();  // the callbacks below may drop the owner's reference
  dead_ = true;
  if (after_compilation()) LogCompileOutput();  // a syntax error: the interpreter's message
  shim_.CloseChannel();
  shim_.watcher().SignalGroup(SIGKILL);  // its request children die with it (PDEATHSIG)
  // Messages never sent: their copies of request pipes would keep a lost
  // run's output open (no EOF) for the request that runs again elsewhere.
  for (Outgoing& o : outgoing_) {
    for (int fd : o.fds) ::close(fd);
  }
  outgoing_.clear();
  auto runs = std::move(runs_);
  runs_.clear();
  for (auto& [id, run] : runs) {
    if (run.started) {
      run.on_exit(SIGKILL);  // raw wait status of a child killed by SIGKILL
    } else if (process_gone && run.on_lost) {
      run.on_lost(why);  // never answered: nothing was started for it
    } else {
      run.on_started(Status::Unavailable("fork mode: " + why), -1, nullptr);
    }
  }
  if (on_failed_) {
    auto cb = on_failed_;
    cb(why);
  }
}

void ParkedProgram::OnShimExit(int raw_status) {
  if (dead_) {
    return;
  }
  if (shutting_down_ && runs_.empty()) {
    dead_ = true;
    shim_.CloseChannel();
    return;
  }
  if (!shim_.hello_received() && after_compilation()) {
    Gone(shim_.spec().script_language + " (pid " + std::to_string(shim_.watcher().pid()) +
         ") ended while compiling " + shim_.spec().script + ": " + DescribeWaitStatus(raw_status));
    return;
  }
  Gone("parked process " + std::to_string(shim_.watcher().pid()) +
       " ended: " + DescribeWaitStatus(raw_status));
}

void ParkedProgram::LogCompileOutput() {
  constexpr size_t kMaxLines = 40;
  const std::string text = shim_.TakeCompileOutput();
  size_t lines = 0, at = 0;
  while (at < text.size()) {
    size_t end = text.find('\n', at);
    if (end == std::string::npos) end = text.size();
    if (lines++ < kMaxLines) {
      LogWarning("fork mode: " + shim_.spec().script +
                 " (compiling): " + EscapeForLog(text.substr(at, end - at), 1000));
    }
    at = end + 1;
  }
  if (lines > kMaxLines) {
    LogWarning("fork mode: " + shim_.spec().script + " (compiling): " + std::to_string(lines - kMaxLines) +
               " more lines not logged");
  }
}

}  // namespace fcgi
