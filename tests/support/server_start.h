// Starting a real web server for a test on a free port of 127.0.0.1: nginx and
// Apache (web_servers.h), lighttpd and h2o (spawning_servers.h) all go
// through StartOnFreePort, which retries on another port when the server does
// not come up (a test running in parallel may take the port first).
#ifndef FCGI_RUN_TESTS_SUPPORT_SERVER_START_H_
#define FCGI_RUN_TESTS_SUPPORT_SERVER_START_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "tests/support/process.h"
#include "tests/support/temp_dir.h"

namespace fcgi::test {

// How to start one server. The config is written to dir/config_name and its
// stderr to dir/stderr.log.
struct ServerLaunch {
  std::string name;         // for the error: "nginx did not start: ..."
  std::string config_name;  // file name of the config in the server's dir
  std::function<std::string(int port)> make_config;
  std::function<std::vector<std::string>(const std::string& config_path)> argv;
  Seconds timeout = Seconds(15);     // until the port accepts
  std::function<std::string()> log;  // what to show when it fails (stderr.log is added)
};

struct StartedServer {
  int port = 0;
  std::string config;
  std::unique_ptr<Process> process;
  // "http://127.0.0.1:<port><path>"
  std::string Url(const std::string& path) const { return "http://127.0.0.1:" + std::to_string(port) + path; }
};

// Up to three attempts, each on a fresh free port: write the config, start
// the process (MinimalEnv), wait until 127.0.0.1:port accepts while it runs.
// Throws std::runtime_error with the logs and the config when none comes up.
StartedServer StartOnFreePort(const TempDir& dir, const ServerLaunch& launch);

}  // namespace fcgi::test

#endif  // FCGI_RUN_TESTS_SUPPORT_SERVER_START_H_
