#include "launcher/checks/safety_check.h"

#include <sys/wait.h>

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <fstream>
#include <optional>
#include <ostream>
#include <sstream>
#include <vector>

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

struct Observed {
  uint32_t flags = 0;
  uint32_t max_threads = 1;
  uint32_t first_fds = 0, last_fds = 0, baseline_fds = 0;
  uint32_t first_rss = 0, last_rss = 0;
  bool libstdcxx = false;
  int reports = 0;
  // What a worker serving with the real limits (--max-requests, --max-rss,
  // fd growth, threads, exit in C++) would have been recycled for: the first
  // reason of each kind and how often that kind came up.
  std::vector<std::pair<std::string, int>> would_recycle;
  void WouldRecycle(const std::string& why) {
    // Reasons of one kind differ in their numbers only: compare up to the first digit.
    auto kind = [](const std::string& s) { return s.substr(0, s.find_first_of("0123456789")); };
    for (auto& [first, times] : would_recycle) {
      if (kind(first) == kind(why)) {
        ++times;
        return;
      }
    }
    would_recycle.emplace_back(why, 1);
  }
};

constexpr const char* kCouldNotRun = "VERDICT: the check could not run.\n";

// What every check needs: the program, its sample requests, the programs'
// environment, a spawner set up as a real start would, and the park spec.
struct CheckSetup {
  std::string program;  // real path
  std::string cwd;
  std::vector<CheckRequest> requests;
  std::vector<std::string> base_env;
  std::unique_ptr<Spawner> spawner;
  ParkSpec park;
};

// False (after reporting why) when the check cannot even start.
bool PrepareCheck(const Config& config, std::ostream& report, CheckSetup* setup) {
  ProgramTarget target;  // as start-up resolves PROGRAM, with --rlimit-*
  if (Status s = ResolveProgramTarget(config, &target); !s.ok()) {
    report << "fcgi-run --check: " << s.message() << "\n" << kCouldNotRun;
    return false;
  }
  setup->program = target.path;
  setup->cwd = target.cwd;
  setup->requests = {DefaultCheckRequest()};
  for (const std::string& file : config.check_requests) {
    std::ifstream in(file, std::ios::binary);
    if (!in) {
      report << "fcgi-run --check: cannot read request file " << file << "\n" << kCouldNotRun;
      return false;
    }
    std::stringstream text;
    text << in.rdbuf();
    CheckRequest r;
    Status s = ParseCheckRequest(file, text.str(), &r);
    if (!s.ok()) {
      report << "fcgi-run --check: " << s.message() << "\n" << kCouldNotRun;
      return false;
    }
    setup->requests.push_back(std::move(r));
  }
  // The programs' environment as in serving: --env, then PATH (Config::env).
  for (const auto& [name, value] : config.env) setup->base_env.push_back(name + "=" + value);

  // As a real start: refuse to run programs as root without --allow-root,
  // drop to --user, run programs as --program-user (ApplyPrivileges).
  setup->spawner = MakeProcessSpawner();
  if (Status s = ApplyPrivileges(config, &setup->spawner); !s.ok()) {
    report << "fcgi-run --check: " << s.message() << "\n" << kCouldNotRun;
    return false;
  }
  ParkSpec& park = setup->park;
  park.program = setup->program;
  park.args = config.args;
  park.cwd = setup->cwd;
  park.env = setup->base_env;
  park.rlimits = target.rlimits;  // --rlimit-*, as every real run gets them
  park.compat_library = FindCompatLibrary(config.compat_library);
  park.hello_timeout = std::chrono::duration_cast<std::chrono::milliseconds>(config.park_timeout);
  return true;
}

