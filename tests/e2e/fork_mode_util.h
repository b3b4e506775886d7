// Helpers of the fork-mode end-to-end tests (fork_mode_test.cc,
// fork_lifecycle_test.cc): fcgi-run forced into --mode fork, the test programs
// of tests/e2e/fork_programs/ and their output, and the parked process's pid
// as the launcher logs it ("... parked at main() as pid N"; a request's
// parent is that pid). Header-only; test code only.
#ifndef FCGI_RUN_TESTS_E2E_FORK_MODE_UTIL_H_
#define FCGI_RUN_TESTS_E2E_FORK_MODE_UTIL_H_

#include <sys/types.h>
#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <map>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "tests/e2e/process_control_util.h"
#include "tests/support/fcgi_run_server.h"
#include "tests/support/fcgi_test_client.h"
#include "tests/support/request_params.h"

namespace fcgi::test::forkmode {

inline std::string ForkProgram(const std::string& name) {
  return std::string(FCGI_RUN_BUILD_DIR) + "/tests/e2e/fork_programs/" + name;
}

// fcgi-run --mode fork serving `program`, whatever FCGI_RUN_TEST_MODE says.
inline FcgiRunOptions ForkApp(const std::string& program, std::vector<std::string> flags = {}) {
  FcgiRunOptions o;
  o.program = program;
  o.pass_mode = false;
  o.flags = {"--mode", "fork"};
  o.flags.insert(o.flags.end(), flags.begin(), flags.end());
  return o;
}

inline NameValuePairs ProbeParams(const std::string& program, const std::string& query,
                                  long content_length = -1) {
  return RequestParams(program, "/probe", query, content_length);
}

// probe.cgi's page: "name=value" lines up to "--- env"; the env dump after it
// is in `env` (NAME -> VALUE).
struct ProbePage {
  std::map<std::string, std::string> fields;
  std::map<std::string, std::string> env;
  bool has_env = false;
  std::string Get(const std::string& name) const {
    auto it = fields.find(name);
    return it == fields.end() ? "" : it->second;
  }
  pid_t Pid(const std::string& name) const { return static_cast<pid_t>(std::atoi(Get(name).c_str())); }
};

inline ProbePage ParseProbe(const std::string& body) {
  ProbePage page;
  std::istringstream in(body);
  std::string line;
  auto* target = &page.fields;
  while (std::getline(in, line)) {
    if (line == "--- env") {
      page.has_env = true;
      target = &page.env;
      continue;
    }
    auto eq = line.find('=');
    if (eq != std::string::npos) target->emplace(line.substr(0, eq), line.substr(eq + 1));
  }
  return page;
}

// Every pid the launcher logged as "parked at main() as pid N" (or, for a
// Perl or Python script, "parked after compilation as pid N"), in order.
inline std::vector<pid_t> ParkedPids(const std::string& log) {
  std::vector<std::pair<size_t, pid_t>> found;
  for (const std::string marker : {"parked at main() as pid ", "parked after compilation as pid "}) {
    for (size_t at = log.find(marker); at != std::string::npos; at = log.find(marker, at + 1)) {
      found.emplace_back(at, static_cast<pid_t>(std::atoi(log.c_str() + at + marker.size())));
    }
  }
  std::sort(found.begin(), found.end());
  std::vector<pid_t> pids;
  for (const auto& f : found) pids.push_back(f.second);
  return pids;
}

inline size_t Count(const std::string& haystack, const std::string& needle) {
  size_t n = 0;
  for (size_t at = haystack.find(needle); at != std::string::npos; at = haystack.find(needle, at + 1)) ++n;
  return n;
}

// Waits (5 s at most) until the launcher has logged `count` parked processes;
// returns the last one's pid, 0 on timeout.
inline pid_t WaitForParked(const FcgiRun& app, size_t count = 1) {
  pid_t pid = 0;
  pc::WaitFor(
      [&] {
        auto pids = ParkedPids(app.Log());
        if (pids.size() >= count) pid = pids.back();
        return pid != 0;
      },
      std::chrono::milliseconds(5000));
  return pid;
}

// A GET of probe-like `program` on a fresh connection; the page, or an empty
// page (and a failed CHECK) when the request did not succeed.
inline ProbePage Probe(const FcgiRun& app, const std::string& query) {
  FcgiResponse r = RequestOnce(app.address(), ProbeParams(app.program(), query));
  CgiResponse cgi = SplitCgiResponse(r.stdout_data);
  INFO("query " << query << ": " << r.Describe() << "\nlauncher:\n" << app.Log());
  CHECK(r.ok());
  CHECK(cgi.status == 200);
  return r.ok() ? ParseProbe(cgi.body) : ProbePage{};
}

}  // namespace fcgi::test::forkmode

#endif  // FCGI_RUN_TESTS_E2E_FORK_MODE_UTIL_H_
