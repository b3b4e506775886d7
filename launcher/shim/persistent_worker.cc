#include "launcher/shim/persistent_worker.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <span>
#include <utility>
#include <variant>

#include "launcher/log/log.h"

namespace fcgi {

PersistentWorker::PersistentWorker(boost::asio::io_context& io, Spawner& spawner, ParkSpec spec)
    : io_(io), shim_(io, spawner, std::move(spec), ShimMode::kPersistent) {}

// shim_'s destructor kills and reaps the worker if it still runs.
PersistentWorker::~PersistentWorker() = default;

Status PersistentWorker::Spawn(ReadyCallback on_ready, GoneCallback on_gone) {
  on_ready_ = std::move(on_ready);
  on_gone_ = std::move(on_gone);
  return shim_.Start(weak_from_this());
}

void PersistentWorker::Run(const SpawnSpec& spec, ProgramRunner::StartedCallback on_started,
                           ReportCallback on_report, ProgramRunner::ExitCallback on_exit) {
  CompatRunRequest run;
  run.request_id = ++request_id_;
  run.env = spec.env;
  run.cwd = spec.cwd;
  run.flags = compat::kRunNoStarted;
  int fds[4];
  size_t nfds = 0;
  if (spec.stdin_fd >= 0) {
    fds[nfds++] = spec.stdin_fd;
  } else {
    run.flags |= compat::kRunStdinNull;
  }
  const bool lend = spec.stdout_fd < 0;
  // !lend: the caller's pipes, for this run only (fcgi-run --check reads them to EOF).
  if (lend) run.flags |= output_ != nullptr ? compat::kRunKeepOutput : compat::kRunResidentOutput;
  std::string message;
  int env_fd = -1;  // the env memfd, if any: the last fd sent, closed once sent
  if (Status s = PrepareCompatRun(run, &message, &env_fd); !s.ok()) {
    on_started(s, -1, nullptr);
    return;
  }
  int out_write = -1, err_write = -1;
  if (!lend) {
    fds[nfds++] = spec.stdout_fd;
    fds[nfds++] = spec.stderr_fd;
    output_.reset();  // the shim puts these over its resident pipes, which it then forgets
  } else if (output_ == nullptr) {
    if (Status s = ProgramOutput::Create(io_, shim_.program(), &output_, &out_write, &err_write); !s.ok()) {
      if (env_fd >= 0) close(env_fd);
      on_started(s, -1, nullptr);
      return;
    }
    fds[nfds++] = out_write;
    fds[nfds++] = err_write;
  }
  if (env_fd >= 0) fds[nfds++] = env_fd;
  // Idle means nothing is in flight: the socket has room for one RUN.
  ChannelResult r =
      SendCompatMessage(shim_.channel().native_handle(), message, std::span<const int>(fds, nfds));
  for (int fd : {out_write, err_write, env_fd}) {  // the worker has its copies now (or never will:
    if (fd >= 0) close(fd);                        // then it is failed below)
  }
  if (r.io != ChannelIo::kDone) {
    Fail("control channel: " +
         (r.io == ChannelIo::kError ? r.status.message() : std::string("cannot send RUN")));
    on_started(Status::Unavailable("persistent mode: the worker is gone"), -1, nullptr);
    return;
  }
  busy_ = true;
  on_report_ = std::move(on_report);
  on_exit_ = std::move(on_exit);
  if (!lend) {
    on_started(Status::Ok(), pid(), nullptr);
    return;
  }
  output_lent_ = true;
  output_->Lend([weak = weak_from_this()](bool clean) {
    if (auto self = weak.lock()) self->OnOutputReturned(clean);
  });  // the borrower reads the loan number from output_->loan()
  on_started(Status::Ok(), pid(), output_);
}

void PersistentWorker::OnOutputReturned(bool clean) {
  output_lent_ = false;
  if (!clean || drop_output_) {
    output_.reset();  // closed once the request lets go of it too
    drop_output_ = false;
  }
  if (idle() && on_ready_) on_ready_();
}

void PersistentWorker::SignalRequest(int sig) {
  retiring_ = true;
  if (!gone_ && busy_) shim_.watcher().SignalGroup(sig);
}

void PersistentWorker::Retire() {
  retiring_ = true;
  if (!busy_) SendShutdown();
}

void PersistentWorker::Kill() {
  retiring_ = true;
  shim_.watcher().SignalGroup(SIGKILL);
}

void PersistentWorker::SendShutdown() {
  if (gone_ || shutdown_sent_) return;
  shutdown_sent_ = true;
  if (!ready()) {  // still starting: nothing to drain
    shim_.watcher().SignalGroup(SIGKILL);
    return;
  }
  ChannelResult r = SendCompatMessage(shim_.channel().native_handle(), EncodeCompatShutdown());
  if (r.io != ChannelIo::kDone) shim_.watcher().SignalGroup(SIGKILL);
}

void PersistentWorker::OnShimHello(const CompatHello& hello) {
  libstdcxx_ = (hello.flags & compat::kHelloLibStdCxx) != 0;
  LogDebug("persistent mode: worker pid " + std::to_string(hello.pid) + " of " + shim_.program() + " ready" +
           (libstdcxx_ ? " (links libstdc++)" : ""));
  if (retiring_) {
    SendShutdown();
  } else if (on_ready_) {
    on_ready_();
  }
}

void PersistentWorker::OnShimMessage(const CompatMessage& m) {
  if (auto* failed = std::get_if<CompatFailed>(&m)) {
    if (busy_ && failed->request_id == request_id_) {
      // The request counted as started when its RUN went out: it ends here,
      // without output (the shim set up nothing, so new pipes next time).
      busy_ = false;
      drop_output_ = true;
      on_report_ = nullptr;
      LogWarning("persistent mode: worker " + std::to_string(pid()) + " of " + shim_.program() +
                 " refused a request: " + Status::FromErrno("RUN", "the request", failed->error).message());
      auto cb = std::move(on_exit_);
      cb(W_EXITCODE(compat::kRefusedExitStatus, 0));
      if (retiring_) SendShutdown();
    }
  } else if (auto* report = std::get_if<CompatReport>(&m)) {
    if (busy_ && report->request_id == request_id_) {
      if ((report->flags & compat::kReportOutputReleased) != 0) drop_output_ = true;
      if (on_report_) on_report_(*report);
    }
  } else if (auto* exited = std::get_if<CompatExited>(&m)) {
    if (busy_ && exited->request_id == request_id_) {
      busy_ = false;
      on_report_ = nullptr;
      auto cb = std::move(on_exit_);
      cb(exited->wait_status);  // the runner may Retire() us in here
      if (retiring_) SendShutdown();
    }
  }
}

void PersistentWorker::Fail(const std::string& why) {
  if (gone_) return;
  auto keep = shared_from_this();
  shim_.watcher().SignalGroup(SIGKILL);
  // The exit status arrives through OnProcessExit; until then refuse work.
  retiring_ = true;
  if (!ready()) {
    gone_ = true;
    shim_.CloseChannel();
    if (on_gone_) on_gone_(why, true);
    return;
  }
  LogWarning("persistent mode: worker " + std::to_string(pid()) + " of " + shim_.program() + ": " + why);
}

void PersistentWorker::OnShimExit(int raw_status) {
  if (gone_) return;
  auto keep = shared_from_this();
  gone_ = true;
  shim_.CloseChannel();
  const bool before_ready = !ready();
  if (busy_) {
    busy_ = false;
    // The request's process was the worker: its status is the request's.
    auto cb = std::move(on_exit_);
    cb(raw_status);
  }
  std::string why = "worker " + std::to_string(pid()) + " ended: " + DescribeWaitStatus(raw_status);
  if (on_gone_) on_gone_(why, before_ready);
}

}  // namespace fcgi
