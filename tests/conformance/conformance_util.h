// Helpers of the conformance and fault suites (tests/conformance/): params
// for the example programs, test programs written into a temp dir, and the
// launcher's health checks (/proc/PID/fd count, children). Header-only; test
// code only.
#ifndef FCGI_RUN_TESTS_CONFORMANCE_CONFORMANCE_UTIL_H_
#define FCGI_RUN_TESTS_CONFORMANCE_CONFORMANCE_UTIL_H_

#include <dirent.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>
#include <catch2/catch.hpp>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "core/fcgi_name_value.h"
#include "tests/e2e/process_control_util.h"
#include "tests/support/content_util.h"
#include "tests/support/fcgi_run_server.h"
#include "tests/support/fcgi_test_client.h"
#include "tests/support/request_params.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_paths.h"

namespace fcgi::test::conf {

using namespace std::chrono_literals;  // NOLINT: test code, durations only

inline FcgiRunOptions App(const std::string& program, std::vector<std::string> flags = {}) {
  FcgiRunOptions o;
  o.program = program;
  o.flags = std::move(flags);
  return o;
}

// CGI params of a request for `program` (GET, or POST with CONTENT_LENGTH when
// content_length >= 0).
inline NameValuePairs Params(const std::string& program, const std::string& query = "",
                             long content_length = -1) {
  return RequestParams(program, "/app", query, content_length, /*with_request_uri=*/false);
}

// What echo.cgi prints for a stdin of `body`.
inline std::string EchoOutput(std::string_view body) {
  return "length=" + std::to_string(body.size()) + "\nsha256=" + Sha256Hex(body) + "\n";
}

// A shell script written into `dir` as an executable program.
inline std::string Script(const TempDir& dir, const std::string& name, const std::string& body) {
  std::string path = dir.WriteFile(name, "#!/bin/sh\n" + body);
  chmod(path.c_str(), 0755);
  return path;
}

// Number of open descriptors of `pid` (/proc/PID/fd), -1 if unreadable.
inline int FdCount(pid_t pid) {
  DIR* d = opendir(("/proc/" + std::to_string(pid) + "/fd").c_str());
  if (d == nullptr) return -1;
  int n = 0;
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] != '.') ++n;
  }
  closedir(d);
  return n;  // (the DIR's own descriptor is ours, not the launcher's)
}

// "0->/dev/null 1->pipe:[123] ..." for `pid`'s descriptors (diagnostics).
inline std::string DescribeFds(pid_t pid) {
  const std::string dir = "/proc/" + std::to_string(pid) + "/fd";
  std::string out;
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return "(unreadable)";
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] == '.') continue;
    char target[256];
    ssize_t n = readlink((dir + "/" + e->d_name).c_str(), target, sizeof target - 1);
    target[n > 0 ? n : 0] = '\0';
    out += std::string(e->d_name) + "->" + target + " ";
  }
  closedir(d);
  return out;
}

// CPU time (user + system) `pid` has used so far, in seconds; -1 if unreadable.
inline double CpuSeconds(pid_t pid) {
  std::string stat = ReadFile("/proc/" + std::to_string(pid) + "/stat");
  size_t close = stat.rfind(')');
  if (close == std::string::npos) return -1;
  // Fields after "pid (comm) ": state is field 3; utime and stime are 14 and 15.
  std::vector<std::string> fields;
  size_t pos = close + 2;
  while (pos < stat.size()) {
    size_t end = stat.find(' ', pos);
    if (end == std::string::npos) end = stat.size();
    fields.push_back(stat.substr(pos, end - pos));
    pos = end + 1;
  }
  if (fields.size() < 13) return -1;
  const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  return (std::stod(fields[11]) + std::stod(fields[12])) / ticks;
}

// The launcher after a fault: alive, answers a request, its fd count returns
// to `baseline_fds` and it has no child left (exec mode keeps none), each
// within `settle`. Returns "" when healthy, else what is wrong.
inline std::string CheckHealthy(FcgiRun& app, const std::string& program, int baseline_fds,
                                std::chrono::milliseconds settle = 5000ms) {
  const pid_t pid = app.process().pid();
  if (!app.process().IsRunning()) return "the launcher is not running";
  FcgiResponse r = RequestOnce(app.address(), Params(program, "health"));
  if (!r.ok()) return "no answer to a control request: " + r.Describe();
  int fds = -1;
  if (!pc::WaitFor([&] { return (fds = FdCount(pid)) == baseline_fds; }, settle)) {
    return "fd count " + std::to_string(fds) + ", baseline " + std::to_string(baseline_fds) + ": " +
           DescribeFds(pid);
  }
  // The socket remover (launcher/front/socket_remover.h) lives as long as the
  // launcher when it runs as root with --user: it is no request's child.
  auto request_children = [&] {
    std::vector<std::pair<pid_t, char>> out;
    for (auto child : pc::ChildrenOf(pid)) {
      if (ReadFile("/proc/" + std::to_string(child.first) + "/comm") != "fcgi-run-rm\n") out.push_back(child);
    }
    return out;
  };
  std::vector<std::pair<pid_t, char>> children;
  if (TestMode() == "exec" && !pc::WaitFor([&] { return (children = request_children()).empty(); }, settle)) {
    return "children left: " + pc::DescribeProcesses(children);
  }
  return "";
}

// The fd count once the launcher has served one request (listeners, log,
// reactor descriptors), to compare against after a fault.
inline int Baseline(FcgiRun& app, const std::string& program) {
  REQUIRE(RequestOnce(app.address(), Params(program, "warm-up")).ok());
  // Settled: the same count twice, 100 ms apart (the warm-up connection is
  // closed by the launcher once it sees our EOF).
  int fds = FdCount(app.process().pid());
  for (int i = 0; i < 20; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    int now = FdCount(app.process().pid());
    if (now == fds) break;
    fds = now;
  }
  REQUIRE(fds > 0);
  return fds;
}

}  // namespace fcgi::test::conf

#endif  // FCGI_RUN_TESTS_CONFORMANCE_CONFORMANCE_UTIL_H_
