// libcompat fork mode, end to end: real programs with the real shim preloaded,
// driven through the launcher's codec (launcher/shim/compat_channel.h).
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
#include <catch2/catch.hpp>

#include <chrono>
#include <fstream>
#include <map>
#include <memory>

#include "tests/libcompat/compat_harness.h"

namespace fcgi::test {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
namespace proto = compat;

// Spawns `argv` and requires HELLO from it.
std::unique_ptr<ParkedProgram> Park(const std::vector<std::string>& argv) {
  auto parked = std::make_unique<ParkedProgram>(argv);
  auto hello = parked->Next(seconds(5));
  REQUIRE(hello.has_value());
  auto* h = std::get_if<CompatHello>(&*hello);
  REQUIRE(h != nullptr);
  CHECK(h->version == proto::kProtocolVersion);
  CHECK(h->pid == parked->pid());
  CHECK((h->flags & proto::kHelloBindNow) != 0);
  CHECK(h->max_children == proto::kMaxChildren);
  CHECK(h->max_message_bytes == proto::kMaxMessageBytes);
  return parked;
}

// True once `pid` no longer runs (gone, or a zombie nobody reaped yet).
bool Dead(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(stat, line)) return true;
  size_t paren = line.rfind(')');
  return paren != std::string::npos && line.size() > paren + 2 && line[paren + 2] == 'Z';
}

bool BecomesDead(pid_t pid, milliseconds timeout) {
  for (auto end = std::chrono::steady_clock::now() + timeout; std::chrono::steady_clock::now() < end;) {
    if (Dead(pid)) return true;
    usleep(5000);
  }
  return Dead(pid);
}

TEST_CASE("compat: each request sees its own env, stdin, argv and fresh globals", "[compat]") {
  auto parked = Park({CompatTestProgram("test_cgi"), "first-arg"});
  for (int i = 1; i <= 5; ++i) {
    std::string id = std::to_string(i);
    RunOutcome r = RunOnce(*parked, i, RequestEnv({"REQ=req" + id, "EXIT=3"}), "body-" + id);
    REQUIRE(r.started);
    CHECK(r.pid != parked->pid());
    CHECK(r.out ==
          "counter=1\nargv1=first-arg\nREQ=req" + id + "\nLD_PRELOAD=(none)\nstdin=body-" + id + "\n");
    REQUIRE(WIFEXITED(r.wait_status));
    CHECK(WEXITSTATUS(r.wait_status) == 3);
  }
  RunOutcome r = RunOnce(*parked, 9, RequestEnv({"MODE=stderr"}), "");
  CHECK(r.err == "to-stderr\n");
  CHECK(WIFEXITED(r.wait_status));
  CHECK(WEXITSTATUS(r.wait_status) == 0);
}

TEST_CASE("compat: concurrent requests run in parallel and keep their output apart", "[compat]") {
  auto parked = Park({CompatTestProgram("test_cgi")});
  constexpr int kRequests = 8;
  std::vector<std::unique_ptr<RequestPipes>> pipes;
  auto begin = std::chrono::steady_clock::now();
  for (int i = 0; i < kRequests; ++i) {
    pipes.push_back(std::make_unique<RequestPipes>("in" + std::to_string(i)));
    CompatRunRequest run;
    run.request_id = 100 + i;
    run.env = RequestEnv({"MODE=sleep", "SLEEP_MS=300", "REQ=r" + std::to_string(i)});
    REQUIRE(parked->SendRun(run, pipes.back()->child_fds()));
    pipes.back()->CloseChildEnds();
  }
  std::map<uint64_t, pid_t> started;
  std::map<uint64_t, int> exited;
  while (exited.size() < kRequests) {
    auto m = parked->Next(seconds(5));
    REQUIRE(m.has_value());
    if (auto* s = std::get_if<CompatStarted>(&*m)) {
      CHECK(exited.empty());  // all forked before the first one finished
      started[s->request_id] = s->pid;
    } else if (auto* e = std::get_if<CompatExited>(&*m)) {
      CHECK(started.at(e->request_id) == e->pid);
      exited[e->request_id] = e->wait_status;
    } else {
      FAIL("unexpected " << CompatMessageName(*m));
    }
  }
  auto elapsed = std::chrono::steady_clock::now() - begin;
  CHECK(elapsed < milliseconds(300 * kRequests / 2));
  for (int i = 0; i < kRequests; ++i) {
    REQUIRE(pipes[i]->ReadAll(seconds(5)));
    std::string n = std::to_string(i);
    CHECK(pipes[i]->out() ==
          "counter=1\nargv1=(none)\nREQ=r" + n + "\nLD_PRELOAD=(none)\nstdin=in" + n + "\n");
    CHECK(exited[100 + i] == 0);
  }
}

TEST_CASE("compat: a near-limit environment block arrives whole", "[compat]") {
  auto parked = Park({CompatTestProgram("test_cgi")});
  std::string big(120 * 1024, 'v');
  RunOutcome r = RunOnce(*parked, 1, RequestEnv({"REQ=" + big}), "x");
  CHECK(r.wait_status == 0);
  CHECK(r.out.find("REQ=" + big + "\n") != std::string::npos);
}