// The persistent-mode check (safety_check.h).
int RunPersistentCheck(const Config& config, CheckSetup& setup, std::ostream& report) {
  const std::string& program = setup.program;
  const std::string& cwd = setup.cwd;
  const std::vector<CheckRequest>& requests = setup.requests;
  const std::vector<std::string>& base_env = setup.base_env;
  Spawner& spawner = *setup.spawner;
  const ParkSpec& park = setup.park;
  boost::asio::io_context io;
  Observed seen;
  PersistentRunnerOptions po;
  po.park = park;
  po.workers = 1;
  po.limits = RecycleLimits{0, 0, 0, 1u << 30};  // observe instead of recycling
  RecycleLimits real_limits;
  real_limits.max_requests = config.max_requests;
  real_limits.max_rss_kib = config.max_rss_mib * 1024;
  RecyclePolicy would(real_limits);
  po.on_report = [&seen, &would](const CompatReport& r, bool libstdcxx, const std::string&) {
    RequestAftermath a = AftermathOf(r, libstdcxx);
    if (std::string why = would.AfterRequest(a); !why.empty()) seen.WouldRecycle(why);
    seen.flags |= r.flags;
    seen.max_threads = std::max(seen.max_threads, r.threads);
    if (seen.reports++ == 0) {
      seen.first_fds = r.open_fds;
      seen.first_rss = r.rss_kib;
      seen.baseline_fds = r.baseline_fds;
    }
    seen.last_fds = r.open_fds;
    seen.last_rss = r.rss_kib;
    seen.libstdcxx = libstdcxx;
  };
  std::unique_ptr<ProgramRunner> persistent = MakePersistentRunner(io, spawner, po);
  if (std::string(persistent->mode_name()) != "persistent") {
    report << "fcgi-run --check: " << program << " cannot run in persistent mode (it would be served in "
           << persistent->mode_name() << " mode: see the log line above)\n"
           << kCouldNotRun;
    return kCheckCouldNotRun;
  }
  ForkRunnerOptions fo;
  fo.park = park;
  std::unique_ptr<ProgramRunner> fork = MakeForkRunner(io, spawner, fo);

  auto run = [&](ProgramRunner& runner, const CheckRequest& r) {
    return RunCheckRequest(io, runner, program, config.args, cwd,
                           CheckRequestEnvironment(r, program, base_env), r.body, kRequestDeadline);
  };
  report << "fcgi-run --check " << program << "\n"
         << requests.size() << " sample request(s); fresh process (" << fork->mode_name()
         << " mode) twice each, then " << kPersistentRounds << " rounds in one persistent worker.\n\n";
  std::vector<CheckOutcome> reference;
  std::vector<bool> varies;
  for (const CheckRequest& r : requests) {
    CheckOutcome a = run(*fork, r), b = run(*fork, r);
    if (!a.status.ok() || !b.status.ok()) {
      report << "request \"" << r.name << "\" failed in " << fork->mode_name()
             << " mode: " << (a.status.ok() ? b.status : a.status).message() << "\n"
             << kCouldNotRun;
      return kCheckCouldNotRun;
    }
    varies.push_back(a.out != b.out);
    if (a.out != b.out) {
      report << "note: \"" << r.name << "\" gives different output in two fresh runs (time, pid, random?): "
             << "only its status and headers are compared.\n";
    }
    reference.push_back(std::move(a));
  }

  std::vector<std::string> problems, warnings;
  for (int round = 1; round <= kPersistentRounds; ++round) {
    for (size_t i = 0; i < requests.size(); ++i) {
      CheckOutcome p = run(*persistent, requests[i]);
      const CheckOutcome& f = reference[i];
      const std::string where = "\"" + requests[i].name + "\", round " + std::to_string(round);
      if (!p.status.ok()) {
        problems.push_back(where + ": " + p.status.message());
      } else if (WIFSIGNALED(p.raw_status) && !WIFSIGNALED(f.raw_status)) {
        problems.push_back(where + ": the persistent worker " + DescribeWaitStatus(p.raw_status));
      } else if (p.raw_status != f.raw_status) {
        problems.push_back(where + ": " + DescribeWaitStatus(p.raw_status) + " instead of " +
                           DescribeWaitStatus(f.raw_status));
      } else if (varies[i] ? HeaderBlock(p.out) != HeaderBlock(f.out) : p.out != f.out) {
        problems.push_back(where +
                           ": output differs from a fresh process (global state carried over from "
                           "an earlier request): " +
                           FirstDifference(f.out, p.out));
      }
    }
  }
  // Workers that never started (threads at main(), a limit too tight...)
  // made the pool fall back to exec mode: the runs above compared nothing.
  const std::string persistent_mode = persistent->mode_name();
  persistent->Shutdown();
  fork->Shutdown();
  io.run_for(std::chrono::milliseconds(100));
  if (persistent_mode != "persistent") {
    report << "fcgi-run --check: " << program
           << " could not be run in persistent mode: its workers did not start "
           << "and it was served in " << persistent_mode << " mode instead (the log lines above say why), so "
           << "nothing was compared.\n"
           << kCouldNotRun;
    return kCheckCouldNotRun;
  }

  report << "What the shim repaired between requests: "
         << (seen.flags == 0 ? std::string("nothing was needed") : DescribeReportFlags(seen.flags)) << ".\n";
  if (seen.max_threads > 1) {
    problems.push_back("the program leaves threads running after a request (" +
                       std::to_string(seen.max_threads) +
                       " threads): every such request replaces the worker");
  }
  if (seen.reports >= 2 && seen.last_fds > seen.first_fds) {
    warnings.push_back("open file descriptors grew from " + std::to_string(seen.first_fds) + " to " +
                       std::to_string(seen.last_fds) + " (baseline " + std::to_string(seen.baseline_fds) +
                       "): a leak; workers will be recycled when it keeps growing");
  }
  if (seen.reports >= 2 && seen.last_rss > seen.first_rss + 1024) {
    warnings.push_back("resident memory grew from " + std::to_string(seen.first_rss / 1024) + " to " +
                       std::to_string(seen.last_rss / 1024) + " MiB: set --max-rss");
  }
  if ((seen.flags & compat::kReportExitIntercepted) != 0 && seen.libstdcxx) {
    warnings.push_back(
        "the program calls exit() and links libstdc++: each such request replaces the worker "
        "(correct, but no faster than fork mode)");
  }
  if (!seen.would_recycle.empty()) {
    report << "Serving it, fcgi-run would replace the worker (recycle) because:\n";
    for (const auto& [why, times] : seen.would_recycle) {
      report << "  - " << why << (times > 1 ? " (and " + std::to_string(times - 1) + " more times)" : "")
             << "\n";
    }
  } else {
    report << "Nothing seen would make fcgi-run replace the worker before --max-requests.\n";
  }
  for (const std::string& w : warnings) report << "warning: " << w << "\n";
  for (const std::string& p : problems) report << "PROBLEM: " << p << "\n";
  if (!problems.empty()) {
    report << "\nVERDICT: NOT SAFE. Persistent mode would change what this program answers (state from one "
              "request reaches the next, which can also leak one user's data to another). Use --mode fork.\n";
    return kCheckNotSafe;
  }
  report << "\nVERDICT: SAFE for these sample requests: persistent mode gave the same answers as a fresh "
            "process. Global variables still persist between requests: check with requests that exercise "
            "every feature (--request FILE) before relying on it.\n";
  return kCheckSafe;
}

