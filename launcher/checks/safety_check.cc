#include "launcher/checks/safety_check.h"

#include <sys/wait.h>

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <fstream>
#include <optional>
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
#include "launcher/run/exec_runner.h"
#include "launcher/run/privileges.h"
#include "launcher/run/process_spawner.h"
#include "launcher/shim/elf_inspector.h"
#include "launcher/shim/fork_runner.h"
#include "launcher/shim/persistent_runner.h"
#include "launcher/shim/script_park.h"

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

std::string FirstDifference(const std::string& a, const std::string& b, const char* label = "persistent") {
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
  return "fresh process: " + snippet(a) + ", " + label + ": " + snippet(b);
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

// One run of the check, step by step (see safety_check.h): the program, its
// sample requests and a spawner as a real start has them; then, for a Perl or
// Python script that fork mode parks after its compilation, the script
// compiled once against a fresh interpreter, else one persistent worker
// against a fresh process. A step that returns false has written why the
// check could not run.
class SafetyCheck {
 public:
  SafetyCheck(const Config& config, std::ostream& report)
      : config_(config), report_(report), observations_(RealLimits(config)) {}

  int Run() {
    if (!ResolveProgram() || !LoadRequests() || !PrepareSpawns()) return kCheckCouldNotRun;
    // What to check: persistent mode does not run scripts.
    ParkCheck preflight = InspectForForkMode(program_, SearchPathOf(base_env_));
    std::string why;
    if (std::optional<ParkSpec> script = PlanScriptPark(park_, preflight, &why)) return CheckScript(*script);
    return CheckPersistent();
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

  // The program as start-up resolves PROGRAM: its real path, directory and
  // --rlimit-*.
  bool ResolveProgram() {
    if (Status s = ResolveProgramTarget(config_, &target_); !s.ok()) return CouldNotRun(s.message());
    program_ = target_.path;
    cwd_ = target_.cwd;
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

  // Spawns as a real start makes them: the root refusal, --user and
  // --program-user (ApplyPrivileges), --rlimit-*, --env.
  bool PrepareSpawns() {
    base_env_ = EnvEntries(config_.env);  // --env, then PATH, as in serving
    spawner_ = MakeProcessSpawner();
    if (Status s = ApplyPrivileges(config_, &spawner_); !s.ok()) return CouldNotRun(s.message());
    park_.program = program_;
    park_.args = config_.args;
    park_.cwd = cwd_;
    park_.env = base_env_;
    park_.rlimits = target_.rlimits;
    park_.compat_library = FindCompatLibrary(config_.compat_library);
    park_.hello_timeout = std::chrono::duration_cast<std::chrono::milliseconds>(config_.park_timeout);
    return true;
  }

  // The persistent-mode check: one persistent worker (recycling off:
  // observed instead) against a fresh process each time (fork mode).
  int CheckPersistent() {
    PersistentRunnerOptions po;
    po.park = park_;
    po.workers = 1;
    po.limits = RecycleLimits{0, 0, 0, 1u << 30};  // observe instead of recycling
    po.on_report = [this](const CompatReport& r, const RequestAftermath& a, const std::string&) {
      observations_.Add(r, a);
    };
    reused_ = MakePersistentRunner(io_, *spawner_, po);
    if (std::string(reused_->mode_name()) != "persistent") {
      CouldNotRun(program_ + " cannot run in persistent mode (it would be served in " + reused_->mode_name() +
                  " mode: see the log line above)");
      return kCheckCouldNotRun;
    }
    ForkRunnerOptions fo;
    fo.park = park_;
    fresh_ = MakeForkRunner(io_, *spawner_, fo);
    report_ << "fcgi-run --check " << program_ << "\n"
            << requests_.size() << " sample request(s); fresh process (" << fresh_->mode_name()
            << " mode) twice each, then " << kPersistentRounds << " rounds in one persistent worker.\n\n";
    if (!RunFreshReference()) return kCheckCouldNotRun;
    RunRounds("round", ComparePersistent);
    if (!StayedPersistent()) return kCheckCouldNotRun;
    return PersistentVerdict();
  }

  // The script check: the script compiled once (fork mode, parked after its
  // compilation) against a fresh interpreter (exec mode).
  int CheckScript(const ParkSpec& script_park) {
    fresh_ = MakeExecRunner(io_, *spawner_);
    ForkRunnerOptions fo;
    fo.park = park_;
    reused_ = MakeForkRunner(io_, *spawner_, fo);
    report_ << "fcgi-run --check " << program_ << "\n"
            << "A " << script_park.script_language
            << " script: fork mode compiles it once, parks the interpreter and forks it for each request.\n"
            << requests_.size() << " sample request(s); a fresh interpreter (exec mode) twice each, then the "
            << "script compiled once, " << kPersistentRounds << " times each.\n\n";
    if (!RunFreshReference()) return kCheckCouldNotRun;
    RunRounds("run", CompareCompiledOnce);
    if (!StayedParked(script_park.script)) return kCheckCouldNotRun;
    return ScriptVerdict();
  }

  CheckOutcome RunOne(ProgramRunner& runner, const CheckRequest& r) {
    return RunCheckRequest(io_, runner, program_, config_.args, cwd_,
                           CheckRequestEnvironment(r, program_, base_env_), r.body, kRequestDeadline);
  }

  // Each request twice in a fresh process: the reference, and whether its
  // output (and its stderr) varies anyway (time, pid, random).
  bool RunFreshReference() {
    for (const CheckRequest& r : requests_) {
      CheckOutcome a = RunOne(*fresh_, r), b = RunOne(*fresh_, r);
      if (!a.status.ok() || !b.status.ok()) {
        report_ << "request \"" << r.name << "\" failed in " << fresh_->mode_name()
                << " mode: " << (a.status.ok() ? b.status : a.status).message() << "\n"
                << kCouldNotRun;
        return false;
      }
      varies_.push_back(a.out != b.out);
      stderr_varies_.push_back(a.err != b.err);
      if (a.out != b.out) {
        report_ << "note: \"" << r.name
                << "\" gives different output in two fresh runs (time, pid, random?): "
                << "only its status and headers are compared.\n";
      }
      reference_.push_back(std::move(a));
    }
    return true;
  }

  // How an outcome of the reused process differs from the fresh one ("" when
  // it does not).
  using Comparison = std::string (*)(const CheckOutcome& fresh, const CheckOutcome& reused, bool varies,
                                     bool stderr_varies);

  // Every request in turn, kPersistentRounds times, in the reused process;
  // each outcome compared with the reference. `each`: "round" or "run".
  void RunRounds(const char* each, Comparison compare) {
    for (int round = 1; round <= kPersistentRounds; ++round) {
      for (size_t i = 0; i < requests_.size(); ++i) {
        const std::string where = "\"" + requests_[i].name + "\", " + each + " " + std::to_string(round);
        if (std::string problem =
                compare(reference_[i], RunOne(*reused_, requests_[i]), varies_[i], stderr_varies_[i]);
            !problem.empty()) {
          problems_.push_back(where + ": " + problem);
        }
      }
    }
  }

  static std::string ComparePersistent(const CheckOutcome& fresh, const CheckOutcome& p, bool varies, bool) {
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

  static std::string CompareCompiledOnce(const CheckOutcome& fresh, const CheckOutcome& c, bool varies,
                                         bool stderr_varies) {
    if (!c.status.ok()) return c.status.message();
    if (c.raw_status != fresh.raw_status) {
      return DescribeWaitStatus(c.raw_status) + " instead of " + DescribeWaitStatus(fresh.raw_status);
    }
    if (varies ? HeaderBlock(c.out) != HeaderBlock(fresh.out) : c.out != fresh.out) {
      return "output differs from a fresh interpreter: " + FirstDifference(fresh.out, c.out, "compiled once");
    }
    if (!stderr_varies && c.err != fresh.err) {
      return "stderr differs from a fresh interpreter: " + FirstDifference(fresh.err, c.err, "compiled once");
    }
    return "";
  }

  void StopRunners() {
    reused_->Shutdown();
    fresh_->Shutdown();
    io_.run_for(std::chrono::milliseconds(100));
  }

  // Workers that never started (threads at main(), a limit too tight...)
  // made the pool fall back to exec mode: the rounds compared nothing.
  bool StayedPersistent() {
    const std::string mode = reused_->mode_name();
    StopRunners();
    if (mode == "persistent") return true;
    return CouldNotRun(
        program_ + " could not be run in persistent mode: its workers did not start and it was " +
        "served in " + mode + " mode instead (the log lines above say why), so nothing was " + "compared.");
  }

  // A script that could not be parked after its compilation was served
  // compiled per request (the fallback's log line says why): nothing compared.
  bool StayedParked(const std::string& script) {
    const bool parked_compiled = reused_->Workers().compiled == 1;
    StopRunners();
    if (parked_compiled) return true;
    return CouldNotRun(script +
                       " could not be parked after its compilation (the log lines above say why): fork mode "
                       "serves it compiled in every request, so nothing was compared.");
  }

  int PersistentVerdict() {
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

  int ScriptVerdict() {
    for (const std::string& p : problems_) report_ << "PROBLEM: " << p << "\n";
    if (!problems_.empty()) {
      report_
          << "\nVERDICT: NOT SAFE. Compiled once, the script answers differently than a fresh interpreter: "
             "what "
             "it computes while compiling (BEGIN blocks, use constant, Python's top-level imports, files or "
             "connections opened then, srand) is shared by every request. Serve it with "
             "--compile-per-request "
             "PATTERN (compiled in every request, as before).\n";
      return kCheckNotSafe;
    }
    report_
        << "\nVERDICT: SAFE for these sample requests: compiled once, the script gave the same answers as a "
           "fresh interpreter. Every request still shares what ran while it compiled (BEGIN blocks, use "
           "constant, Python's top-level imports, the hash seed): check with requests that exercise every "
           "feature (--request FILE).\n";
    return kCheckSafe;
  }

  const Config& config_;
  std::ostream& report_;
  ProgramTarget target_;  // PROGRAM resolved
  std::string program_, cwd_;
  std::vector<CheckRequest> requests_;
  std::vector<std::string> base_env_;
  ParkSpec park_;              // the program parked as fork and persistent mode park it
  Observations observations_;  // fed by the persistent worker's REPORTs
  boost::asio::io_context io_;
  std::unique_ptr<Spawner> spawner_;
  // The fresh process (fork mode; exec mode for a script) and the reused one
  // (the persistent worker; the script parked after its compilation).
  // Destroyed before io_ and spawner_.
  std::unique_ptr<ProgramRunner> fresh_, reused_;
  std::vector<CheckOutcome> reference_;  // the fresh runs, one per request
  std::vector<bool> varies_;             // its output differs between fresh runs
  std::vector<bool> stderr_varies_;      // its stderr differs between fresh runs
  std::vector<std::string> problems_;
};

}  // namespace

int RunSafetyCheck(const Config& config, std::ostream& report) { return SafetyCheck(config, report).Run(); }

}  // namespace fcgi
