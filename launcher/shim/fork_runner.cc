#include "launcher/shim/fork_runner.h"

#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio/steady_timer.hpp>
#include <deque>
#include <optional>
#include <utility>
#include <vector>

#include "core/base_environment.h"
#include "core/cgi_environment.h"
#include "launcher/log/log.h"
#include "launcher/run/exec_runner.h"
#include "launcher/run/file_stamp.h"
#include "launcher/run/owned_spawn_spec.h"
#include "launcher/run/start_retry.h"
#include "launcher/shim/elf_inspector.h"
#include "launcher/shim/script_park.h"

namespace fcgi {

namespace {

// What a request's run is, shared by the ProgramRun handed to the request and
// the callbacks in flight (which may outlive it).
struct RunState {
  RunState() = default;
  RunState(const RunState&) = delete;
  RunState& operator=(const RunState&) = delete;

  pid_t pid = -1;
  bool exited = false;
  bool dropped = false;  // the request let go of its ProgramRun
  bool rerun = false;    // lost once with a dead parked process and dispatched again
  std::weak_ptr<ParkedProgram> parked;
  uint64_t request_id = 0;
  std::unique_ptr<ProgramRun> exec_run;  // served in exec mode after all
  // The spec, with our own copies of its stdio fds, from the RUN until the
  // parked process answers it: what a lost run is dispatched again with.
  OwnedSpawnSpec kept;
};

// "GET /x?y" of a request's environment, for logs.
std::string DescribeRequest(const std::vector<std::string>& env) {
  std::string method, uri, script;
  for (const std::string& e : env) {
    if (e.rfind("REQUEST_METHOD=", 0) == 0) method = e.substr(15);
    else if (e.rfind("REQUEST_URI=", 0) == 0) uri = e.substr(12);
    else if (e.rfind("SCRIPT_NAME=", 0) == 0) script = e.substr(12);
  }
  return EscapeForLog(method.empty() ? "?" : method) + " " +
         EscapeForLog(!uri.empty()      ? uri
                      : !script.empty() ? script
                                        : "?",
                      200);
}

class ForkRun : public ProgramRun {
 public:
  explicit ForkRun(std::shared_ptr<RunState> state) : state_(std::move(state)) {}
  ~ForkRun() override {
    state_->dropped = true;
    SignalGroup(SIGKILL);  // a program must not outlive its request
  }
  void SignalGroup(int sig) override {
    RunState& st = *state_;
    if (st.exec_run) {
      st.exec_run->SignalGroup(sig);
    } else if (st.exited || st.pid <= 0) {
      return;
    } else if (auto parked = st.parked.lock(); parked && !parked->dead()) {
      parked->Signal(st.request_id, sig);  // the shim checks the pid is still its child
    } else {
      kill(-st.pid, sig);
    }
  }
  pid_t pid() const override { return state_->exec_run ? state_->exec_run->pid() : state_->pid; }

 private:
  std::shared_ptr<RunState> state_;
};

class ForkRunner : public ProgramRunner {
 public:
  ForkRunner(boost::asio::io_context& io, Spawner& spawner, ForkRunnerOptions options)
      : ProgramRunner(io),
        spawner_(spawner),
        options_(std::move(options)),
        exec_(MakeExecRunner(io, spawner)),
        retry_(io, options_.max_failures) {
    if (options_.park.compat_library.empty()) {
      FallBack("libfcgi-run-compat.so not found (give --compat-library)");
      return;
    }
    ParkCheck check = InspectForForkMode(options_.park.program, SearchPathOf(options_.park.env));
    if (!check.can_park) {
      FallBack(check.reason);
      return;
    }
    PlanScript(check);
    StartParked();
  }

  ~ForkRunner() override {
    if (parked_) parked_->Kill();
    for (auto& old : retiring_) old->Kill();
  }

  const char* mode_name() const override { return exec_only_ ? "exec" : "fork"; }

  WorkerCounts Workers() const override {
    WorkerCounts c;
    if (parked_ && parked_->ready()) {
      c.parked = 1;
      c.compiled = parked_->after_compilation() ? 1 : 0;
    } else if (parked_ && !parked_->dead()) c.starting = 1;
    return c;
  }

