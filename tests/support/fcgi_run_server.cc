#include "tests/support/fcgi_run_server.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

#include <chrono>
#include <cstdlib>
#include <stdexcept>
#include <thread>
#include <utility>

#include "tests/support/http_client.h"
#include "tests/support/net_util.h"
#include "tests/support/test_paths.h"

namespace fcgi::test {
namespace {

std::string EnvOr(const char* name, const char* fallback) {
  const char* v = std::getenv(name);
  return (v != nullptr && *v != '\0') ? v : fallback;
}

std::string ResolveListen(const std::string& listen, const TempDir& dir) {
  if (listen == "unix" || listen == "fd0") return "unix:" + dir.File("fcgi.sock");
  if (listen == "tcp") return FreeTcpAddress();
  if (listen == "tcp6") return "tcp:[::1]:" + std::to_string(FreeTcpPort());
  return listen;
}

// fcgiwrap spells IPv6 "tcp6:[::1]:N".
std::string FcgiwrapSocket(const std::string& address) {
  if (address.rfind("tcp:[", 0) == 0) return "tcp6:" + address.substr(4);
  return address;
}

}  // namespace

std::string TestMode() { return EnvOr("FCGI_RUN_TEST_MODE", "exec"); }
std::string StandIn() { return EnvOr("FCGI_RUN_TEST_STANDIN", ""); }

FcgiRun::FcgiRun(FcgiRunOptions options) : options_(std::move(options)), dir_("fcgi-run-app") {
  address_ = ResolveListen(options_.listen, dir_);
  const bool inherit = options_.listen == "fd0";
  UniqueFd inherited;
  if (inherit) inherited = ListenUnix(UnixPath(address_));
  if (StandIn() == "fcgiwrap") {
    int workers = options_.workers > 0 ? options_.workers : 2;
    argv_ = {"/usr/sbin/fcgiwrap", "-f", "-c", std::to_string(workers)};
    if (!inherit) argv_.insert(argv_.end(), {"-s", FcgiwrapSocket(address_)});
  } else if (!options_.command.empty()) {
    argv_ = {FcgiRunBinary()};
    argv_.insert(argv_.end(), options_.command.begin(), options_.command.end());
  } else {
    argv_ = {FcgiRunBinary()};
    if (!inherit) argv_.insert(argv_.end(), {"--listen", address_});
    if (options_.pass_mode) argv_.insert(argv_.end(), {"--mode", TestMode()});
    if (!options_.socket_mode.empty()) {
      argv_.insert(argv_.end(), {"--socket-mode", options_.socket_mode});
    }
    if (options_.workers > 0) argv_.insert(argv_.end(), {"--workers", std::to_string(options_.workers)});
    if (options_.queue >= 0) argv_.insert(argv_.end(), {"--queue", std::to_string(options_.queue)});
    argv_.insert(argv_.end(), options_.flags.begin(), options_.flags.end());
    // fcgi-run refuses to run programs as root without --allow-root (or
    // --user/--program-user); the suites run as root on the test machine.
    auto has_flag = [this](const char* f) {
      return std::find(options_.flags.begin(), options_.flags.end(), f) != options_.flags.end();
    };
    if (geteuid() == 0 && !has_flag("--allow-root") && !has_flag("--user") && !has_flag("--program-user")) {
      argv_.push_back("--allow-root");
    }
    if (!options_.program.empty()) argv_.push_back(options_.program);  // empty: dispatcher mode
    argv_.insert(argv_.end(), options_.program_args.begin(), options_.program_args.end());
  }
  ProcessOptions p;
  p.argv = argv_;
  p.env = MinimalEnv();
  p.env.insert(p.env.end(), options_.launcher_env.begin(), options_.launcher_env.end());
  p.stderr_path = dir_.File("fcgi-run.log");
  p.stdout_path = dir_.File("fcgi-run.out");
  p.stdin_fd = inherited.get();
  process_ = std::make_unique<Process>(p);
  inherited.Reset();  // the launcher has its own copy as fd 0

  auto deadline = std::chrono::steady_clock::now() +
                  std::chrono::duration_cast<std::chrono::steady_clock::duration>(options_.ready_timeout);
  bool ready = false;
  while (std::chrono::steady_clock::now() < deadline) {
    if (!process_->IsRunning()) break;
    if (ConnectTo(address_).valid()) {
      ready = true;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  if (!ready) {
    std::string status =
        process_->IsRunning() ? "still running" : DescribeWaitStatus(*process_->exit_status());
    process_->Stop(Seconds(2));
    std::string cmd;
    for (const auto& a : argv_) cmd += a + " ";
    throw std::runtime_error("launcher not ready on " + address_ + " (" + status + "): " + cmd +
                             "\nstderr:\n" + Log());
  }
  // fcgiwrap has no --socket-mode; emulate it so www-data can connect.
  if (StandIn() == "fcgiwrap" && !options_.socket_mode.empty() && IsUnixAddress(address_)) {
    chmod(UnixPath(address_).c_str(),
          static_cast<mode_t>(std::strtol(options_.socket_mode.c_str(), nullptr, 8)));
  }
}

bool FcgiRun::LogContains(const std::string& needle, Seconds timeout) const {
  auto deadline = std::chrono::steady_clock::now() +
                  std::chrono::duration_cast<std::chrono::steady_clock::duration>(timeout);
  while (true) {
    if (Log().find(needle) != std::string::npos) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

FcgiRun::~FcgiRun() {
  if (process_) process_->Stop(Seconds(5));
}

CommandResult CgiFcgi(const std::string& address, const std::vector<std::string>& env,
                      const std::string& input, Seconds timeout) {
  return RunCommand({"cgi-fcgi", "-bind", "-connect", CgiFcgiConnect(address)}, input, timeout, env);
}

std::string CgiOutput::Header(const std::string& name) const {
  HttpResponse as_http;
  as_http.headers = headers;
  return as_http.Header(name);
}

CgiOutput ParseCgiOutput(const std::string& raw) {
  HttpResponse parsed = ParseHttpResponse("HTTP/1.1 200 CGI\r\n" + raw);
  CgiOutput out;
  out.ok = parsed.ok;
  out.headers = std::move(parsed.headers);
  out.body = std::move(parsed.body);
  return out;
}

}  // namespace fcgi::test
