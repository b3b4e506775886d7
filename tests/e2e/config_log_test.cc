// End-to-end: the config file (--config, FCGI_RUN_CONFIG, --check-config) and
// the error log (fixed line format, --log-level, --syslog to a test-owned
// datagram socket). Mode-independent: tagged [once] (exec variant only).
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <chrono>
#include <cstring>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/doc_snippet.h"
#include "tests/support/fcgi_run_server.h"
#include "tests/support/net_util.h"
#include "tests/support/process.h"
#include "tests/support/test_paths.h"

namespace fcgi::test {
namespace {

std::vector<std::string> HelloParams() {
  return {"SCRIPT_FILENAME=" + Example("hello.cgi"),
          "SCRIPT_NAME=/hello.cgi",
          "REQUEST_METHOD=GET",
          "SERVER_PROTOCOL=HTTP/1.1",
          "SERVER_NAME=localhost",
          "SERVER_PORT=80",
          "REMOTE_ADDR=127.0.0.1"};
}

// A config file serving hello.cgi on a unix socket in `dir`.
std::string HelloConfig(const TempDir& dir, const std::string& extra = "") {
  std::string text =
      "# written by config_log_test\n"
      "listen = unix:" +
      dir.File("app.sock") +
      "\n"
      "mode = exec\n"
      "workers = 2\n"
      "command = " +
      Example("hello.cgi") + "\n";
  if (geteuid() == 0) text += "# the suite runs as root\nallow-root = true\n";
  return dir.WriteFile("fcgi-run.conf", text + extra);
}

// Starts fcgi-run with exactly `args` (and `env` beyond MinimalEnv()), waits for `address`.
std::unique_ptr<Process> StartLauncher(const TempDir& dir, const std::vector<std::string>& args,
                                       const std::vector<std::string>& env, const std::string& address) {
  ProcessOptions p;
  p.argv = {FcgiRunBinary()};
  p.argv.insert(p.argv.end(), args.begin(), args.end());
  p.env = MinimalEnv();
  p.env.insert(p.env.end(), env.begin(), env.end());
  p.stderr_path = dir.File("launcher.log");
  auto process = std::make_unique<Process>(p);
  if (!WaitForConnect(address, std::chrono::milliseconds(10000))) {
    process->Stop(Seconds(2));
    throw std::runtime_error("launcher not ready on " + address + ":\n" + ReadFile(dir.File("launcher.log")));
  }
  return process;
}

void CheckHello(const std::string& address, const std::string& log) {
  CommandResult r = CgiFcgi(address, HelloParams(), "", Seconds(20));
  INFO(DescribeWaitStatus(r.status) << "\nout:\n" << r.out << "\nerr:\n" << r.err << "\nlauncher:\n" << log);
  REQUIRE(r.Succeeded());
  CHECK(ParseCgiOutput(r.out).body == "Hello, world!\n");
}

// Every line: "YYYY-MM-DD HH:MM:SS.mmm fcgi-run[PID]: LEVEL: message".
void CheckLogFormat(const std::string& log) {
  static const std::regex kLine(
      R"(^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} fcgi-run\[\d+\]: (error|warning|notice|info|debug): .*$)");
  std::istringstream in(log);
  std::string line;
  int lines = 0;
  while (std::getline(in, line)) {
    INFO(line);
    CHECK(std::regex_match(line, kLine));
    ++lines;
  }
  CHECK(lines > 0);
}

TEST_CASE("config file: a launcher started with only --config serves requests", "[e2e][config][once]") {
  TempDir dir("fcgi-run-conf");
  std::string conf = HelloConfig(dir);
  auto launcher = StartLauncher(dir, {"--config", conf}, {}, "unix:" + dir.File("app.sock"));
  CheckHello("unix:" + dir.File("app.sock"), ReadFile(dir.File("launcher.log")));
  launcher->Stop();
  std::string log = ReadFile(dir.File("launcher.log"));
  INFO(log);
  CHECK(log.find("mode exec, 2 workers") != std::string::npos);  // the file's values were used
  CheckLogFormat(log);
}

TEST_CASE("config file: FCGI_RUN_CONFIG names the file when --config is absent", "[e2e][config][once]") {
  TempDir dir("fcgi-run-conf");
  std::string conf = HelloConfig(dir);
  // mod_fcgid passes only PATH and FcgidInitialEnv: no arguments at all here.
  auto launcher = StartLauncher(dir, {}, {"FCGI_RUN_CONFIG=" + conf}, "unix:" + dir.File("app.sock"));
  CheckHello("unix:" + dir.File("app.sock"), ReadFile(dir.File("launcher.log")));
}

TEST_CASE("config file: --check-config validates without binding or running", "[e2e][config][once]") {
  TempDir dir("fcgi-run-conf");
  SECTION("a good configuration") {
    std::string conf = HelloConfig(dir);
    CommandResult r = RunCommand({FcgiRunBinary(), "--check-config", "--config", conf}, "", Seconds(20));
    INFO(r.out << r.err);
    CHECK(r.ExitCode() == 0);
    CHECK(r.out.find("configuration OK") != std::string::npos);
    struct stat st;
    CHECK(stat(dir.File("app.sock").c_str(), &st) != 0);  // nothing was bound
  }
  SECTION("start-up errors are all reported, exit 2") {
    std::string conf = dir.WriteFile("bad.conf",
                                     "listen = tcp:127.0.0.1\n"
                                     "listen = unix:" +
                                         dir.File("no-such-dir/app.sock") +
                                         "\n"
                                         "user = no-such-user-fcgi-run\n"
                                         "command = " +
                                         dir.File("missing.cgi") + "\n");
    CommandResult r = RunCommand({FcgiRunBinary(), "--check-config", "--config", conf}, "", Seconds(20));
    INFO(r.out << r.err);
    CHECK(r.ExitCode() == 2);
    CHECK(r.out.find("configuration OK") == std::string::npos);
    CHECK(r.err.find("missing.cgi") != std::string::npos);
    CHECK(r.err.find("tcp:127.0.0.1") != std::string::npos);
    CHECK(r.err.find("no-such-dir") != std::string::npos);
    CHECK(r.err.find("no-such-user-fcgi-run") != std::string::npos);
  }
  SECTION("an unknown key names the file and line, exit 2") {
    std::string conf = HelloConfig(dir, "\nworkerz = 3\n");
    CommandResult r = RunCommand({FcgiRunBinary(), "--check-config", "--config", conf}, "", Seconds(20));
    INFO(r.out << r.err);
    CHECK(r.ExitCode() == 2);
    CHECK(r.err.find(conf + ":" + std::to_string(geteuid() == 0 ? 9 : 7) + ": unknown option 'workerz'") !=
          std::string::npos);
  }
}

TEST_CASE("config file: --check-config finds what start-up would refuse, with the same words",
          "[e2e][config][once]") {
  TempDir dir("fcgi-run-conf");
  const std::string taken = dir.WriteFile("not-a-socket", "a plain file where the socket should go\n");
  struct Case {
    std::vector<std::string> args;
    std::vector<std::string> env;
    std::string error;
  };
  const Case cases[] = {
      {{"--listen", "unix:" + taken, Example("hello.cgi")}, {}, "path exists and is not a socket"},
      {{"--listen", "tcp:no-such-host.invalid:9000", Example("hello.cgi")}, {}, "getaddrinfo(3)"},
      {{"--listen", "fd:0", Example("hello.cgi")}, {}, "file descriptor 0 is not a listening socket"},
      {{"--listen", "tcp:127.0.0.1:0", Example("hello.cgi")},
       {"FCGI_WEB_SERVER_ADDRS=10.0.0.0/33"},
       "FCGI_WEB_SERVER_ADDRS (from the environment) 10.0.0.0/33"},
  };
  for (const Case& c : cases) {
    std::vector<std::string> args = c.args;
    if (geteuid() == 0) args.insert(args.begin(), "--allow-root");
    std::vector<std::string> check = {FcgiRunBinary(), "--check-config"};
    check.insert(check.end(), args.begin(), args.end());
    std::vector<std::string> start = {FcgiRunBinary()};
    start.insert(start.end(), args.begin(), args.end());
    std::vector<std::string> env = MinimalEnv();
    env.insert(env.end(), c.env.begin(), c.env.end());
    CommandResult checked = RunCommand(check, "", Seconds(20), env);
    CommandResult started = RunCommand(start, "", Seconds(20), env);
    INFO(c.error << "\n--check-config: " << checked.out << checked.err << "\nstart: " << started.err);
    CHECK(checked.ExitCode() == 2);
    CHECK(checked.err.find(c.error) != std::string::npos);
    CHECK(started.ExitCode() != 0);
    CHECK(started.err.find(c.error) != std::string::npos);
  }
}

TEST_CASE("config file: fcgi-run's options after PROGRAM are logged as a warning at start-up",
          "[e2e][config][once]") {
  FcgiRunOptions o;
  o.program = Example("hello.cgi");
  o.program_args = {"--timeout", "5"};
  FcgiRun app(o);
  CHECK(
      app.LogContains("warning: '--timeout' after PROGRAM is passed to PROGRAM as an argument, not read by "
                      "fcgi-run"));
}

// Unix datagram socket standing in for /dev/log.
class SyslogReceiver {
 public:
  explicit SyslogReceiver(const std::string& path) : fd_(socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
    if (bind(fd_.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      throw std::runtime_error("bind " + path + ": " + std::strerror(errno));
    }
  }
  // Receives datagrams (kept in received()) until one contains `needle`, for up to 5 s.
  bool WaitFor(const std::string& needle) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (true) {
      for (const std::string& d : received_) {
        if (d.find(needle) != std::string::npos) return true;
      }
      char buf[8192];
      ssize_t n = recv(fd_.get(), buf, sizeof buf, MSG_DONTWAIT);
      if (n > 0) {
        received_.emplace_back(buf, static_cast<size_t>(n));
        continue;
      }
      if (std::chrono::steady_clock::now() >= deadline) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  // Takes whatever is queued now.
  void Drain() {
    char buf[8192];
    ssize_t n;
    while ((n = recv(fd_.get(), buf, sizeof buf, MSG_DONTWAIT)) > 0)
      received_.emplace_back(buf, static_cast<size_t>(n));
  }
  std::string Find(const std::string& needle) const {
    for (const std::string& d : received_) {
      if (d.find(needle) != std::string::npos) return d;
    }
    return "";
  }
  std::string All() const {
    std::string all;
    for (const std::string& d : received_) all += d + "\n";
    return all;
  }

 private:
  UniqueFd fd_;
  std::vector<std::string> received_;
};

TEST_CASE("error log: --syslog sends well-formed datagrams with the right priority", "[e2e][syslog][once]") {
  TempDir sock_dir("fcgi-run-syslog");
  const std::string path = sock_dir.File("log.sock");
  SyslogReceiver rx(path);
  FcgiRunOptions options;  // dispatcher mode with --allow-any-path: logs a warning at start-up
  options.flags = {"--allow-any-path", "--syslog", "--syslog-socket", path, "--syslog-facility", "local1"};
  FcgiRun app(options);
  const std::string pid = "fcgi-run[" + std::to_string(app.process().pid()) + "]: ";
  REQUIRE(rx.WaitFor("listening on"));
  REQUIRE(rx.WaitFor("--allow-any-path"));
  INFO(rx.All());
  static const std::regex kDatagram(
      R"(^<\d+>(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [ 123]\d \d\d:\d\d:\d\d fcgi-run\[\d+\]: [a-z]+: [^\n]*$)");
  std::string notice = rx.Find("listening on"), warning = rx.Find("--allow-any-path");
  CHECK(std::regex_match(notice, kDatagram));
  CHECK(std::regex_match(warning, kDatagram));
  CHECK(notice.rfind("<141>", 0) == 0);   // local1 (17) * 8 + notice (5)
  CHECK(warning.rfind("<140>", 0) == 0);  // local1 * 8 + warning (4)
  CHECK(notice.find(pid + "notice: listening on") != std::string::npos);
  CHECK(notice.find("for the programs that requests name (dispatcher mode)") != std::string::npos);
  CHECK(warning.find(pid + "warning: dispatcher mode") != std::string::npos);
  CHECK(app.Log().find("listening on") == std::string::npos);  // syslog instead of stderr
}

TEST_CASE("error log: --log-level warning drops info lines, for syslog and --log alike",
          "[e2e][syslog][once]") {
  TempDir sock_dir("fcgi-run-syslog");
  const std::string path = sock_dir.File("log.sock");
  SyslogReceiver rx(path);
  FcgiRunOptions options;
  options.flags = {"--allow-any-path", "--syslog", "--syslog-socket", path,
                   "--log-level",      "warning",  "--log",           sock_dir.File("file.log")};
  FcgiRun app(options);
  REQUIRE(rx.WaitFor("--allow-any-path"));
  CHECK(WIFEXITED(app.Stop()));  // after exit, every datagram it sent is queued
  rx.Drain();
  INFO(rx.All());
  CHECK(rx.Find(": notice: ").empty());  // "listening on", "received SIGTERM", "stopped"
  CHECK(rx.Find(": info: ").empty());
  CHECK(rx.Find(": warning: dispatcher mode with --allow-any-path").rfind("<28>", 0) == 0);  // daemon.warning
  std::string file = ReadFile(sock_dir.File("file.log"));
  INFO(file);
  CHECK(file.find("warning: dispatcher mode with --allow-any-path") != std::string::npos);  // --log as well
  CHECK(file.find("info:") == std::string::npos);
}

// docs/guide/operations.md's example config file, with its socket directory
// and program replaced: --check-config accepts it, and fcgi-run serves with
// it (socket www-data's, the program as www-data, the file's env and arg).
TEST_CASE("config file: the documented example works as written", "[e2e][config][docs][once]") {
  if (geteuid() != 0) {
    WARN("not run: the example changes user");
    return;
  }
  TempDir dir("fcgi-run-config-doc");
  const std::string conf = dir.WriteFile(
      "app.conf", Substitute(DocSnippet("docs/guide/operations.md", "config-file-example"),
                             {{"/run/fcgi-run", dir.path()}, {"/srv/app/app.cgi", Example("env.cgi")}}));
  CommandResult check = RunCommand({FcgiRunBinary(), "--config", conf, "--check-config"});
  INFO(check.out << check.err);
  CHECK(check.Succeeded());
  FcgiRunOptions o;
  o.listen = "unix:" + dir.File("app.sock");
  o.command = {"--config", conf, "--syslog=false"};  // its log on stderr, for the test to read
  FcgiRun app(o);
  std::vector<std::string> params = HelloParams();
  params[0] = "SCRIPT_FILENAME=" + Example("env.cgi");
  CommandResult r = CgiFcgi(app.address(), params);
  INFO(r.out << r.err << app.Log());
  REQUIRE(r.Succeeded());
  CHECK(r.out.find("APP_CONFIG=/etc/app.yml\n") != std::string::npos);
  CHECK(r.out.find("LANG=C.UTF-8\n") != std::string::npos);
  CHECK(app.LogContains("(www-data:www-data 0660) for " + Example("env.cgi") + " (mode fork, 8 workers)"));
}

}  // namespace
}  // namespace fcgi::test
