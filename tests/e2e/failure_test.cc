// End-to-end: failures around the program and the limits put on it. A
// missing / non-executable / directory PROGRAM refused at start; the program
// removed after start (a clear 502); --max-body refusing before the program
// runs; --rlimit-nofile seen by the program; a background child not holding
// the response open; default SIGPIPE disposition; no zombies after a batch.
// The program is control.cgi (tests/e2e/programs/), which records its pid.
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>
#include <catch2/catch.hpp>

#include <sstream>
#include <string>

#include "tests/e2e/process_control_util.h"
#include "tests/support/fcgi_test_client.h"
#include "tests/support/http_client.h"
#include "tests/support/net_util.h"
#include "tests/support/test_paths.h"
#include "tests/support/web_servers.h"

namespace fcgi::test {
namespace {

using namespace std::chrono_literals;
using pc::ControlApp;
using pc::ControlParams;
using pc::SecondsSince;
using pc::WaitFor;

// Runs the launcher with PROGRAM = `program`; it must refuse to start.
CommandResult StartLauncher(const TempDir& dir, const std::string& program) {
  return RunCommand({FcgiRunBinary(), "--listen", "unix:" + dir.File("fcgi.sock"), program}, "", Seconds(10));
}

TEST_CASE("failure: fcgi-run refuses to start when PROGRAM is missing, not executable or a directory",
          "[e2e][failure]") {
  TempDir dir("fcgi-run-failure");
  struct Case {
    std::string what, program, message;
  };
  const std::string missing = dir.File("no-such.cgi");
  const std::string not_exec = dir.WriteFile("plain.cgi", "#!/bin/sh\necho hi\n");  // mode 0644
  const std::string directory = dir.MakeDir("a-directory");
  const Case cases[] = {
      {"missing", missing, "realpath(3) PROGRAM " + missing + ": No such file or directory"},
      {"not executable", not_exec, "access(2) X_OK PROGRAM " + not_exec + ": Permission denied"},
      {"a directory", directory, "PROGRAM " + directory + ": not a regular file"},
  };
  for (const Case& c : cases) {
    CommandResult r = StartLauncher(dir, c.program);
    INFO(c.what << ": " << DescribeWaitStatus(r.status) << "\nstderr: " << r.err);
    CHECK_FALSE(r.timed_out);
    CHECK(r.ExitCode() == 1);
    CHECK(r.err.find(c.message) != std::string::npos);
    CHECK(access(dir.File("fcgi.sock").c_str(), F_OK) != 0);  // no socket left behind
  }
}

TEST_CASE("failure: a program removed or made non-executable after start gets a clear 502",
          "[e2e][failure]") {
  const std::string how = GENERATE(as<std::string>(), "removed", "chmod 0644");
  TempDir dir("fcgi-run-failure");
  const std::string program = dir.WriteFile("hello.cgi", ReadFile(Example("hello.cgi")));
  REQUIRE(chmod(program.c_str(), 0755) == 0);
  FcgiRunOptions options;
  options.program = program;
  FcgiRun app(options);
  NameValuePairs params = ControlParams("x");
  FcgiResponse before = RequestOnce(app.address(), params);
  REQUIRE(before.ok());
  if (how == "removed") {
    REQUIRE(unlink(program.c_str()) == 0);
  } else {
    REQUIRE(chmod(program.c_str(), 0644) == 0);
  }
  FcgiResponse r = RequestOnce(app.address(), params);
  INFO(how << "\n" << r.Describe() << "\nlauncher:\n" << app.Log());
  REQUIRE(r.ended);
  CgiResponse cgi = SplitCgiResponse(r.stdout_data);
  CHECK(cgi.status == 502);
  CHECK(cgi.body.find("could not start hello.cgi") != std::string::npos);
  const std::string cause = how == "removed" ? "No such file or directory" : "Permission denied";
  CHECK(app.LogContains("execve(2) " + program + ": " + cause));
}

TEST_CASE("failure: --max-body answers 413 before the program starts", "[e2e][failure][limits]") {
  pc::Record record;
  FcgiRun app(ControlApp(record, {"--max-body", "1000"}));
  FcgiTestClient client;
  REQUIRE(client.Connect(app.address()).ok());
  RequestSpec big = pc::Spec(ControlParams("read-stdin-big", 2000), std::string(2000, 'x'), true);
  FcgiResponse r = client.Request(big, 5000ms);
  INFO(r.Describe() << "\nlauncher:\n" << app.Log());
  REQUIRE(r.ended);
  CHECK(SplitCgiResponse(r.stdout_data).status == 413);
  CHECK(ReadFile(record.path()).empty());  // the program never ran
  // At the limit, the same request runs.
  RequestSpec fits = pc::Spec(ControlParams("read-stdin-fits", 1000), std::string(1000, 'x'), true);
  FcgiResponse ok = client.Request(fits, 5000ms);
  INFO(ok.Describe());
  REQUIRE(ok.ok());
  CHECK(SplitCgiResponse(ok.stdout_data).body == "read 1000\n");
  CHECK(pc::RecordedPid(record.path(), "read-stdin-big") == 0);
  CHECK(pc::RecordedPid(record.path(), "read-stdin-fits") > 0);
}

TEST_CASE("failure: a body without CONTENT_LENGTH is held to --max-body too", "[e2e][failure][limits]") {
  // As nginx sends a chunked upload with fastcgi_request_buffering off.
  pc::Record record;
  FcgiRun app(ControlApp(record, {"--max-body", "1000"}));
  FcgiTestClient client;
  REQUIRE(client.Connect(app.address()).ok());
  NameValuePairs params = ControlParams("read-stdin");
  params.emplace_back("CONTENT_LENGTH", "");
  FcgiResponse r = client.Request(pc::Spec(params, std::string(5000, 'x')), 5000ms);
  INFO(r.Describe() << "\nlauncher:\n" << app.Log());
  REQUIRE(r.ended);
  CgiResponse cgi = SplitCgiResponse(r.stdout_data);
  CHECK(cgi.status == 413);
  CHECK(cgi.body.find("read 5000") == std::string::npos);
}

TEST_CASE("failure: --rlimit-nofile is the program's ulimit -n", "[e2e][failure][limits]") {
  pc::Record record;
  FcgiRun app(ControlApp(record, {"--rlimit-nofile", "20"}));
  FcgiResponse r = RequestOnce(app.address(), ControlParams("ulimit"));
  INFO(r.Describe() << "\nlauncher:\n" << app.Log());
  REQUIRE(r.ok());
  CHECK(SplitCgiResponse(r.stdout_data).body == "nofile 20\n");
}

TEST_CASE("failure: a background child holding stdout does not hold the response open",
          "[e2e][failure][nginx]") {
  pc::Record record;
  FcgiRun app(ControlApp(record));
  NginxOptions n;
  n.fcgi_address = app.address();
  n.script_filename = app.program();
  Nginx nginx(n);
  auto start = pc::Clock::now();
  HttpResponse r = CurlGet(nginx.Url("/control.cgi?background"), 20);
  double seconds = SecondsSince(start);
  pid_t child = pc::RecordedPid(record.path(), "background-child");
  INFO(r.error << r.body << "\nlauncher:\n" << app.Log());
  CHECK(r.status == 200);
  CHECK(r.body == "left a child\n");
  CHECK(seconds < 3.0);  // not the child's 30 s
  REQUIRE(child > 0);
  CHECK(pc::ProcessState(child) != 0);  // the child really was still running
  kill(child, SIGKILL);
}

TEST_CASE("failure: the program starts with SIGPIPE at its default disposition, nothing blocked",
          "[e2e][failure][signals]") {
  pc::Record record;
  FcgiRun app(ControlApp(record));
  FcgiResponse r = RequestOnce(app.address(), ControlParams("sigpipe"));
  INFO(r.Describe() << "\nlauncher:\n" << app.Log());
  REQUIRE(r.ok());
  std::string body = SplitCgiResponse(r.stdout_data).body;
  auto mask = [&](const std::string& name) {
    auto at = body.find(name + ":");
    REQUIRE(at != std::string::npos);
    return std::stoull(body.substr(at + name.size() + 1), nullptr, 16);
  };
  CHECK((mask("SigIgn") & (1ull << (SIGPIPE - 1))) == 0);  // the launcher itself ignores SIGPIPE
  CHECK(mask("SigBlk") == 0);
}

TEST_CASE("failure: no zombie or leftover child after a batch of requests", "[e2e][failure][process]") {
  pc::Record record;
  FcgiRun app(ControlApp(record, {"--timeout", "1", "--kill-grace", "1", "--workers", "4"}));
  const std::string queries[] = {"hello", "read-stdin", "stream", "hang", "background"};
  const pid_t launcher = app.process().pid();
  // What the launcher keeps by design (fork mode: the parked program), seen
  // after a first request; exec mode keeps nothing.
  REQUIRE(RequestOnce(app.address(), ControlParams("warm-up")).ok());
  std::vector<std::pair<pid_t, char>> baseline = pc::ChildrenOf(launcher);
  if (TestMode() == "exec") CHECK(baseline.empty());
  std::vector<pid_t> background;
  for (int round = 0; round < 4; ++round) {
    FcgiTestClient client;
    REQUIRE(client.Connect(app.address()).ok());
    std::string bytes;
    std::vector<uint16_t> ids;
    uint16_t id = 1;
    for (const std::string& q : queries) {
      const std::string query = q + "-" + std::to_string(round);
      bytes += BeginRequestBytes(id, Role::kResponder, true);
      bytes += ParamsBytes(id, ControlParams(query, q == "read-stdin" ? 3 : -1)) + EmptyParamsBytes(id);
      bytes += (q == "read-stdin" ? StdinBytes(id, "abc") : std::string()) + EmptyStdinBytes(id);
      ids.push_back(id++);
    }
    REQUIRE(client.Send(bytes).ok());
    // The stream is aborted once it has produced output; the hang times out.
    FcgiResponse partial = client.ReadUntilEnd(3, 500ms);
    CHECK_FALSE(partial.stdout_data.empty());
    REQUIRE(client.Send(AbortRequestBytes(3)).ok());
    auto responses = client.ReadUntilAllEnded(ids, 10000ms);
    for (const FcgiResponse& r : responses) {
      INFO(r.Describe() << "\nlauncher:\n" << app.Log());
      CHECK(r.ended);
    }
  }
  {
    std::istringstream lines(ReadFile(record.path()));
    std::string line;
    while (std::getline(lines, line)) {
      if (line.size() > 17 && line.compare(line.size() - 17, 17, " background-child") == 0) {
        background.push_back(std::atoi(line.c_str()));
      }
    }
  }
  // Background children are not the launcher's business while they run; once
  // killed they must not linger as zombies either (fcgi-run may be their subreaper).
  for (pid_t pid : background) kill(pid, SIGKILL);
  std::vector<std::pair<pid_t, char>> children;
  bool only_baseline = WaitFor(
      [&] {
        children = pc::ChildrenOf(launcher);
        for (auto [pid, state] : children) {
          bool known = false;
          for (auto [old_pid, old_state] : baseline) known = known || (pid == old_pid && state != 'Z');
          if (!known) return false;
        }
        return true;
      },
      2000ms);
  INFO("children of the launcher: " << pc::DescribeProcesses(children) << "; before the batch: "
                                    << pc::DescribeProcesses(baseline) << "\nlauncher:\n"
                                    << app.Log());
  CHECK(only_baseline);
}

}  // namespace
}  // namespace fcgi::test
