// FakeProgramRunner: a ProgramRunner whose runs are no processes, for unit
// tests of what drives runners (CgiRequest, Connection), the way ninja's
// build_test.cc drives its Builder through FakeCommandRunner.
//
// Each Start() is recorded as a FakeRun that the test plays by hand: what the
// "program" writes to its stdout and stderr (real pipes, made by
// ProgramRunner::Start as for any runner that does not lend output), what it
// reads from its stdin, the signals it is sent, and when and how it exits.
// Its start succeeds at once with a made-up pid, unless the test set
// `fail_starts`.
//
// Threading: none; everything runs on the test's io_context. Exit() posts the
// exit report to it, as a pidfd's readiness would.
#ifndef FCGI_RUN_TESTS_LAUNCHER_RUN_FAKE_PROGRAM_RUNNER_H_
#define FCGI_RUN_TESTS_LAUNCHER_RUN_FAKE_PROGRAM_RUNNER_H_

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <cerrno>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "launcher/run/program_runner.h"

namespace fcgi::test {

// One run of the fake program. The fds are the program's ends (ours).
class FakeRun {
 public:
  FakeRun(boost::asio::io_context& io, const SpawnSpec& spec, pid_t pid) : io_(io), spec_(spec), pid_(pid) {
    stdin_ = Dup(spec.stdin_fd);
    stdout_ = Dup(spec.stdout_fd);
    stderr_ = Dup(spec.stderr_fd);
  }
  ~FakeRun() { CloseAll(); }
  FakeRun(const FakeRun&) = delete;
  FakeRun& operator=(const FakeRun&) = delete;

  const SpawnSpec& spec() const { return spec_; }
  pid_t pid() const { return pid_; }
  // Signals sent to the run's process group, in order.
  const std::vector<int>& signals() const { return signals_; }
  bool exited() const { return exited_; }
  // The request let go of its ProgramRun before the exit (a real one kills).
  bool dropped() const { return dropped_; }

  // Writes to the program's stdout without blocking; returns how much went
  // in (less than asked when the pipe is full, the reader paused).
  size_t WriteStdout(std::string_view data) { return WriteSome(stdout_, data); }
  size_t WriteStderr(std::string_view data) { return WriteSome(stderr_, data); }
  // Write error of the last Write* that wrote nothing (EPIPE: the reader is gone).
  int last_write_errno() const { return last_errno_; }
  // Reads what is in the stdin pipe now (without blocking); sets *eof once
  // the writer closed it.
  std::string ReadStdin(bool* eof = nullptr) {
    std::string got;
    char buf[65536];
    if (eof != nullptr) *eof = false;
    for (;;) {
      const ssize_t n = ::read(stdin_, buf, sizeof buf);
      if (n > 0) {
        got.append(buf, static_cast<size_t>(n));
        continue;
      }
      if (n == 0 && eof != nullptr) *eof = true;
      return got;
    }
  }
  // The program ends with `raw_status` (W_EXITCODE(code, 0) or a signal
  // number): its fds close, then its exit is reported.
  void Exit(int raw_status) {
    if (exited_) return;
    exited_ = true;
    CloseAll();
    boost::asio::post(io_, [on_exit = on_exit_, raw_status] {
      if (on_exit) on_exit(raw_status);
    });
  }

  // Used by FakeProgramRunner.
  void SetExitCallback(ProgramRunner::ExitCallback on_exit) { on_exit_ = std::move(on_exit); }
  void Signal(int sig) { signals_.push_back(sig); }
  void Drop() { dropped_ = !exited_; }

 private:
  // Our own copy of a child's end, non-blocking (the launcher closes its
  // copies once the run started, so the flag is ours alone).
  static int Dup(int fd) {
    if (fd < 0) return -1;
    const int d = fcntl(fd, F_DUPFD_CLOEXEC, 3);
    if (d >= 0) fcntl(d, F_SETFL, fcntl(d, F_GETFL) | O_NONBLOCK);
    return d;
  }
  // A write to a pipe nobody reads fails with EPIPE; its SIGPIPE is held
  // back and taken, so that it does not end the test.
  size_t WriteSome(int fd, std::string_view data) {
    sigset_t pipe_signal, old;
    sigemptyset(&pipe_signal);
    sigaddset(&pipe_signal, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_signal, &old);
    size_t done = 0;
    last_errno_ = 0;
    while (done < data.size()) {
      const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
      if (n <= 0) {
        last_errno_ = n < 0 ? errno : 0;
        break;
      }
      done += static_cast<size_t>(n);
    }
    if (last_errno_ == EPIPE) {
      const timespec now{0, 0};
      sigtimedwait(&pipe_signal, nullptr, &now);
    }
    pthread_sigmask(SIG_SETMASK, &old, nullptr);
    return done;
  }
  void CloseAll() {
    for (int* fd : {&stdin_, &stdout_, &stderr_}) {
      if (*fd >= 0) ::close(*fd);
      *fd = -1;
    }
  }

  boost::asio::io_context& io_;
  SpawnSpec spec_;
  pid_t pid_;
  int stdin_ = -1, stdout_ = -1, stderr_ = -1;
  std::vector<int> signals_;
  ProgramRunner::ExitCallback on_exit_;
  bool exited_ = false;
  bool dropped_ = false;
  int last_errno_ = 0;
};

class FakeProgramRunner : public ProgramRunner {
 public:
  explicit FakeProgramRunner(boost::asio::io_context& io) : ProgramRunner(io) {}

  // Every run started, oldest first.
  std::vector<std::shared_ptr<FakeRun>> runs;
  // Non-OK: the next starts fail with it (on_started gets it, no run).
  Status fail_starts;
  // Called for each signal a run is sent (after it is recorded): a test
  // makes its "program" exit on SIGTERM here.
  std::function<void(FakeRun& run, int sig)> on_signal;

  FakeRun& last() { return *runs.back(); }
  const char* mode_name() const override { return "fake"; }
  void Recycle(const char*) override {}
  void Shutdown() override {}

 protected:
  std::unique_ptr<ProgramRun> StartRun(const SpawnSpec& spec, StartedCallback on_started,
                                       ExitCallback on_exit) override {
    if (!fail_starts.ok()) {
      on_started(fail_starts, -1, nullptr);
      return nullptr;
    }
    auto run = std::make_shared<FakeRun>(io_, spec, static_cast<pid_t>(4000 + runs.size()));
    run->SetExitCallback(std::move(on_exit));
    runs.push_back(run);
    on_started(Status::Ok(), run->pid(), nullptr);
    return std::make_unique<Handle>(this, run);
  }

 private:
  class Handle : public ProgramRun {
   public:
    Handle(FakeProgramRunner* runner, std::shared_ptr<FakeRun> run) : runner_(runner), run_(std::move(run)) {}
    ~Handle() override { run_->Drop(); }
    void SignalGroup(int sig) override {
      if (run_->exited()) return;
      run_->Signal(sig);
      if (runner_->on_signal) runner_->on_signal(*run_, sig);
    }
    pid_t pid() const override { return run_->pid(); }

   private:
    FakeProgramRunner* runner_;
    std::shared_ptr<FakeRun> run_;
  };
};

}  // namespace fcgi::test

#endif  // FCGI_RUN_TESTS_LAUNCHER_RUN_FAKE_PROGRAM_RUNNER_H_