// The script check (safety_check.h): the script compiled once (fork mode,
// parked after its compilation) against a fresh interpreter (exec mode).
int RunScriptCheck(CheckSetup& setup, const ParkSpec& script_park, std::ostream& report) {
  const std::string& script = script_park.script;
  boost::asio::io_context io;
  std::unique_ptr<ProgramRunner> fresh = MakeExecRunner(io, *setup.spawner);
  ForkRunnerOptions fo;
  fo.park = setup.park;
  std::unique_ptr<ProgramRunner> compiled = MakeForkRunner(io, *setup.spawner, fo);
  auto run = [&](ProgramRunner& runner, const CheckRequest& r) {
    return RunCheckRequest(io, runner, setup.program, setup.park.args, setup.cwd,
                           CheckRequestEnvironment(r, setup.program, setup.base_env), r.body,
                           kRequestDeadline);
  };
  report << "fcgi-run --check " << setup.program << "\n"
         << "A " << script_park.script_language
         << " script: fork mode compiles it once, parks the interpreter "
         << "and forks it for each request.\n"
         << setup.requests.size()
         << " sample request(s); a fresh interpreter (exec mode) twice each, then the "
         << "script compiled once, " << kPersistentRounds << " times each.\n\n";
  std::vector<CheckOutcome> reference;
  std::vector<bool> varies, stderr_varies;
  for (const CheckRequest& r : setup.requests) {
    CheckOutcome a = run(*fresh, r), b = run(*fresh, r);
    if (!a.status.ok() || !b.status.ok()) {
      report << "request \"" << r.name
             << "\" failed in exec mode: " << (a.status.ok() ? b.status : a.status).message() << "\n"
             << kCouldNotRun;
      return kCheckCouldNotRun;
    }
    varies.push_back(a.out != b.out);
    stderr_varies.push_back(a.err != b.err);
    if (a.out != b.out) {
      report << "note: \"" << r.name << "\" gives different output in two fresh runs (time, pid, random?): "
             << "only its status and headers are compared.\n";
    }
    reference.push_back(std::move(a));
  }
  std::vector<std::string> problems;
  for (int round = 1; round <= kPersistentRounds; ++round) {
    for (size_t i = 0; i < setup.requests.size(); ++i) {
      CheckOutcome c = run(*compiled, setup.requests[i]);
      const CheckOutcome& f = reference[i];
      const std::string where = "\"" + setup.requests[i].name + "\", run " + std::to_string(round);
      if (!c.status.ok()) {
        problems.push_back(where + ": " + c.status.message());
      } else if (c.raw_status != f.raw_status) {
        problems.push_back(where + ": " + DescribeWaitStatus(c.raw_status) + " instead of " +
                           DescribeWaitStatus(f.raw_status));
      } else if (varies[i] ? HeaderBlock(c.out) != HeaderBlock(f.out) : c.out != f.out) {
        problems.push_back(where + ": output differs from a fresh interpreter: " +
                           FirstDifference(f.out, c.out, "compiled once"));
      } else if (!stderr_varies[i] && c.err != f.err) {
        problems.push_back(where + ": stderr differs from a fresh interpreter: " +
                           FirstDifference(f.err, c.err, "compiled once"));
      }
    }
  }
  // A script that could not be parked after its compilation was served
  // compiled per request (the fallback's log line says why): nothing compared.
  const bool parked_compiled = compiled->Workers().compiled == 1;
  fresh->Shutdown();
  compiled->Shutdown();
  io.run_for(std::chrono::milliseconds(100));
  if (!parked_compiled) {
    report << "fcgi-run --check: " << script << " could not be parked after its compilation (the log lines "
           << "above say why): fork mode serves it compiled in every request, so nothing was compared.\n"
           << kCouldNotRun;
    return kCheckCouldNotRun;
  }
  for (const std::string& p : problems) report << "PROBLEM: " << p << "\n";
  if (!problems.empty()) {
    report
        << "\nVERDICT: NOT SAFE. Compiled once, the script answers differently than a fresh interpreter: "
           "what "
           "it computes while compiling (BEGIN blocks, use constant, Python's top-level imports, files or "
           "connections opened then, srand) is shared by every request. Serve it with --compile-per-request "
           "PATTERN (compiled in every request, as before).\n";
    return kCheckNotSafe;
  }
  report << "\nVERDICT: SAFE for these sample requests: compiled once, the script gave the same answers as a "
            "fresh interpreter. Every request still shares what ran while it compiled (BEGIN blocks, use "
            "constant, Python's top-level imports, the hash seed): check with requests that exercise every "
            "feature (--request FILE).\n";
  return kCheckSafe;
}

}  // namespace

int RunSafetyCheck(const Config& config, std::ostream& report) {
  CheckSetup setup;
  if (!PrepareCheck(config, report, &setup)) return kCheckCouldNotRun;
  // A Perl or Python script fork mode parks after its compilation: that is
  // what to check (persistent mode does not run scripts).
  ParkCheck preflight = InspectForForkMode(setup.program, SearchPathOf(setup.base_env));
  std::string why;
  if (std::optional<ParkSpec> script = PlanScriptPark(setup.park, preflight, &why)) {
    return RunScriptCheck(setup, *script, report);
  }
  return RunPersistentCheck(config, setup, report);
}

}  // namespace fcgi
