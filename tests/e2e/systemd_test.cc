// End-to-end: the systemd units as installed (examples/systemd/; the
// service's @FCGI_RUN_BINDIR@ is the install's bin directory), with the
// README's instance config, without a running systemd:
// - systemd-socket-activate (Debian's systemd package), started as the unit's
//   User= and Group= (www-data), stands in for the socket unit: it listens on
//   the unit's ListenStream (/run/fcgi-run replaced by a temp dir) and, on the
//   first connection, execs the service's ExecStart (the binary under test,
//   /etc/fcgi-run replaced by the temp dir) with LISTEN_FDS and LISTEN_PID set,
//   as systemd does; that first request (to cgit, the README's program) is
//   served, ExecReload's SIGHUP is handled, and SIGTERM (what KillMode=mixed
//   sends) stops fcgi-run with status 0;
// - the documented --check-config, run as www-data, accepts the config;
// - a `listen` line in the config makes the activated fcgi-run exit with an
//   error instead of leaving systemd's socket unserved;
// - systemd-analyze verify parses both units (skipped, with a message, where it
//   cannot run).
#include <pwd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/doc_snippet.h"
#include "tests/support/fcgi_run_server.h"
#include "tests/support/http_client.h"
#include "tests/support/net_util.h"
#include "tests/support/process.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_paths.h"

namespace fcgi::test {
namespace {

// The units as installed (the service's ExecStart is written at install time:
// @FCGI_RUN_BINDIR@ is the install's bin directory).
std::string UnitFile(const std::string& name) {
  return ReadFile(SourceDir() + "/examples/systemd/" + name +
                  (name.find(".service") != std::string::npos ? ".in" : ""));
}

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

// The units with the system paths moved into `dir`: the binary under test for
// @FCGI_RUN_BINDIR@/fcgi-run, dir/etc/ for /etc/fcgi-run/, dir/run/ for /run/fcgi-run/.
std::string Localize(const std::string& text, const TempDir& dir) {
  std::string out = ReplaceAll(text, "@FCGI_RUN_BINDIR@/fcgi-run", FcgiRunBinary());
  out = ReplaceAll(out, "/etc/fcgi-run/", dir.File("etc/"));
  return ReplaceAll(out, "/run/fcgi-run/", dir.File("run/"));
}

// An instance as the README's Quick start makes it: /etc/fcgi-run/cgit.conf
// holds the README's config (plus `extra`), served by the units' socket path.
struct Instance {
  TempDir dir{"fcgi-run-systemd"};
  std::string name = "cgit";
  std::string conf;
  std::vector<std::string> command;  // the service's ExecStart
  std::string socket_path;           // the socket's ListenStream
  std::string service = UnitFile("fcgi-run@.service");

  explicit Instance(const std::string& extra = "") {
    dir.MakeDir("etc");
    const std::string run = dir.MakeDir("run");
    const passwd* www = getpwnam("www-data");
    if (www == nullptr || chown(run.c_str(), www->pw_uid, www->pw_gid) != 0) {
      throw std::runtime_error("chown www-data " + run);
    }
    conf = dir.WriteFile("etc/" + name + ".conf", DocSnippet("README.md", "systemd-instance-conf") + extra);
    command = CommandWords(ReplaceAll(Localize(UnitValue(service, "ExecStart"), dir), "%i", name));
    socket_path =
        ReplaceAll(Localize(UnitValue(UnitFile("fcgi-run@.socket"), "ListenStream"), dir), "%i", name);
  }

