// Helpers of the script-park end-to-end tests (script_park_test.cc,
// script_park_lifecycle_test.cc): scripts written into a temp dir, and the
// same script served twice, by fcgi-run --mode exec (the reference: the
// script run directly, a fresh interpreter per request) and by fcgi-run
// --mode fork (parked after its compilation), so that every response can be
// compared byte for byte: stdout, stderr (FCGI_STDERR) and the exit status.
// Header-only; test code only.
#ifndef FCGI_RUN_TESTS_E2E_SCRIPT_PARK_UTIL_H_
#define FCGI_RUN_TESTS_E2E_SCRIPT_PARK_UTIL_H_

#include <sys/stat.h>
#include <catch2/catch.hpp>

#include <algorithm>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "tests/e2e/fork_mode_util.h"
#include "tests/support/fcgi_run_server.h"
#include "tests/support/fcgi_test_client.h"
#include "tests/support/request_params.h"
#include "tests/support/temp_dir.h"

namespace fcgi::test::scriptpark {

// Writes `text` to dir/name with mode 0755; returns the path.
inline std::string WriteScript(const TempDir& dir, const std::string& name, const std::string& text) {
  std::string path = dir.WriteFile(name, text);
  chmod(path.c_str(), 0755);
  return path;
}

// "fork mode: SCRIPT (perl) parked after compilation as pid N": how many.
inline size_t ScriptParks(const std::string& log) {
  return forkmode::Count(log, ") parked after compilation as pid ");
}

// fcgi-run --mode fork serving `program` (parked after its compilation).
// --park-timeout 30 unless `flags` give one: compiling takes seconds on a
// loaded machine, and a slow compile is a fallback the tests would mistake.
inline FcgiRunOptions ForkScript(const std::string& program, std::vector<std::string> flags = {},
                                 std::vector<std::string> args = {}) {
  if (std::find(flags.begin(), flags.end(), "--park-timeout") == flags.end()) {
    flags.insert(flags.end(), {"--park-timeout", "30"});
  }
  FcgiRunOptions o = forkmode::ForkApp(program, std::move(flags));
  o.program_args = std::move(args);
  return o;
}

// The same, in exec mode: the script run directly.
inline FcgiRunOptions ExecScript(const std::string& program, std::vector<std::string> flags = {},
                                 std::vector<std::string> args = {}) {
  FcgiRunOptions o = ForkScript(program, std::move(flags), std::move(args));
  o.flags[1] = "exec";
  return o;
}

// Lines that differ between two processes by nature ("pid=", "ppid=",
// "random=", "time=" lines): their values are replaced by '*'.
inline std::string Masked(const std::string& text) {
  std::string out;
  size_t at = 0;
  while (at < text.size()) {
    size_t end = text.find('\n', at);
    if (end == std::string::npos) end = text.size() - 1;
    std::string line = text.substr(at, end + 1 - at);
    for (const char* key : {"pid=", "ppid=", "random=", "time="}) {
      if (line.rfind(key, 0) == 0) line = std::string(key) + "*\n";
    }
    out += line;
    at = end + 1;
  }
  return out;
}

// A script served by both modes.
class Pair {
 public:
  explicit Pair(const std::string& program, std::vector<std::string> flags = {},
                std::vector<std::string> args = {})
      : exec_(ExecScript(program, flags, args)), fork_(ForkScript(program, flags, args)) {}
  FcgiRun& exec() { return exec_; }
  FcgiRun& fork() { return fork_; }
  // Waits (10 s at most) until the fork-mode launcher logged the park.
  bool WaitParked() {
    return pc::WaitFor([&] { return ScriptParks(fork_.Log()) >= 1; }, std::chrono::milliseconds(10000));
  }

 private:
  FcgiRun exec_;
  FcgiRun fork_;
};

struct Both {
  FcgiResponse exec;
  FcgiResponse fork;
};

inline NameValuePairs ScriptParams(const std::string& program, const std::string& query,
                                   long content_length = -1) {
  return RequestParams(program, "/script", query, content_length);
}

// One request to each launcher.
inline Both RunBoth(Pair& pair, const NameValuePairs& params, const std::string& body = "") {
  return {RequestOnce(pair.exec().address(), params, body, Millis(30000)),
          RequestOnce(pair.fork().address(), params, body, Millis(30000))};
}

// Both ended, and the fork-mode response is the exec-mode one: stdout (pid
// lines masked), stderr and exit status.
inline void CheckSame(const Both& b, const std::string& what) {
  INFO(what << "\nexec: " << b.exec.Describe() << "\nfork: " << b.fork.Describe());
  REQUIRE(b.exec.ended);
  REQUIRE(b.fork.ended);
  CHECK(Masked(b.fork.stdout_data) == Masked(b.exec.stdout_data));
  CHECK(Masked(b.fork.stderr_data) == Masked(b.exec.stderr_data));
  CHECK(b.fork.app_status == b.exec.app_status);
}

// `n` requests at once to `address` (separate connections); the responses in order.
inline std::vector<FcgiResponse> Concurrent(const std::string& address,
                                            const std::vector<NameValuePairs>& params,
                                            const std::vector<std::string>& bodies = {}) {
  std::vector<FcgiResponse> out(params.size());
  std::vector<std::thread> threads;
  for (size_t i = 0; i < params.size(); ++i) {
    threads.emplace_back([&, i] {
      out[i] = RequestOnce(address, params[i], i < bodies.size() ? bodies[i] : "", Millis(60000));
    });
  }
  for (auto& t : threads) t.join();
  return out;
}

}  // namespace fcgi::test::scriptpark

#endif  // FCGI_RUN_TESTS_E2E_SCRIPT_PARK_UTIL_H_
