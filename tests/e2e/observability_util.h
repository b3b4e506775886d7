// Helpers for the status page and log tests (status_test.cc,
// access_log_test.cc): bounded polling of a log file, JSON fields read by
// python3's json module, and the strict OpenMetrics validator
// (tests/e2e/check_openmetrics.py).
#ifndef FCGI_RUN_TESTS_E2E_OBSERVABILITY_UTIL_H_
#define FCGI_RUN_TESTS_E2E_OBSERVABILITY_UTIL_H_

#include <chrono>
#include <map>
#include <string>
#include <thread>

#include "tests/support/process.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_paths.h"

namespace fcgi::test {

// True once the file at `path` contains `needle`, polling up to `timeout`.
inline bool FileContains(const std::string& path, const std::string& needle, Seconds timeout = Seconds(5)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (ReadFile(path).find(needle) != std::string::npos) return true;
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

// Parses `json` with python3's json module (so it must be valid JSON) and
// returns the values at the given paths ("modes/fork/starts" -> its value as
// JSON text). A path that does not exist maps to "MISSING". An empty map if
// the text is not JSON.
inline std::map<std::string, std::string> JsonFields(const std::string& json,
                                                     const std::vector<std::string>& paths) {
  std::string script =
      "import json, sys\n"
      "d = json.loads(sys.stdin.read())\n"
      "for p in sys.argv[1:]:\n"
      "    v = d\n"
      "    for k in p.split('/'):\n"
      "        if isinstance(v, list) and k.isdigit() and int(k) < len(v): v = v[int(k)]\n"
      "        elif isinstance(v, dict) and k in v: v = v[k]\n"
      "        else: v = 'MISSING'; break\n"
      "    print(p + '=' + (v if v == 'MISSING' else json.dumps(v)))\n";
  std::vector<std::string> argv = {"python3", "-c", script};
  argv.insert(argv.end(), paths.begin(), paths.end());
  CommandResult r = RunCommand(argv, json, Seconds(20));
  std::map<std::string, std::string> out;
  if (!r.Succeeded()) return out;
  size_t start = 0;
  while (start < r.out.size()) {
    size_t end = r.out.find('\n', start);
    if (end == std::string::npos) end = r.out.size();
    std::string line = r.out.substr(start, end - start);
    size_t eq = line.find('=');
    if (eq != std::string::npos) out[line.substr(0, eq)] = line.substr(eq + 1);
    start = end + 1;
  }
  return out;
}

// "" if `text` is valid OpenMetrics, else the validator's complaint.
inline std::string OpenMetricsProblem(const std::string& text) {
  CommandResult r =
      RunCommand({"python3", SourceDir() + "/tests/e2e/check_openmetrics.py"}, text, Seconds(20));
  return r.Succeeded() ? "" : r.out + r.err;
}

}  // namespace fcgi::test

#endif  // FCGI_RUN_TESTS_E2E_OBSERVABILITY_UTIL_H_