TEST_CASE("compat: replies queue up while the launcher does not read", "[compat]") {
  auto parked = Park({CompatTestProgram("test_cgi")});
  constexpr int kRequests = 300;  // 600 replies: more than the socket buffer holds
  int null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
  REQUIRE(null_fd >= 0);
  int fds[3] = {null_fd, null_fd, null_fd};
  for (int i = 0; i < kRequests; ++i) {
    CompatRunRequest run;
    run.request_id = 1000 + i;
    run.env = RequestEnv({});
    REQUIRE(parked->SendRun(run, fds));
  }
  close(null_fd);
  usleep(500 * 1000);  // the children finish; the shim must not block on us
  std::map<uint64_t, pid_t> started;
  std::map<uint64_t, int> exited;
  while (exited.size() < kRequests) {
    auto m = parked->Next(seconds(10));
    REQUIRE(m.has_value());
    if (auto* s = std::get_if<CompatStarted>(&*m)) {
      started[s->request_id] = s->pid;
    } else if (auto* e = std::get_if<CompatExited>(&*m)) {
      REQUIRE(started.count(e->request_id) == 1);
      CHECK(started[e->request_id] == e->pid);
      exited[e->request_id] = e->wait_status;
    } else {
      FAIL("unexpected " << CompatMessageName(*m));
    }
  }
  CHECK(started.size() == kRequests);
  CHECK(exited.begin()->first == 1000);
  CHECK(exited.rbegin()->first == 1000 + kRequests - 1);
  for (const auto& [id, status] : exited) CHECK(status == 0);
}

TEST_CASE("compat: a crash comes back as a signal in EXITED", "[compat]") {
  auto parked = Park({CompatTestProgram("test_cgi")});
  RunOutcome r = RunOnce(*parked, 7, RequestEnv({"MODE=crash"}), "");
  REQUIRE(r.exited);
  REQUIRE(WIFSIGNALED(r.wait_status));
  CHECK(WTERMSIG(r.wait_status) == SIGSEGV);
  // The parked process survives its child's crash.
  CHECK(RunOnce(*parked, 8, RequestEnv({}), "").wait_status == 0);
}

TEST_CASE("compat: no LD_PRELOAD or FCGI_RUN_* reaches programs the CGI starts", "[compat]") {
  auto parked = Park({CompatTestProgram("test_cgi")});
  RunOutcome r = RunOnce(*parked, 1, RequestEnv({"MODE=system", "REQ=sys"}), "");
  CHECK(r.wait_status == 0);
  CHECK(r.out.find("REQ=sys\n") != std::string::npos);
  CHECK(r.out.find("GATEWAY_INTERFACE=CGI/1.1\n") != std::string::npos);
  CHECK(r.out.find("LD_PRELOAD") == std::string::npos);
  CHECK(r.out.find("LD_BIND_NOW") == std::string::npos);
  CHECK(r.out.find("FCGI_RUN_") == std::string::npos);
}

TEST_CASE("compat: cwd, process group and SIGNAL", "[compat]") {
  auto parked = Park({CompatTestProgram("test_cgi")});
  RunOutcome r = RunOnce(*parked, 1, RequestEnv({"MODE=cwd"}), "", "/tmp");
  CHECK(r.out.rfind("cwd=/tmp\n", 0) == 0);
  r = RunOnce(*parked, 2, RequestEnv({"MODE=cwd"}), "", "/nonexistent/dir");
  CHECK_FALSE(r.started);
  CHECK(r.failed_errno == ENOENT);
  r = RunOnce(*parked, 3, RequestEnv({"MODE=pgid"}), "");
  CHECK(r.out.rfind("leader=1\n", 0) == 0);

  RequestPipes pipes("");
  CompatRunRequest run;
  run.request_id = 4;
  run.env = RequestEnv({"MODE=sleep", "SLEEP_MS=20000"});
  REQUIRE(parked->SendRun(run, pipes.child_fds()));
  pipes.CloseChildEnds();
  auto started = parked->Next(seconds(5));
  REQUIRE((started && std::holds_alternative<CompatStarted>(*started)));
  REQUIRE(parked->Send(EncodeCompatSignal(999, SIGTERM)));  // unknown id: ignored
  REQUIRE(parked->Send(EncodeCompatSignal(4, SIGTERM)));
  auto exited = parked->Next(seconds(5));
  REQUIRE((exited && std::holds_alternative<CompatExited>(*exited)));
  int status = std::get<CompatExited>(*exited).wait_status;
  REQUIRE(WIFSIGNALED(status));
  CHECK(WTERMSIG(status) == SIGTERM);
}

