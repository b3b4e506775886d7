#include "launcher/checks/safety_check.h"

#include <limits.h>
#include <stdlib.h>
#include <sys/wait.h>

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <fstream>
#include <ostream>
#include <sstream>
#include <vector>

#include "core/base_environment.h"
#include "core/check_request.h"
#include "core/recycle_policy.h"
#include "launcher/checks/check_run.h"
#include "launcher/log/log.h"
#include "launcher/request/program_target.h"
#include "launcher/run/child_watcher.h"
#include "launcher/run/privileges.h"
#include "launcher/run/process_spawner.h"
#include "launcher/shim/fork_runner.h"
#include "launcher/shim/persistent_runner.h"

namespace fcgi {

namespace {

constexpr int kPersistentRounds = 3;
constexpr std::chrono::milliseconds kRequestDeadline{10000};

// The CGI header block (up to the blank line), for outputs that vary anyway.
std::string HeaderBlock(const std::string& out) {
  size_t end = out.find("\r\n\r\n");
  if (end == std::string::npos) end = out.find("\n\n");
  return end == std::string::npos ? out : out.substr(0, end);
}

std::string FirstDifference(const std::string& a, const std::string& b) {
  size_t i = 0;
  while (i < a.size() && i < b.size() && a[i] == b[i]) ++i;
  size_t from = i > 20 ? i - 20 : 0;
  auto snippet = [from](const std::string& s) {
    std::string t = s.substr(from, 60);
    for (char& c : t) {
      if (c == '\n' || c == '\r') c = ' ';
    }
    return "\"" + t + "\"";
  };
  return "fresh process: " + snippet(a) + ", persistent: " + snippet(b);
}

constexpr const char* kCouldNotRun = "VERDICT: the check could not run.\n";

// What the shim's REPORTs showed over the persistent rounds.
class Observations {
 public:
  // `real_limits`: the recycling a serving worker would do (--max-requests,
  // --max-rss, fd growth, threads, exit in C++), which the check's own
  // worker does not (it observes instead).
  explicit Observations(RecycleLimits real_limits) : would_(real_limits) {}

  void Add(const CompatReport& r, const RequestAftermath& a) {
    if (std::string why = would_.AfterRequest(a); !why.empty()) WouldRecycle(why);
    flags_ |= r.flags;
    max_threads_ = std::max(max_threads_, r.threads);
    if (reports_++ == 0) {
      first_fds_ = r.open_fds;
      first_rss_ = r.rss_kib;
      baseline_fds_ = r.baseline_fds;
    }
    last_fds_ = r.open_fds;
    last_rss_ = r.rss_kib;
    libstdcxx_ = a.links_libstdcxx;
  }

  // What the shim repaired between requests, as REPORT flags.
  uint32_t repairs() const { return flags_; }
  // Problems (the program misbehaves in persistent mode) and warnings (it
  // works, with a cost recycling pays) among what was seen.
  void Judge(std::vector<std::string>* problems, std::vector<std::string>* warnings) const {
    if (max_threads_ > 1) {
      problems->push_back("the program leaves threads running after a request (" +
                          std::to_string(max_threads_) + " threads): every such request replaces the worker");
    }
    if (reports_ >= 2 && last_fds_ > first_fds_) {
      warnings->push_back("open file descriptors grew from " + std::to_string(first_fds_) + " to " +
                          std::to_string(last_fds_) + " (baseline " + std::to_string(baseline_fds_) +
                          "): a leak; workers will be recycled when it keeps growing");
    }
    if (reports_ >= 2 && last_rss_ > first_rss_ + 1024) {
      warnings->push_back("resident memory grew from " + std::to_string(first_rss_ / 1024) + " to " +
                          std::to_string(last_rss_ / 1024) + " MiB: set --max-rss");
    }
    if ((flags_ & compat::kReportExitIntercepted) != 0 && libstdcxx_) {
      warnings->push_back(
          "the program calls exit() and links libstdc++: each such request replaces the worker "
          "(correct, but no faster than fork mode)");
    }
  }
  // What a serving worker would have been recycled for: the first reason of
  // each kind and how often that kind came up.
  const std::vector<std::pair<std::string, int>>& would_recycle() const { return would_recycle_; }

 private:
  void WouldRecycle(const std::string& why) {
    // Reasons of one kind differ in their numbers only: compare up to the first digit.
    auto kind = [](const std::string& s) { return s.substr(0, s.find_first_of("0123456789")); };
    for (auto& [first, times] : would_recycle_) {
      if (kind(first) == kind(why)) {
        ++times;
        return;
      }
    }
    would_recycle_.emplace_back(why, 1);
  }