  void Recycle(const char* why) override {
    if (exec_only_ || shutting_down_) return;
    Count(RunnerEvent::kRecycled, RecycleReasonKey(why));
    LogInfo(std::string("fork mode: replacing the parked ") + options_.park.program + ": " + why);
    if (parked_) {
      parked_->Shutdown();  // drains: its running children finish
      retiring_.push_back(parked_);
      parked_.reset();
    }
    std::erase_if(retiring_, [](const std::shared_ptr<ParkedProgram>& p) { return p->dead(); });
    // A restart pending after a failure is superseded by this start: left
    // armed, it would start yet another process and drop this one, with the
    // requests it serves (their children killed, no EXITED ever reported).
    retry_.Cancel();
    retry_.ClearFailures();
    script_fallback_ = false;  // a new program, or asked for: the script may park after compilation again
    StartParked();
  }

  void Shutdown() override {
    shutting_down_ = true;
    retry_.Cancel();
    if (parked_) {
      parked_->Shutdown();
    } else {  // a restart was pending: it will not happen now
      FailWaiting(Status::Unavailable("fork mode: " + options_.park.program +
                                      " is not parked and fcgi-run is stopping"));
    }
  }

 protected:
  std::unique_ptr<ProgramRun> StartRun(const SpawnSpec& spec, StartedCallback on_started,
                                       ExitCallback on_exit) override {
    if (exec_only_) return exec_->Start(spec, std::move(on_started), std::move(on_exit));
    if (parked_ && parked_->ready() &&
        (!(FileStamp::Of(options_.park.program) == identity_) ||
         (!script_file_.empty() && !(FileStamp::Of(script_file_) == script_identity_)))) {
      Recycle("program file changed on disk");
    }
    auto state = std::make_shared<RunState>();
    auto run = std::make_unique<ForkRun>(state);
    Dispatch(spec, state, std::move(on_started), std::move(on_exit));
    return run;
  }

 private:
  struct Waiting {
    OwnedSpawnSpec spec;
    std::shared_ptr<RunState> state;
    StartedCallback on_started;
    ExitCallback on_exit;
  };

  void Count(RunnerEvent event, const std::string& reason = "") {
    if (options_.metrics != nullptr) options_.metrics->OnRunnerEvent("fork", event, reason);
  }

  void FallBack(const std::string& why) {
    Count(RunnerEvent::kFallbackToExec);
    exec_only_ = true;
    LogWarning("fork mode: " + why + "; serving " + options_.park.program + " in exec mode");
    DrainWaiting();
  }

