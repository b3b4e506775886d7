#include "tests/support/server_start.h"

#include <chrono>
#include <stdexcept>
#include <thread>
#include <utility>

#include "tests/support/net_util.h"

namespace fcgi::test {
namespace {

constexpr int kStartAttempts = 3;  // a free port may be taken by a parallel test

// Waits until 127.0.0.1:port accepts while `process` stays alive.
bool WaitForServer(Process* process, int port, Seconds timeout) {
  std::string address = "tcp:127.0.0.1:" + std::to_string(port);
  auto deadline = std::chrono::steady_clock::now() +
                  std::chrono::duration_cast<std::chrono::steady_clock::duration>(timeout);
  while (std::chrono::steady_clock::now() < deadline) {
    if (!process->IsRunning()) return false;
    if (ConnectTo(address).valid()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

}  // namespace

StartedServer StartOnFreePort(const TempDir& dir, const ServerLaunch& launch) {
  StartedServer s;
  std::string last_log;
  for (int attempt = 0; attempt < kStartAttempts; ++attempt) {
    s.port = FreeTcpPort();
    s.config = launch.make_config(s.port);
    ProcessOptions p;
    p.argv = launch.argv(dir.WriteFile(launch.config_name, s.config));
    p.env = MinimalEnv();
    p.stderr_path = dir.File("stderr.log");
    s.process = std::make_unique<Process>(p);
    if (WaitForServer(s.process.get(), s.port, launch.timeout)) return s;
    s.process->Stop(Seconds(2));
    last_log = launch.log() + ReadFile(dir.File("stderr.log"));
  }
  throw std::runtime_error(launch.name + " did not start:\n" + last_log + "\nconfig:\n" + s.config);
}

}  // namespace fcgi::test
