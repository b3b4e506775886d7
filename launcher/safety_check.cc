#include "launcher/safety_check.h"

#include <limits.h>
#include <stdlib.h>
#include <sys/wait.h>

#include <boost/asio/io_context.hpp>
#include <fstream>
#include <ostream>
#include <sstream>
#include <vector>

#include "launcher/check_run.h"
#include "launcher/child_watcher.h"
#include "launcher/core/check_request.h"
#include "launcher/fork_runner.h"
#include "launcher/log.h"
#include "launcher/persistent_runner.h"

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
  std::vector<std::string> recycle_reasons;
};

}  // namespace

int RunSafetyCheck(const Config& config, std::ostream& report) {
  char resolved[PATH_MAX];
  if (realpath(config.program.c_str(), resolved) == nullptr) {
    report << "fcgi-run --check: cannot find " << config.program << "\nVERDICT: the check could not run.\n";
    return kCheckCouldNotRun;
  }
  const std::string program = resolved;
  std::string cwd = program.substr(0, program.rfind('/'));
  if (cwd.empty()) cwd = "/";
  std::vector<CheckRequest> requests = {DefaultCheckRequest()};
  for (const std::string& file : config.check_requests) {
    std::ifstream in(file, std::ios::binary);
    if (!in) {
      report << "fcgi-run --check: cannot read request file " << file << "\nVERDICT: the check could not run.\n";
      return kCheckCouldNotRun;
    }
    std::stringstream text;
    text << in.rdbuf();
    CheckRequest r;
    Status s = ParseCheckRequest(file, text.str(), &r);
    if (!s.ok()) {
      report << "fcgi-run --check: " << s.message() << "\nVERDICT: the check could not run.\n";
      return kCheckCouldNotRun;
    }
    requests.push_back(std::move(r));
  }
  std::vector<std::string> base_env;
  const char* path = getenv("PATH");
  base_env.push_back(std::string("PATH=") + (path != nullptr ? path : "/usr/local/bin:/usr/bin:/bin"));
  for (const std::string& e : config.env) {
    if (e.find('=') != std::string::npos) {
      base_env.push_back(e);
    } else if (const char* v = getenv(e.c_str())) {
      base_env.push_back(e + "=" + v);
    }
  }

  boost::asio::io_context io;
  std::unique_ptr<Spawner> spawner = MakeProcessSpawner();
  ParkSpec park;
  park.program = program;
  park.args = config.args;
  park.cwd = cwd;
  park.env = base_env;
  park.compat_library = FindCompatLibrary(config.compat_library);
  park.hello_timeout = std::chrono::milliseconds(static_cast<long>(config.park_timeout_seconds * 1000));

  Observed seen;
  PersistentRunnerOptions po;
  po.park = park;
  po.workers = 1;
  po.limits = RecycleLimits{0, 0, 0, 1u << 30};  // observe instead of recycling
  po.on_report = [&seen](const CompatReport& r, bool libstdcxx, const std::string& reason) {
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
    if (!reason.empty()) seen.recycle_reasons.push_back(reason);
  };
  std::unique_ptr<ProgramRunner> persistent = MakePersistentRunner(io, *spawner, po);
  if (std::string(persistent->mode_name()) != "persistent") {
    report << "fcgi-run --check: " << program << " cannot run in persistent mode (it would be served in "
           << persistent->mode_name() << " mode: see the log line above)\nVERDICT: the check could not run.\n";
    return kCheckCouldNotRun;
  }
  ForkRunnerOptions fo;
  fo.park = park;
  std::unique_ptr<ProgramRunner> fork = MakeForkRunner(io, *spawner, fo);

  auto run = [&](ProgramRunner& runner, const CheckRequest& r) {
    return RunCheckRequest(io, runner, program, config.args, cwd, CheckRequestEnvironment(r, program, base_env),
                           r.body, kRequestDeadline);
  };
  report << "fcgi-run --check " << program << "\n" << requests.size() << " sample request(s); fresh process ("
         << fork->mode_name() << " mode) twice each, then " << kPersistentRounds
         << " rounds in one persistent worker.\n\n";
  std::vector<CheckOutcome> reference;
  std::vector<bool> varies;
  for (const CheckRequest& r : requests) {
    CheckOutcome a = run(*fork, r), b = run(*fork, r);
    if (!a.status.ok() || !b.status.ok()) {
      report << "request \"" << r.name << "\" failed in " << fork->mode_name()
             << " mode: " << (a.status.ok() ? b.status : a.status).message()
             << "\nVERDICT: the check could not run.\n";
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
        problems.push_back(where + ": output differs from a fresh process (global state carried over from "
                           "an earlier request): " + FirstDifference(f.out, p.out));
      }
    }
  }
  persistent->Shutdown();
  fork->Shutdown();
  io.run_for(std::chrono::milliseconds(100));

  report << "What the shim repaired between requests: "
         << (seen.flags == 0 ? std::string("nothing was needed") : DescribeReportFlags(seen.flags)) << ".\n";
  if (seen.max_threads > 1) {
    problems.push_back("the program leaves threads running after a request (" + std::to_string(seen.max_threads) +
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
    warnings.push_back("the program calls exit() and links libstdc++: each such request replaces the worker "
                       "(correct, but no faster than fork mode)");
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
