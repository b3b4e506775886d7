// End-to-end: examples/systemd/fcgi-run@.socket and fcgi-run@.service as
// shipped, without a running systemd:
// - systemd-socket-activate (Debian's systemd package) stands in for the socket
//   unit: it listens on the unit's ListenStream (/run/fcgi-run replaced by a
//   temp dir) and, on the first connection, execs the service's ExecStart
//   (/usr/bin/fcgi-run replaced by the binary under test, /etc/fcgi-run by the
//   temp dir) with LISTEN_FDS and LISTEN_PID set, as systemd does; that first
//   request is served, ExecReload's SIGHUP is handled, and SIGTERM (what
//   KillMode=mixed sends) stops fcgi-run with status 0;
// - systemd-analyze verify parses both units (skipped, with a message, where it
//   cannot run).
// Mode-independent ([once]): the units choose the mode (fcgi-run's default).
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <chrono>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/fcgi_run_server.h"
#include "tests/support/process.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_paths.h"

namespace fcgi::test {
namespace {

std::string UnitFile(const std::string& name) { return ReadFile(SourceDir() + "/examples/systemd/" + name); }

// The value of the first `key=value` line of a unit file ("" if none).
std::string UnitValue(const std::string& unit, const std::string& key) {
  std::istringstream in(unit);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(key + "=", 0) == 0) return line.substr(key.size() + 1);
  }
  return "";
}

std::string ReplaceAll(std::string text, const std::string& from, const std::string& to) {
  for (size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
    text.replace(at, from.size(), to);
  }
  return text;
}

std::vector<std::string> Words(const std::string& command) {
  std::istringstream in(command);
  std::vector<std::string> words;
  for (std::string w; in >> w;) words.push_back(w);
  return words;
}

// The units with the system paths moved into `dir`: the binary under test for
// /usr/bin/fcgi-run, dir/etc/ for /etc/fcgi-run/, dir/run/ for /run/fcgi-run/.
std::string Localize(const std::string& text, const TempDir& dir) {
  std::string out = ReplaceAll(text, "/usr/bin/fcgi-run", FcgiRunBinary());
  out = ReplaceAll(out, "/etc/fcgi-run/", dir.File("etc/"));
  return ReplaceAll(out, "/run/fcgi-run/", dir.File("run/"));
}

bool WaitForFileText(const std::string& path, const std::string& needle, Seconds timeout = Seconds(10)) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (ReadFile(path).find(needle) == std::string::npos) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return true;
}

