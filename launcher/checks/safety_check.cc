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

}  // namespace

int RunSafetyCheck(const Config& config, std::ostream& report) {
  char resolved[PATH_MAX];
  if (realpath(config.program.c_str(), resolved) == nullptr) {
    report << "fcgi-run --check: cannot find " << config.program << "\n" << kCouldNotRun;
    return kCheckCouldNotRun;
  }
  const std::string program = resolved;
  std::string cwd = program.substr(0, program.rfind('/'));
  if (cwd.empty()) cwd = "/";
  std::vector<CheckRequest> requests = {DefaultCheckRequest()};
  for (const std::string& file : config.check_requests) {
    std::ifstream in(file, std::ios::binary);
    if (!in) {
      report << "fcgi-run --check: cannot read request file " << file << "\n" << kCouldNotRun;
      return kCheckCouldNotRun;
    }
    std::stringstream text;
    text << in.rdbuf();
    CheckRequest r;
    Status s = ParseCheckRequest(file, text.str(), &r);
    if (!s.ok()) {
      report << "fcgi-run --check: " << s.message() << "\n" << kCouldNotRun;
      return kCheckCouldNotRun;
    }
    requests.push_back(std::move(r));
  }
  const std::vector<std::string> base_env = EnvEntries(BaseEnvironment(config.env, getenv));

  // As a real start: refuse to run programs as root without --allow-root,
  // drop to --user, run programs as --program-user (ApplyPrivileges).
  std::unique_ptr<Spawner> spawner = MakeProcessSpawner();
  if (Status s = ApplyPrivileges(config, &spawner); !s.ok()) {
    report << "fcgi-run --check: " << s.message() << "\n" << kCouldNotRun;
    return kCheckCouldNotRun;
  }
  boost::asio::io_context io;
  ParkSpec park;
  park.program = program;
  park.args = config.args;
  park.cwd = cwd;
  park.env = base_env;
  park.rlimits = RlimitsFromConfig(config);  // --rlimit-*, as every real run gets them
  park.compat_library = FindCompatLibrary(config.compat_library);
  park.hello_timeout = std::chrono::milliseconds(static_cast<long>(config.park_timeout_seconds * 1000));

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
    RequestAftermath a;
    a.exit_intercepted = (r.flags & compat::kReportExitIntercepted) != 0;
    a.links_libstdcxx = libstdcxx;
    a.threads = r.threads;
    a.open_fds = r.open_fds;
    a.baseline_fds = r.baseline_fds;
    a.rss_kib = r.rss_kib;
    a.requests = r.requests;
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
  std::unique_ptr<ProgramRunner> persistent = MakePersistentRunner(io, *spawner, po);
  if (std::string(persistent->mode_name()) != "persistent") {
    report << "fcgi-run --check: " << program << " cannot run in persistent mode (it would be served in "
           << persistent->mode_name() << " mode: see the log line above)\n"
           << kCouldNotRun;
    return kCheckCouldNotRun;
  }
  ForkRunnerOptions fo;
  fo.park = park;
  std::unique_ptr<ProgramRunner> fork = MakeForkRunner(io, *spawner, fo);

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

}  // namespace fcgi
