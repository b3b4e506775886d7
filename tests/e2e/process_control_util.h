// Helpers shared by the process-control and failure-handling end-to-end tests
// (process_control_test.cc, failure_test.cc): the test program control.cgi
// (tests/e2e/programs/), its record file of "PID QUERY" lines, and checks on
// processes through /proc and kill(2). Header-only; test code only.
#ifndef FCGI_RUN_TESTS_E2E_PROCESS_CONTROL_UTIL_H_
#define FCGI_RUN_TESTS_E2E_PROCESS_CONTROL_UTIL_H_

#include <dirent.h>
#include <signal.h>
#include <sys/types.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "core/fcgi_name_value.h"
#include "tests/support/fcgi_run_server.h"
#include "tests/support/fcgi_test_client.h"
#include "tests/support/request_params.h"
#include "tests/support/temp_dir.h"

namespace fcgi::test::pc {

using Clock = std::chrono::steady_clock;

// The built test programs (tests/e2e/programs/CMakeLists.txt).
inline std::string TestProgram(const std::string& name) {
  return std::string(FCGI_RUN_BUILD_DIR) + "/tests/e2e/programs/" + name;
}

inline double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// control.cgi's record file ("PID QUERY" lines), in a temp dir of its own.
class Record {
 public:
  const std::string& path() const { return path_; }

 private:
  TempDir dir_{"fcgi-run-record"};
  std::string path_ = dir_.File("record");
};

// fcgi-run serving control.cgi, which appends to `record`.
inline FcgiRunOptions ControlApp(const Record& record, std::vector<std::string> flags = {},
                                 const std::string& listen = "unix") {
  FcgiRunOptions o;
  o.program = TestProgram("control.cgi");
  o.program_args = {record.path()};
  o.listen = listen;
  o.flags = std::move(flags);
  return o;
}

// FastCGI params of a GET (or POST with a body of `content_length` bytes).
inline NameValuePairs ControlParams(const std::string& query, long content_length = -1) {
  return RequestParams(TestProgram("control.cgi"), "/control.cgi", query, content_length);
}

// A request (id 1 unless given) of `params` with `body` as its stdin.
inline RequestSpec Spec(NameValuePairs params, std::string body = "", bool keep_conn = false) {
  RequestSpec spec;
  spec.keep_conn = keep_conn;
  spec.params = std::move(params);
  spec.stdin_body = std::move(body);
  return spec;
}

// The pid recorded with exactly `query` (0 if none yet).
inline pid_t RecordedPid(const std::string& record_file, const std::string& query) {
  std::istringstream in(ReadFile(record_file));
  std::string line;
  while (std::getline(in, line)) {
    auto space = line.find(' ');
    if (space != std::string::npos && line.substr(space + 1) == query) return std::atoi(line.c_str());
  }
  return 0;
}

// Waits (5 s at most) until a pid is recorded for `query`; 0 on timeout.
inline pid_t WaitForPid(const std::string& record_file, const std::string& query,
                        std::chrono::milliseconds timeout = std::chrono::milliseconds(5000)) {
  auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    if (pid_t pid = RecordedPid(record_file, query)) return pid;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return 0;
}

// /proc/PID/stat state letter ('R', 'S', 'Z', ...), or 0 if there is no such process.
inline char ProcessState(pid_t pid) {
  std::string stat = ReadFile("/proc/" + std::to_string(pid) + "/stat");
  auto paren = stat.rfind(')');
  if (paren == std::string::npos || paren + 2 >= stat.size()) return 0;
  return stat[paren + 2];
}

// Parent pid from /proc/PID/stat, -1 if no such process.
inline pid_t ParentOf(pid_t pid) {
  std::string stat = ReadFile("/proc/" + std::to_string(pid) + "/stat");
  auto paren = stat.rfind(')');
  if (paren == std::string::npos) return -1;
  std::istringstream rest(stat.substr(paren + 2));
  std::string state;
  pid_t ppid = -1;
  rest >> state >> ppid;
  return ppid;
}

// The program is reaped (no such pid) and nothing of the process group it led
// (the launcher gives every program its own group, pgid = pid) still runs.
// Members that are zombies count as gone: they are orphans (e.g. a shell's
// `sleep` killed with it) that init reaps on its own schedule.
inline bool PidAndGroupGone(pid_t pid);

// Not running any more: gone, or a zombie waiting for a reaper other than the launcher.
inline bool NotRunning(pid_t pid) {
  char s = ProcessState(pid);
  return s == 0 || s == 'Z' || s == 'X';
}

template <typename Predicate>
bool WaitFor(Predicate done, std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  for (;;) {
    if (done()) return true;
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

// Processes of process group `pgid` as (pid, state) pairs, from /proc.
inline std::vector<std::pair<pid_t, char>> GroupMembers(pid_t pgid) {
  std::vector<std::pair<pid_t, char>> out;
  DIR* d = opendir("/proc");
  if (d == nullptr) return out;
  while (dirent* e = readdir(d)) {
    char* end = nullptr;
    long pid = std::strtol(e->d_name, &end, 10);
    if (*end != '\0' || pid <= 0) continue;
    std::string stat = ReadFile("/proc/" + std::string(e->d_name) + "/stat");
    auto paren = stat.rfind(')');
    if (paren == std::string::npos) continue;
    std::istringstream rest(stat.substr(paren + 2));
    std::string state;
    long ppid = 0, pgrp = 0;
    rest >> state >> ppid >> pgrp;
    if (pgrp == pgid) out.emplace_back(static_cast<pid_t>(pid), state.empty() ? '?' : state[0]);
  }
  closedir(d);
  return out;
}

inline std::string DescribeProcesses(const std::vector<std::pair<pid_t, char>>& processes) {
  std::string s;
  for (auto [pid, state] : processes) {
    s += std::to_string(pid) + ":" + state + " " + ReadFile("/proc/" + std::to_string(pid) + "/comm");
  }
  return s.empty() ? "none" : s;
}

inline bool PidAndGroupGone(pid_t pid) {
  if (kill(pid, 0) == 0 || errno != ESRCH) return false;
  for (auto [member, state] : GroupMembers(pid)) {
    if (state != 'Z' && state != 'X') return false;
  }
  return true;
}

// Children of `parent` as (pid, state) pairs, from /proc.
inline std::vector<std::pair<pid_t, char>> ChildrenOf(pid_t parent) {
  std::vector<std::pair<pid_t, char>> out;
  DIR* d = opendir("/proc");
  if (d == nullptr) return out;
  while (dirent* e = readdir(d)) {
    char* end = nullptr;
    long pid = std::strtol(e->d_name, &end, 10);
    if (*end != '\0' || pid <= 0) continue;
    if (ParentOf(static_cast<pid_t>(pid)) == parent) {
      out.emplace_back(static_cast<pid_t>(pid), ProcessState(static_cast<pid_t>(pid)));
    }
  }
  closedir(d);
  return out;
}

}  // namespace fcgi::test::pc

#endif  // FCGI_RUN_TESTS_E2E_PROCESS_CONTROL_UTIL_H_