TEST_CASE("compat: a RUN without exactly three fds fails cleanly", "[compat]") {
  auto parked = Park({CompatTestProgram("test_cgi")});
  CompatRunRequest run;
  run.request_id = 42;
  CompatRunMessage message;
  REQUIRE(EncodeCompatRun(run, &message).ok());
  const std::string& bytes = message.bytes;
  RequestPipes pipes("");
  REQUIRE(parked->Send(bytes, pipes.child_fds(), 2));
  auto reply = parked->Next(seconds(5));
  REQUIRE((reply && std::holds_alternative<CompatFailed>(*reply)));
  CHECK(std::get<CompatFailed>(*reply).request_id == 42);
  CHECK(std::get<CompatFailed>(*reply).error == EBADMSG);
  REQUIRE(parked->Send(bytes.substr(0, 10)));
  reply = parked->Next(seconds(5));
  REQUIRE((reply && std::holds_alternative<CompatFailed>(*reply)));
  CHECK(std::get<CompatFailed>(*reply).error == EPROTO);
  CHECK(RunOnce(*parked, 43, RequestEnv({}), "").wait_status == 0);
}

TEST_CASE("compat: a shell script parks its interpreter and runs per request", "[compat]") {
  auto parked = Park({CompatTestProgram("test_script.sh")});
  for (int i = 0; i < 3; ++i) {
    std::string n = std::to_string(i);
    RunOutcome r = RunOnce(*parked, i, RequestEnv({"REQ=s" + n}), "line" + n + "\n");
    CHECK(r.out == "script REQ=s" + n + " count=1 line=line" + n + "\npreload=none\n");
    REQUIRE(WIFEXITED(r.wait_status));
    CHECK(WEXITSTATUS(r.wait_status) == 4);
  }
}

TEST_CASE("compat: programs that cannot park never say HELLO", "[compat]") {
  SECTION("static binary: preload ignored, main runs once") {
    ParkedProgram parked({CompatTestProgram("test_cgi_static")});
    auto message = parked.Next(milliseconds(1000));
    CHECK_FALSE(message.has_value());
    WARN("static binary: " << (parked.closed() ? "channel closed" : "timed out") << " without HELLO");
    CHECK(parked.Wait(seconds(5)) == 0);
    CHECK(parked.Output().find("counter=1") != std::string::npos);
  }
  SECTION("second thread at main(): REFUSED, main never runs") {
    ParkedProgram parked({CompatTestProgram("threaded_cgi")});
    auto message = parked.Next(seconds(5));
    REQUIRE(message.has_value());
    REQUIRE(std::holds_alternative<CompatRefused>(*message));
    CHECK(std::get<CompatRefused>(*message).reason == proto::kRefuseThreads);
    CHECK(std::get<CompatRefused>(*message).error == 2);
    int status = parked.Wait(seconds(5));
    REQUIRE(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == proto::kRefusedExitStatus);
    CHECK(parked.Output().empty());
  }
  SECTION("no control fd: the shim is transparent") {
    ParkedProgram parked({CompatTestProgram("test_cgi"), "plain"}, false, {"EXIT=5"});
    int status = parked.Wait(seconds(5));
    REQUIRE(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 5);
    CHECK(parked.Output().find("argv1=plain\n") != std::string::npos);
  }
}

TEST_CASE("compat: shutdown and loss of the channel", "[compat]") {
  RequestPipes pipes("");  // outlives the child: its output must not hit a closed pipe
  auto start_sleeper = [&pipes](ParkedProgram& parked, uint64_t id, int ms) {
    CompatRunRequest run;
    run.request_id = id;
    run.env = RequestEnv({"MODE=sleep", "SLEEP_MS=" + std::to_string(ms)});
    REQUIRE(parked.SendRun(run, pipes.child_fds()));
    pipes.CloseChildEnds();
    auto started = parked.Next(seconds(5));
    REQUIRE((started && std::holds_alternative<CompatStarted>(*started)));
    return std::get<CompatStarted>(*started).pid;
  };
  SECTION("SHUTDOWN drains: EXITED for the running child, then BYE, exit 0") {
    auto parked = Park({CompatTestProgram("test_cgi")});
    start_sleeper(*parked, 1, 200);
    REQUIRE(parked->Send(EncodeCompatShutdown()));
    auto exited = parked->Next(seconds(5));
    REQUIRE((exited && std::holds_alternative<CompatExited>(*exited)));
    CHECK(std::get<CompatExited>(*exited).wait_status == 0);
    auto bye = parked->Next(seconds(5));
    REQUIRE((bye && std::holds_alternative<CompatBye>(*bye)));
    CHECK(parked->Wait(seconds(5)) == 0);
  }
  SECTION("EOF on the channel: children are killed, the process exits 0") {
    auto parked = Park({CompatTestProgram("test_cgi")});
    pid_t child = start_sleeper(*parked, 1, 20000);
    parked->CloseChannel();
    CHECK(parked->Wait(seconds(5)) == 0);
    CHECK(BecomesDead(child, seconds(5)));
  }
  SECTION("killing the parked process closes the channel and kills children") {
    auto parked = Park({CompatTestProgram("test_cgi")});
    pid_t child = start_sleeper(*parked, 1, 20000);
    REQUIRE(kill(parked->pid(), SIGKILL) == 0);
    CHECK_FALSE(parked->Next(seconds(5)).has_value());
    CHECK(parked->closed());
    CHECK(BecomesDead(child, seconds(5)));  // PR_SET_PDEATHSIG
  }
}

}  // namespace
}  // namespace fcgi::test
