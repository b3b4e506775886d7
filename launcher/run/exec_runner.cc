#include "launcher/run/exec_runner.h"

#include <signal.h>

#include <memory>

#include "launcher/run/child_watcher.h"

namespace fcgi {

namespace {

class ExecRun : public ProgramRun {
 public:
  explicit ExecRun(boost::asio::io_context& io) : watcher_(io) {}
  void SignalGroup(int sig) override { watcher_.SignalGroup(sig); }
  pid_t pid() const override { return watcher_.pid(); }
  ChildWatcher& watcher() { return watcher_; }

 private:
  ChildWatcher watcher_;  // its destructor kills and reaps a child still running
};

class ExecRunner : public ProgramRunner {
 public:
  ExecRunner(boost::asio::io_context& io, Spawner& spawner) : ProgramRunner(io), spawner_(spawner) {}

  const char* mode_name() const override { return "exec"; }
  void Recycle(const char*) override {}
  void Shutdown() override {}

 protected:
  std::unique_ptr<ProgramRun> StartRun(const SpawnSpec& spec, StartedCallback on_started,
                                       ExitCallback on_exit) override {
    auto run = std::make_unique<ExecRun>(io_);
    pid_t pid = -1;
    Status s = spawner_.Spawn(spec, &pid);
    if (!s.ok()) {
      on_started(s, -1, nullptr);
      return run;
    }
    s = run->watcher().Watch(pid, std::move(on_exit));
    if (!s.ok()) {
      // Without a pidfd the exit cannot be observed: do not leave it running.
      run->SignalGroup(SIGKILL);
    }
    on_started(s, pid, nullptr);
    return run;
  }

 private:
  Spawner& spawner_;
};

}  // namespace

std::unique_ptr<ProgramRunner> MakeExecRunner(boost::asio::io_context& io, Spawner& spawner) {
  return std::make_unique<ExecRunner>(io, spawner);
}

}  // namespace fcgi