// [fork], not [once]: it needs libcompat (a parked process), which the ASan
// run of the exec variant (make sanitize-test) does not build.
TEST_CASE("systemd: fcgi-run@.socket + fcgi-run@.service under systemd-socket-activate",
          "[e2e][systemd][fork]") {
  const std::string service = UnitFile("fcgi-run@.service");
  const std::string socket = UnitFile("fcgi-run@.socket");
  REQUIRE(!service.empty());
  REQUIRE(!socket.empty());
  const std::string exec_start = UnitValue(service, "ExecStart");
  const std::string listen_stream = UnitValue(socket, "ListenStream");
  REQUIRE(exec_start.find("/usr/bin/fcgi-run --config /etc/fcgi-run/%i.conf") == 0);
  REQUIRE(listen_stream == "/run/fcgi-run/%i.sock");

  TempDir dir("fcgi-run-systemd");
  dir.MakeDir("etc");
  dir.MakeDir("run");
  const std::string instance = "demo";
  // /etc/fcgi-run/demo.conf as the service's comment suggests.
  std::string conf = "# demo instance\ncommand = " + Example("hello.cgi") + "\nworkers = 2\n";
  if (geteuid() == 0) conf += "# the test runs as root; the unit runs as www-data\nallow-root = true\n";
  dir.WriteFile("etc/" + instance + ".conf", conf);

  std::vector<std::string> command = Words(ReplaceAll(Localize(exec_start, dir), "%i", instance));
  const std::string socket_path = ReplaceAll(Localize(listen_stream, dir), "%i", instance);

  // The configuration the unit starts with is valid (fcgi-run --check-config).
  std::vector<std::string> check = command;
  check.push_back("--check-config");
  CommandResult checked = RunCommand(check);
  INFO("--check-config: " << checked.out << checked.err);
  REQUIRE(checked.Succeeded());

  std::vector<std::string> argv = {"systemd-socket-activate", "-l", socket_path};
  argv.insert(argv.end(), command.begin(), command.end());
  ProcessOptions po;
  po.argv = argv;
  po.env = MinimalEnv();
  po.stderr_path = dir.File("fcgi-run.log");
  Process activated(po);
  const std::string log_path = dir.File("fcgi-run.log");
  // Like systemd, systemd-socket-activate listens first and starts the service
  // on the first connection: this request is what starts fcgi-run.
  REQUIRE(WaitForFileText(log_path, "Listening on " + socket_path));
  CommandResult r = CgiFcgi("unix:" + socket_path,
                            {"REQUEST_METHOD=GET", "SCRIPT_FILENAME=" + Example("hello.cgi"), "SCRIPT_NAME=/",
                             "REQUEST_URI=/", "SERVER_PROTOCOL=HTTP/1.1", "GATEWAY_INTERFACE=CGI/1.1"});
  INFO("cgi-fcgi: " << r.out << r.err << "\nlog: " << ReadFile(log_path));
  REQUIRE(r.Succeeded());
  CgiOutput out = ParseCgiOutput(r.out);
  CHECK(out.ok);
  CHECK(out.body == "Hello, world!\n");
  // fcgi-run found the socket through LISTEN_FDS (fd 3), in the process
  // systemd-socket-activate exec'd (same pid, so LISTEN_PID matched).
  CHECK(WaitForFileText(log_path, "listening on systemd:fd:3"));

  // systemctl reload: ExecReload with $MAINPID = the activated process.
  std::vector<std::string> reload =
      Words(ReplaceAll(UnitValue(service, "ExecReload"), "$MAINPID", std::to_string(activated.pid())));
  REQUIRE(!reload.empty());
  REQUIRE(RunCommand(reload).Succeeded());
  CHECK(WaitForFileText(log_path, "SIGHUP"));

  // systemctl stop (KillMode=mixed): SIGTERM to fcgi-run, which stops gracefully.
  int status = activated.Stop(Seconds(10));
  INFO("log: " << ReadFile(log_path));
  CHECK(DescribeWaitStatus(status) == "exit 0");
  CHECK(WaitForFileText(log_path, "stopped"));
}

TEST_CASE("systemd: systemd-analyze verify accepts fcgi-run@.service and fcgi-run@.socket",
          "[e2e][systemd][once]") {
  TempDir dir("fcgi-run-systemd-verify");
  for (const char* name : {"fcgi-run@.service", "fcgi-run@.socket"}) {
    std::string unit = UnitFile(name);
    REQUIRE(!unit.empty());
    // verify checks that ExecStart's binary exists: point it at the one under test.
    dir.WriteFile(name, ReplaceAll(unit, "/usr/bin/fcgi-run", FcgiRunBinary()));
  }
  CommandResult r = RunCommand({"systemd-analyze", "verify", "--man=no", dir.File("fcgi-run@demo.service"),
                                dir.File("fcgi-run@demo.socket")},
                               "", Seconds(60));
  const std::string output = r.out + r.err;
  if (r.status == -1 || r.ExitCode() == 127 ||
      output.find("not been booted with systemd") != std::string::npos ||
      output.find("Failed to connect to bus") != std::string::npos) {
    WARN("systemd-analyze verify cannot run here; unit files not verified: " << output);
    return;
  }
  INFO(output);
  CHECK(r.Succeeded());
  // It exits 0 on unknown keys and bad values too ("..., ignoring."): any output is a finding.
  CHECK(output.empty());
}

}  // namespace
}  // namespace fcgi::test