  RecyclePolicy would_;
  uint32_t flags_ = 0;
  uint32_t max_threads_ = 1;
  uint32_t first_fds_ = 0, last_fds_ = 0, baseline_fds_ = 0;
  uint32_t first_rss_ = 0, last_rss_ = 0;
  bool libstdcxx_ = false;
  int reports_ = 0;
  std::vector<std::pair<std::string, int>> would_recycle_;
};

// One run of the check, step by step (see safety_check.h). A step that
// returns false has written why the check could not run.
class SafetyCheck {
 public:
  SafetyCheck(const Config& config, std::ostream& report)
      : config_(config), report_(report), observations_(RealLimits(config)) {}

  int Run() {
    if (!ResolveProgram() || !LoadRequests() || !StartRunners() || !RunFreshReference()) {
      return kCheckCouldNotRun;
    }
    RunPersistentRounds();
    if (!StayedPersistent()) return kCheckCouldNotRun;
    return Verdict();
  }

 private:
  static RecycleLimits RealLimits(const Config& config) {
    RecycleLimits limits;
    limits.max_requests = config.max_requests;
    limits.max_rss_kib = config.max_rss_mib * 1024;
    return limits;
  }

  bool CouldNotRun(const std::string& why) {
    report_ << "fcgi-run --check: " << why << "\n" << kCouldNotRun;
    return false;
  }

  // The program as a real start finds it: its real path and directory.
  bool ResolveProgram() {
    char resolved[PATH_MAX];
    if (realpath(config_.program.c_str(), resolved) == nullptr) {
      return CouldNotRun("cannot find " + config_.program);
    }
    program_ = resolved;
    cwd_ = program_.substr(0, program_.rfind('/'));
    if (cwd_.empty()) cwd_ = "/";
    return true;
  }

  // The default GET, then each --request file.
  bool LoadRequests() {
    requests_ = {DefaultCheckRequest()};
    for (const std::string& file : config_.check_requests) {
      std::ifstream in(file, std::ios::binary);
      if (!in) return CouldNotRun("cannot read request file " + file);
      std::stringstream text;
      text << in.rdbuf();
      CheckRequest r;
      if (Status s = ParseCheckRequest(file, text.str(), &r); !s.ok()) return CouldNotRun(s.message());
      requests_.push_back(std::move(r));
    }
    return true;
  }

  // One persistent worker (recycling off: observed instead) and fork mode,
  // started as a real start would: the root refusal, --user and
  // --program-user (ApplyPrivileges), --rlimit-*, --env.
  bool StartRunners() {
    base_env_ = EnvEntries(BaseEnvironment(config_.env, getenv));
    spawner_ = MakeProcessSpawner();
    if (Status s = ApplyPrivileges(config_, &spawner_); !s.ok()) return CouldNotRun(s.message());
    ParkSpec park;
    park.program = program_;
    park.args = config_.args;
    park.cwd = cwd_;
    park.env = base_env_;
    park.rlimits = RlimitsFromConfig(config_);
    park.compat_library = FindCompatLibrary(config_.compat_library);
    park.hello_timeout = std::chrono::milliseconds(static_cast<long>(config_.park_timeout_seconds * 1000));

    PersistentRunnerOptions po;
    po.park = park;
    po.workers = 1;
    po.limits = RecycleLimits{0, 0, 0, 1u << 30};  // observe instead of recycling
    po.on_report = [this](const CompatReport& r, const RequestAftermath& a, const std::string&) {
      observations_.Add(r, a);
    };
    persistent_ = MakePersistentRunner(io_, *spawner_, po);
    if (std::string(persistent_->mode_name()) != "persistent") {
      return CouldNotRun(program_ + " cannot run in persistent mode (it would be served in " +
                         persistent_->mode_name() + " mode: see the log line above)");
    }
    ForkRunnerOptions fo;
    fo.park = park;
    fork_ = MakeForkRunner(io_, *spawner_, fo);
    return true;
  }

  CheckOutcome RunOne(ProgramRunner& runner, const CheckRequest& r) {
    return RunCheckRequest(io_, runner, program_, config_.args, cwd_,
                           CheckRequestEnvironment(r, program_, base_env_), r.body, kRequestDeadline);
  }

  // Each request twice in a fresh process (fork mode): the reference, and
  // whether its output varies anyway (time, pid, random).
  bool RunFreshReference() {
    report_ << "fcgi-run --check " << program_ << "\n"
            << requests_.size() << " sample request(s); fresh process (" << fork_->mode_name()
            << " mode) twice each, then " << kPersistentRounds << " rounds in one persistent worker.\n\n";
    for (const CheckRequest& r : requests_) {
      CheckOutcome a = RunOne(*fork_, r), b = RunOne(*fork_, r);
      if (!a.status.ok() || !b.status.ok()) {
        report_ << "request \"" << r.name << "\" failed in " << fork_->mode_name()
                << " mode: " << (a.status.ok() ? b.status : a.status).message() << "\n"
                << kCouldNotRun;
        return false;
      }
      varies_.push_back(a.out != b.out);
      if (a.out != b.out) {
        report_ << "note: \"" << r.name
                << "\" gives different output in two fresh runs (time, pid, random?): "
                << "only its status and headers are compared.\n";
      }
      reference_.push_back(std::move(a));
    }
    return true;
  }