  void StartParked() {
    if (shutting_down_) return;
    identity_ = FileStamp::Of(options_.park.program);
    // The pre-flight again: the file may have been replaced (by a static or
    // set-id binary) since the last start. Such a program ignores the shim
    // and would run main() once for nobody per attempt. A file that cannot be
    // run at all is left to Spawn below (a 502 now, a new try later).
    if (struct stat st; stat(options_.park.program.c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
                        access(options_.park.program.c_str(), X_OK) == 0) {
      ParkCheck check = InspectForForkMode(options_.park.program, SearchPathOf(options_.park.env));
      if (!check.can_park) {
        FallBack(check.reason);
        return;
      }
      PlanScript(check);  // its "#!" line may have changed
    }
    const bool after_compilation = script_spec_ && !script_fallback_;
    if (!script_file_.empty()) script_identity_ = FileStamp::Of(script_file_);
    auto parked =
        std::make_shared<ParkedProgram>(io_, spawner_, after_compilation ? *script_spec_ : options_.park);
    std::weak_ptr<ParkedProgram> weak = parked;
    parked_ = parked;
    Status s = parked->Spawn(
        [this, weak]() {
          if (weak.lock() == parked_) DrainWaiting();
        },
        [this, weak](const std::string& why) {
          auto p = weak.lock();
          if (p && p == parked_) OnParkedFailed(why, p->hello_received());
        });
    if (s.ok()) Count(RunnerEvent::kParkStarted);
    if (!s.ok()) {
      // The program cannot be started at all: that is not the shim's fault
      // and retrying will not help until the file changes. Fail the waiting
      // requests now (502 naming the cause); the next request tries again.
      parked_.reset();
      LogError("fork mode: cannot start " + options_.park.program + ": " + s.message());
      FailWaiting(s);
    }
  }

  void FailWaiting(const Status& s) {
    std::deque<Waiting> waiting;
    waiting.swap(waiting_);
    for (Waiting& w : waiting) {
      w.spec.Release();
      if (!w.state->dropped) w.on_started(s, -1, nullptr);
    }
  }

  // Script park (script_park.h): whether and how this program parks after
  // its compilation, from its pre-flight.
  void PlanScript(const ParkCheck& check) {
    std::string why;
    script_spec_.reset();
    if (options_.park_scripts) script_spec_ = PlanScriptPark(options_.park, check, &why);
    if (!why.empty() && why != script_note_) {
      LogInfo("fork mode: " + options_.park.program +
              " is compiled in every request (its interpreter is parked at " + "main()): " + why);
    }
    script_note_ = why;
    // The script, when it is not the program (perl SCRIPT): its changes re-park too.
    script_file_ = script_spec_ && script_spec_->script != options_.park.program ? script_spec_->script : "";
  }

  void OnParkedFailed(const std::string& why, bool hello_received) {
    parked_.reset();
    Count(RunnerEvent::kParkFailed);
    if (shutting_down_) return;
    if (script_spec_ && !script_fallback_ && !hello_received) {
      // It never parked after compilation: park its interpreter at main()
      // now (not a retry), until the script changes.
      script_fallback_ = true;
      LogWarning("fork mode: " + script_spec_->script + " is not parked after compilation: " + why +
                 "; its interpreter is parked at main() instead (the script is compiled in every request) "
                 "until the script changes");
      StartParked();
      return;
    }
    const bool retrying = retry_.Failed([this]() {
      if (!parked_) StartParked();
    });
    if (!retrying) {
      FallBack(why + " (" + std::to_string(retry_.failures()) + " failures in a row)");
      return;
    }
    LogWarning("fork mode: " + why + "; restarting the parked program in " +
               std::to_string(retry_.delay().count()) + " ms");
  }

  // Runs one request wherever it can go now: exec mode after a fallback, the
  // parked process when it is ready, else the queue of waiting requests.
  void Dispatch(const SpawnSpec& spec, const std::shared_ptr<RunState>& state, StartedCallback on_started,
                ExitCallback on_exit) {
    if (exec_only_) {
      state->exec_run = exec_->Start(spec, std::move(on_started), std::move(on_exit));
    } else if (parked_ && parked_->ready()) {
      RunParked(spec, state, std::move(on_started), std::move(on_exit));
    } else {
      Wait(spec, state, std::move(on_started), std::move(on_exit));
    }
  }

  // Not parked yet (starting or restarting): wait, holding our own fds.
  void Wait(const SpawnSpec& spec, const std::shared_ptr<RunState>& state, StartedCallback on_started,
            ExitCallback on_exit) {
    if (shutting_down_) {  // no parked process will come
      on_started(Status::Unavailable("fork mode: " + options_.park.program +
                                     " is not parked and fcgi-run is stopping"),
                 -1, nullptr);
      return;
    }
    waiting_.push_back(Waiting{OwnedSpawnSpec(spec), state, std::move(on_started), std::move(on_exit)});
    // Parking stopped after the program could not even be started (missing,
    // not executable): try again now that a request wants it.
    if (!parked_ && !retry_.pending()) StartParked();
  }

  void RunParked(const SpawnSpec& spec, const std::shared_ptr<RunState>& state, StartedCallback on_started,
                 ExitCallback on_exit) {
    std::shared_ptr<ParkedProgram> parked = parked_;  // Run may fail it, and our callback drop parked_
    state->parked = parked;
    // Until the parked process answers the RUN it may die without having
    // started anything; the request then runs again elsewhere (once: see
    // OnLost). The caller closes its copies of the child's stdio ends when
    // Start returns, so keep our own till then: with the stdin read end kept,
    // body bytes written meanwhile stay in the pipe for the second run
    // (the dead process's copy of the read end goes with it, and with no
    // reader left the writes would fail and the body be dropped).
    ParkedProgram::LostCallback lost_cb;
    if (!state->rerun && Keep(spec, state.get())) {
      lost_cb = [this, state, on_started, on_exit](const std::string& why) {
        OnLost(why, state, on_started, on_exit);
      };
    }
    auto started_cb = [this, state, on_started](const Status& s, pid_t pid,
                                                std::shared_ptr<ProgramOutput> output) {
      state->kept.Release();
      state->pid = pid;
      if (s.ok()) retry_.ClearFailures();  // a parked program that serves is healthy
      on_started(s, pid, std::move(output));
    };
    auto exit_cb = [state, on_exit](int raw_status) {
      state->exited = true;
      on_exit(raw_status);
    };
    state->request_id = parked->Run(spec, std::move(started_cb), std::move(exit_cb), std::move(lost_cb));
    if (state->request_id != 0) return;
    // The parked process was already gone (its death not yet processed) and
    // took nothing: this request waits for the restart instead of a 502.
    state->kept.Release();
    state->parked.reset();
    Dispatch(spec, state, std::move(on_started), std::move(on_exit));
  }

  // state->kept = spec with duplicated stdio fds. False (nothing kept) if a
  // dup fails: the run is then not dispatched again if lost.
  static bool Keep(const SpawnSpec& spec, RunState* state) {
    state->kept = OwnedSpawnSpec(spec);
    if (state->kept.ok()) return true;
    state->kept.Release();
    return false;
  }

  // The parked process died before it answered the request's RUN: it started
  // nothing for it (STARTED is read before this, see ParkedProgram; a child
  // the shim forked begins main() only once its STARTED is sent, and dies
  // with the parked process until then), so the request runs on the
  // replacement (or in exec mode if parking gives up), once; a second loss
  // gets the 502.
  void OnLost(const std::string& why, const std::shared_ptr<RunState>& state,
              const StartedCallback& on_started, const ExitCallback& on_exit) {
    OwnedSpawnSpec kept = std::move(state->kept);
    state->parked.reset();
    state->request_id = 0;
    if (state->dropped) {  // the request is gone: nothing to run it for
      kept.Release();
      on_started(Status::Unavailable("fork mode: " + why), -1, nullptr);
      return;
    }
    state->rerun = true;
    LogInfo("fork mode: the parked " + options_.park.program + " was gone (" + why +
            ") before it started the program for " + DescribeRequest(kept.spec().env) + "; running it again");
    Dispatch(kept.spec(), state, on_started, on_exit);  // borrows kept's fds
  }

  void DrainWaiting() {
    std::deque<Waiting> waiting;
    waiting.swap(waiting_);
    for (Waiting& w : waiting) {
      if (!w.state->dropped) Dispatch(w.spec.spec(), w.state, std::move(w.on_started), std::move(w.on_exit));
      w.spec.Release();
    }
  }

  Spawner& spawner_;
  ForkRunnerOptions options_;
  std::unique_ptr<ProgramRunner> exec_;
  StartRetry retry_;  // restarts after failed starts; the exec fallback
  std::shared_ptr<ParkedProgram> parked_;
  std::vector<std::shared_ptr<ParkedProgram>> retiring_;
  std::deque<Waiting> waiting_;
  FileStamp identity_;
  // Script park: the spec that parks the program after its compilation (none:
  // not a Perl or Python script, or park_scripts off); the script's own file
  // when it is not the program, and its stamp; whether it parks at main()
  // instead until it changes; the last "compiled in every request" reason logged.
  std::optional<ParkSpec> script_spec_;
  std::string script_file_;
  FileStamp script_identity_;
  bool script_fallback_ = false;
  std::string script_note_;
  bool exec_only_ = false;
  bool shutting_down_ = false;
};

}  // namespace

std::unique_ptr<ProgramRunner> MakeForkRunner(boost::asio::io_context& io, Spawner& spawner,
                                              ForkRunnerOptions options) {
  return std::make_unique<ForkRunner>(io, spawner, std::move(options));
}

#ifndef FCGI_RUN_COMPAT_INSTALL_DIR
#define FCGI_RUN_COMPAT_INSTALL_DIR "../lib/fcgi-run"
#endif

std::string FindCompatLibrary(const std::string& configured) {
  if (!configured.empty()) return access(configured.c_str(), R_OK) == 0 ? configured : "";
  char exe[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n <= 0) return "";
  exe[n] = '\0';
  std::string dir(exe);
  dir = dir.substr(0, dir.rfind('/'));
  // The build tree (launcher/ next to libcompat/), then the installed layout:
  // <bindir>/<FCGI_RUN_COMPAT_INSTALL_DIR>, set by CMake from GNUInstallDirs.
  for (const char* rel : {"../libcompat", FCGI_RUN_COMPAT_INSTALL_DIR}) {
    std::string candidate = dir + "/" + rel + "/libfcgi-run-compat.so";
    char resolved[PATH_MAX];
    if (realpath(candidate.c_str(), resolved) != nullptr && access(resolved, R_OK) == 0) return resolved;
  }
  return "";
}

}  // namespace fcgi