  // systemd-socket-activate as the unit's User= and Group= (systemd creates the
  // socket as root; its directory here is www-data's), running ExecStart.
  std::unique_ptr<Process> Activate() const {
    std::vector<std::string> argv = {"setpriv",
                                     "--reuid=" + UnitValue(service, "User"),
                                     "--regid=" + UnitValue(service, "Group"),
                                     "--init-groups",
                                     "systemd-socket-activate",
                                     "-l",
                                     socket_path};
    argv.insert(argv.end(), command.begin(), command.end());
    ProcessOptions po;
    po.argv = argv;
    po.env = MinimalEnv();
    po.stderr_path = dir.File("fcgi-run.log");
    return std::make_unique<Process>(po);
  }
  std::string Log() const { return ReadFile(dir.File("fcgi-run.log")); }
};

std::vector<std::string> CgitRequest() {
  return {"REQUEST_METHOD=GET",
          "SCRIPT_FILENAME=/usr/lib/cgit/cgit.cgi",
          "SCRIPT_NAME=/cgit",
          "PATH_INFO=/",
          "REQUEST_URI=/cgit/",
          "SERVER_PROTOCOL=HTTP/1.1",
          "GATEWAY_INTERFACE=CGI/1.1",
          "SERVER_NAME=localhost",
          "SERVER_PORT=80"};
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
TEST_CASE("systemd: fcgi-run@.socket + fcgi-run@.service under systemd-socket-activate, as www-data",
          "[e2e][systemd][fork]") {
  if (geteuid() != 0) {
    WARN("not run: runs the unit's User=www-data");
    return;
  }
  REQUIRE(UnitValue(UnitFile("fcgi-run@.service"), "ExecStart") ==
          "@FCGI_RUN_BINDIR@/fcgi-run --config /etc/fcgi-run/%i.conf");
  REQUIRE(UnitValue(UnitFile("fcgi-run@.socket"), "ListenStream") == "/run/fcgi-run/%i.sock");
  Instance instance;

  // The documented validation, as the service runs: it passes (as root it
  // would not: programs would run as root).
  std::vector<std::string> check = CommandWords(
      Substitute(DocSnippet("docs/guide/web-servers.md", "systemd-check-config"),
                 {{"/etc/fcgi-run/cgit.conf", instance.conf}, {" fcgi-run ", " " + FcgiRunBinary() + " "}}));
  CommandResult checked = RunCommand(check);
  INFO("--check-config: " << checked.out << checked.err);
  REQUIRE(checked.Succeeded());
  CHECK(checked.out.find("configuration OK") != std::string::npos);
  CommandResult as_root = RunCommand({FcgiRunBinary(), "--config", instance.conf, "--check-config"});
  CHECK(as_root.err.find("runuser -u www-data -- fcgi-run --config FILE --check-config") !=
        std::string::npos);

  std::unique_ptr<Process> activated = instance.Activate();
  // Like systemd, systemd-socket-activate listens first and starts the service
  // on the first connection: this request is what starts fcgi-run.
  const std::string log_path = instance.dir.File("fcgi-run.log");
  REQUIRE(WaitForFileText(log_path, "Listening on " + instance.socket_path));
  CommandResult r = CgiFcgi("unix:" + instance.socket_path, CgitRequest());
  INFO("cgi-fcgi: " << r.out << r.err << "\nlog: " << instance.Log());
  REQUIRE(r.Succeeded());
  CgiOutput out = ParseCgiOutput(r.out);
  CHECK(out.ok);
  CHECK(out.Header("Content-Type").find("text/html") == 0);
  CHECK(out.body.find("cgit") != std::string::npos);
  // fcgi-run found the socket through LISTEN_FDS (fd 3), in the process
  // systemd-socket-activate exec'd (same pid, so LISTEN_PID matched).
  CHECK(WaitForFileText(log_path, "listening on systemd:fd:3 (unix:" + instance.socket_path));

  // systemctl reload: ExecReload with $MAINPID = the activated process.
  std::vector<std::string> reload = CommandWords(
      ReplaceAll(UnitValue(instance.service, "ExecReload"), "$MAINPID", std::to_string(activated->pid())));
  REQUIRE(!reload.empty());
  REQUIRE(RunCommand(reload).Succeeded());
  CHECK(WaitForFileText(log_path, "SIGHUP"));

  // systemctl stop (KillMode=mixed): SIGTERM to fcgi-run, which stops gracefully.
  int status = activated->Stop(Seconds(10));
  INFO("log: " << instance.Log());
  CHECK(DescribeWaitStatus(status) == "exit 0");
  CHECK(WaitForFileText(log_path, "stopped"));
}

// A `listen` line in the instance's config: fcgi-run would serve it and leave
// systemd's socket unanswered (requests hang). It refuses to start instead.
TEST_CASE("systemd: a listen line in the config with socket activation is an error", "[e2e][systemd][once]") {
  if (geteuid() != 0) {
    WARN("not run: runs the unit's User=www-data");
    return;
  }
  Instance instance("listen = unix:/tmp/elsewhere.sock\n");
  std::unique_ptr<Process> activated = instance.Activate();
  const std::string log_path = instance.dir.File("fcgi-run.log");
  REQUIRE(WaitForFileText(log_path, "Listening on " + instance.socket_path));
  CommandResult r = CgiFcgi("unix:" + instance.socket_path, CgitRequest(), "", Seconds(10));
  INFO(r.out << r.err << "\nlog: " << instance.Log());
  CHECK(!r.timed_out);  // answered (the connection closed), not hanging
  CHECK(WaitForFileText(log_path,
                        "--listen unix:/tmp/elsewhere.sock given while systemd passes 1 listening socket"));
  std::optional<int> status = activated->Wait(Seconds(10));
  REQUIRE(status.has_value());
  CHECK(DescribeWaitStatus(*status) == "exit 1");
  CHECK(access("/tmp/elsewhere.sock", F_OK) != 0);
}

// An `http` line in the config (the built-in HTTP front) and no `listen`:
// systemd's socket is served as well (not only HTTP, as without systemd).
TEST_CASE("systemd: with http in the config, systemd's socket is served too", "[e2e][systemd][once]") {
  if (geteuid() != 0) {
    WARN("not run: runs the unit's User=www-data");
    return;
  }
  const int port = FreeTcpPort();
  Instance instance("mode = exec\nhttp = 127.0.0.1:" + std::to_string(port) + "\n");
  std::unique_ptr<Process> activated = instance.Activate();
  const std::string log_path = instance.dir.File("fcgi-run.log");
  REQUIRE(WaitForFileText(log_path, "Listening on " + instance.socket_path));
  CommandResult r = CgiFcgi("unix:" + instance.socket_path, CgitRequest(), "", Seconds(20));
  INFO(r.out << r.err << "\nlog: " << instance.Log());
  REQUIRE(r.Succeeded());
  CHECK(ParseCgiOutput(r.out).body.find("cgit") != std::string::npos);
  HttpResponse h = CurlGet("http://127.0.0.1:" + std::to_string(port) + "/", 20);
  CHECK(h.body.find("<meta name='generator' content='cgit") !=
        std::string::npos);  // cgit's page (a 404 at /)
  CHECK(DescribeWaitStatus(activated->Stop(Seconds(10))) == "exit 0");
}

TEST_CASE("systemd: systemd-analyze verify accepts fcgi-run@.service and fcgi-run@.socket",
          "[e2e][systemd][once]") {
  TempDir dir("fcgi-run-systemd-verify");
  for (const char* name : {"fcgi-run@.service", "fcgi-run@.socket"}) {
    std::string unit = UnitFile(name);
    REQUIRE(!unit.empty());
    // verify checks that ExecStart's binary exists: point it at the one under test.
    dir.WriteFile(name, ReplaceAll(unit, "@FCGI_RUN_BINDIR@/fcgi-run", FcgiRunBinary()));
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