  // Every request in turn, kPersistentRounds times, in the one worker;
  // each outcome compared with the reference.
  void RunPersistentRounds() {
    for (int round = 1; round <= kPersistentRounds; ++round) {
      for (size_t i = 0; i < requests_.size(); ++i) {
        const std::string where = "\"" + requests_[i].name + "\", round " + std::to_string(round);
        if (std::string problem = Compare(reference_[i], RunOne(*persistent_, requests_[i]), varies_[i]);
            !problem.empty()) {
          problems_.push_back(where + ": " + problem);
        }
      }
    }
  }

  // How a persistent outcome differs from the fresh one ("" when it does not).
  static std::string Compare(const CheckOutcome& fresh, const CheckOutcome& p, bool varies) {
    if (!p.status.ok()) return p.status.message();
    if (WIFSIGNALED(p.raw_status) && !WIFSIGNALED(fresh.raw_status)) {
      return "the persistent worker " + DescribeWaitStatus(p.raw_status);
    }
    if (p.raw_status != fresh.raw_status) {
      return DescribeWaitStatus(p.raw_status) + " instead of " + DescribeWaitStatus(fresh.raw_status);
    }
    if (varies ? HeaderBlock(p.out) != HeaderBlock(fresh.out) : p.out != fresh.out) {
      return "output differs from a fresh process (global state carried over from an earlier request): " +
             FirstDifference(fresh.out, p.out);
    }
    return "";
  }

  // Workers that never started (threads at main(), a limit too tight...)
  // made the pool fall back to exec mode: the rounds compared nothing.
  bool StayedPersistent() {
    const std::string mode = persistent_->mode_name();
    persistent_->Shutdown();
    fork_->Shutdown();
    io_.run_for(std::chrono::milliseconds(100));
    if (mode == "persistent") return true;
    return CouldNotRun(
        program_ + " could not be run in persistent mode: its workers did not start and it was " +
        "served in " + mode + " mode instead (the log lines above say why), so nothing was " + "compared.");
  }

  int Verdict() {
    const uint32_t repairs = observations_.repairs();
    report_ << "What the shim repaired between requests: "
            << (repairs == 0 ? std::string("nothing was needed") : DescribeReportFlags(repairs)) << ".\n";
    std::vector<std::string> warnings;
    observations_.Judge(&problems_, &warnings);
    if (!observations_.would_recycle().empty()) {
      report_ << "Serving it, fcgi-run would replace the worker (recycle) because:\n";
      for (const auto& [why, times] : observations_.would_recycle()) {
        report_ << "  - " << why << (times > 1 ? " (and " + std::to_string(times - 1) + " more times)" : "")
                << "\n";
      }
    } else {
      report_ << "Nothing seen would make fcgi-run replace the worker before --max-requests.\n";
    }
    for (const std::string& w : warnings) report_ << "warning: " << w << "\n";
    for (const std::string& p : problems_) report_ << "PROBLEM: " << p << "\n";
    if (!problems_.empty()) {
      report_
          << "\nVERDICT: NOT SAFE. Persistent mode would change what this program answers (state from one "
             "request reaches the next, which can also leak one user's data to another). Use --mode "
             "fork.\n";
      return kCheckNotSafe;
    }
    report_ << "\nVERDICT: SAFE for these sample requests: persistent mode gave the same answers as a fresh "
               "process. Global variables still persist between requests: check with requests that exercise "
               "every feature (--request FILE) before relying on it.\n";
    return kCheckSafe;
  }

  const Config& config_;
  std::ostream& report_;
  std::string program_, cwd_;
  std::vector<CheckRequest> requests_;
  std::vector<std::string> base_env_;
  Observations observations_;  // fed by persistent_'s REPORTs
  boost::asio::io_context io_;
  std::unique_ptr<Spawner> spawner_;
  std::unique_ptr<ProgramRunner> persistent_, fork_;  // destroyed before io_ and spawner_
  std::vector<CheckOutcome> reference_;               // the fresh runs, one per request
  std::vector<bool> varies_;                          // its output differs between fresh runs
  std::vector<std::string> problems_;
};

}  // namespace

int RunSafetyCheck(const Config& config, std::ostream& report) { return SafetyCheck(config, report).Run(); }

}  // namespace fcgi
