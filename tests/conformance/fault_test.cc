// Fault suite: the real fcgi-run under resource exhaustion, misbehaving
// programs and hostile clients. After each fault the launcher must still answer
// a request, its descriptor count (/proc/PID/fd) must return to what it was
// before, and no child may be left (conf::CheckHealthy).
#include <catch2/catch.hpp>

#include <sys/mount.h>
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "tests/conformance/conformance_util.h"

namespace fcgi::test {
namespace {

using conf::App;
using conf::Baseline;
using conf::CheckHealthy;
using conf::Params;
using conf::Script;
using namespace std::chrono_literals;  // NOLINT

std::string Hello() { return Example("hello.cgi"); }

double SecondsSince(pc::Clock::time_point start) { return pc::SecondsSince(start); }

TEST_CASE("fault: launcher under ulimit -n 64 with 200 connections", "[fault][fds]") {
  // 200 connections at once, each a request of 0.2 s: with 8 workers their
  // sockets, pipes and pidfds need far more than 64 descriptors.
  TempDir dir("fcgi-run-fault");
  const std::string program =
      Script(dir, "short-sleep.cgi", "sleep 0.2\nprintf 'Content-Type: text/plain\\r\\n\\r\\nslept\\n'\n");
  FcgiRun app(App(program, {"--workers", "8"}));
  const int baseline = Baseline(app, program);
  rlimit limit{64, 64};
  REQUIRE(prlimit(app.process().pid(), RLIMIT_NOFILE, &limit, nullptr) == 0);

  std::vector<std::unique_ptr<FcgiTestClient>> clients;
  for (int i = 0; i < 200; ++i) {
    auto client = std::make_unique<FcgiTestClient>(60000ms);
    REQUIRE(client->Connect(app.address()).ok());
    RequestSpec spec;
    spec.params = Params(program, "c=" + std::to_string(i));
    REQUIRE(client->Send(RequestBytes(spec)).ok());
    clients.push_back(std::move(client));
  }
  // Every connection gets a whole answer: the page, or (no descriptor left
  // for the program's pipes) a 5xx from fcgi-run itself. None is dropped.
  size_t ended = 0, ok200 = 0, out_of_resources = 0, failures = 0;
  for (auto& client : clients) {
    FcgiResponse r = client->ReadUntilEnd(1, 60000ms);
    CgiResponse cgi = SplitCgiResponse(r.stdout_data);
    if (r.ended) ++ended;
    if (r.ok() && cgi.status == 200 && cgi.body == "slept\n") {
      ++ok200;
    } else if (r.ok() && cgi.status >= 500 && cgi.body.rfind("fcgi-run: ", 0) == 0) {
      ++out_of_resources;
    } else if (++failures <= 3) {
      UNSCOPED_INFO(r.Describe());
    }
    client->Close();
  }
  const std::string log = app.Log();
  INFO(ok200 << " pages, " << out_of_resources << " out-of-resources answers\nlauncher:\n"
             << log.substr(0, 3000));
  // The limit really bit: accept(2) failed with EMFILE at least once.
  CHECK(log.find("accept(2)") != std::string::npos);
  CHECK(ended == 200);
  CHECK(ok200 + out_of_resources == 200);
  CHECK(ok200 >= 8);
  CHECK(CheckHealthy(app, program, baseline) == "");
}

TEST_CASE("fault: a program that closes its stdout early and keeps running", "[fault][program]") {
  TempDir dir("fcgi-run-fault");
  std::string program = Script(dir, "early-close.cgi",
                               "printf 'Content-Type: text/plain\\r\\n\\r\\nearly\\n'\n"
                               "exec >&-\n"
                               "sleep 1\n"
                               "echo still-running >&2\n");
  FcgiRun app(App(program));
  const int baseline = Baseline(app, program);
  auto start = pc::Clock::now();
  FcgiResponse r = RequestOnce(app.address(), Params(program));
  INFO(r.Describe() << "\nlauncher:\n" << app.Log());
  REQUIRE(r.ok());
  CHECK(SplitCgiResponse(r.stdout_data).body == "early\n");
  CHECK(r.stderr_data == "still-running\n");  // the response lasts as long as the program
  CHECK(SecondsSince(start) < 5.0);
  CHECK(CheckHealthy(app, program, baseline) == "");
}

TEST_CASE("fault: a program that fills stderr with 10 MiB", "[fault][program]") {
  TempDir dir("fcgi-run-fault");
  std::string program = Script(dir, "stderr-flood.cgi",
                               "head -c 10485760 /dev/zero | tr '\\0' e >&2\n"
                               "printf 'Content-Type: text/plain\\r\\n\\r\\nafter the flood\\n'\n");
  FcgiRun app(App(program));
  const int baseline = Baseline(app, program);
  FcgiResponse r = RequestOnce(app.address(), Params(program), "", 60000ms);
  INFO(r.Describe().substr(0, 2000) << "\nlauncher:\n" << app.Log().substr(0, 2000));
  REQUIRE(r.ok());
  CHECK(r.stderr_data.size() == 10485760);
  CHECK(r.stderr_data.find_first_not_of('e') == std::string::npos);
  CHECK(SplitCgiResponse(r.stdout_data).body == "after the flood\n");
  CHECK(CheckHealthy(app, program, baseline) == "");
}

TEST_CASE("fault: a program that forks a background process holding stdout", "[fault][program]") {
  TempDir dir("fcgi-run-fault");
  std::string program = Script(dir, "background.cgi",
                               "sleep 2 &\n"
                               "printf 'Content-Type: text/plain\\r\\n\\r\\nleft a child\\n'\n");
  FcgiRun app(App(program));
  const int baseline = Baseline(app, program);
  auto start = pc::Clock::now();
  FcgiResponse r = RequestOnce(app.address(), Params(program, "bg"));
  double seconds = SecondsSince(start);
  INFO(r.Describe() << "\nlauncher:\n" << app.Log());
  REQUIRE(r.ok());
  CHECK(SplitCgiResponse(r.stdout_data).body == "left a child\n");
  CHECK(seconds < 1.5);  // the child does not hold the response open
  // Once the children (two: one per request, warm-up included) are done,
  // they are reaped and nothing is left.
  CHECK(CheckHealthy(app, program, baseline, 8000ms) == "");
}

TEST_CASE("fault: slow-loris clients sending one byte a second do not delay others", "[fault][clients]") {
  FcgiRun app(App(Hello()));
  const int baseline = Baseline(app, Hello());
  RequestSpec spec;
  spec.params = Params(Hello(), "slow");
  const std::string request = RequestBytes(spec);
  std::vector<std::unique_ptr<FcgiTestClient>> slow;
  for (int i = 0; i < 30; ++i) {
    auto client = std::make_unique<FcgiTestClient>();
    REQUIRE(client->Connect(app.address()).ok());
    slow.push_back(std::move(client));
  }
  for (size_t second = 0; second < 5; ++second) {
    for (auto& client : slow) REQUIRE(client->Send(request.substr(second, 1)).ok());
    auto start = pc::Clock::now();
    FcgiResponse r = RequestOnce(app.address(), Params(Hello(), "fast"));
    double seconds = SecondsSince(start);
    INFO(r.Describe() << "\nlauncher:\n" << app.Log());
    CHECK(r.ok());
    CHECK(seconds < 1.0);
    std::this_thread::sleep_for(std::chrono::milliseconds(1000));
  }
  for (auto& client : slow) client->Close();
  slow.clear();
  CHECK(CheckHealthy(app, Hello(), baseline) == "");
}

TEST_CASE("fault: 500 connections opened and dropped", "[fault][clients]") {
  FcgiRun app(App(Hello()));
  const int baseline = Baseline(app, Hello());
  RequestSpec spec;
  spec.params = Params(Hello(), "dropped");
  spec.send_stdin = false;  // the program may start; its connection goes away
  const std::string request = RequestBytes(spec);
  std::vector<std::unique_ptr<FcgiTestClient>> clients;
  for (int i = 0; i < 500; ++i) {
    auto client = std::make_unique<FcgiTestClient>();
    REQUIRE(client->Connect(app.address()).ok());
    switch (i % 4) {
      case 0:
        break;  // nothing sent
      case 1:
        REQUIRE(client->Send(request.substr(0, 5)).ok());
        break;  // half a header
      case 2:
        REQUIRE(client->Send(request.substr(0, 40)).ok());
        break;  // inside PARAMS
      default:
        REQUIRE(client->Send(request).ok());
        break;  // a running request
    }
    clients.push_back(std::move(client));
    if (clients.size() == 100) {
      for (auto& c : clients) c->Close();
      clients.clear();
    }
  }
  INFO("launcher:\n" << app.Log().substr(0, 3000));
  CHECK(CheckHealthy(app, Hello(), baseline, 10000ms) == "");
}

// A tiny tmpfs filled to the last byte, unmounted on destruction; or, where
// mounting is not permitted, nothing (the caller uses /dev/full).
class FullDisk {
 public:
  explicit FullDisk(const TempDir& dir) : path_(dir.MakeDir("tmpfs")) {
    if (mount("tmpfs", path_.c_str(), "tmpfs", 0, "size=64k") != 0) return;
    mounted_ = true;
    std::ofstream filler(path_ + "/filler", std::ios::binary);
    std::string block(4096, 'f');
    for (int i = 0; i < 64 && filler; ++i) filler.write(block.data(), block.size());
  }
  ~FullDisk() {
    if (mounted_) umount2(path_.c_str(), MNT_DETACH);
  }
  FullDisk(const FullDisk&) = delete;
  FullDisk& operator=(const FullDisk&) = delete;
  // Where to log: a file on the full tmpfs, or /dev/full.
  std::string LogFile() const { return mounted_ ? path_ + "/fcgi-run.log" : "/dev/full"; }
  bool mounted() const { return mounted_; }

 private:
  std::string path_;
  bool mounted_ = false;
};

// Logs every request (-v, and the program's stderr to the log) to
// `log_file`, where every write fails with ENOSPC: all requests are served,
// the launcher does not spin on the failing log (its CPU time while idle
// stays near zero) and it is healthy afterwards.
void ServeWithFullLog(const std::string& log_file, const std::string& what) {
  FcgiRun app(App(Example("stderr.cgi"), {"-v", "--stderr", "log", "--log", log_file}));
  const int baseline = Baseline(app, Example("stderr.cgi"));
  for (int i = 0; i < 50; ++i) {
    FcgiResponse r = RequestOnce(app.address(), Params(Example("stderr.cgi"), std::to_string(i)));
    INFO(what << ": " << r.Describe() << "\nlauncher:\n" << app.Log());
    REQUIRE(r.ok());
  }
  const pid_t pid = app.process().pid();
  const double cpu_before = conf::CpuSeconds(pid);
  std::this_thread::sleep_for(1000ms);  // idle: measuring CPU use over a second
  const double idle_cpu = conf::CpuSeconds(pid) - cpu_before;
  INFO(what << ": CPU seconds while idle " << idle_cpu << "\nlauncher stderr:\n" << app.Log());
  CHECK(cpu_before >= 0);
  CHECK(idle_cpu < 0.2);
  CHECK(CheckHealthy(app, Example("stderr.cgi"), baseline) == "");
}

TEST_CASE("fault: the log file is on a full disk (64 KiB tmpfs)", "[fault][log]") {
  TempDir dir("fcgi-run-fault");
  FullDisk disk(dir);
  if (!disk.mounted()) {
    WARN("mount(2) of a tmpfs not permitted here: logging to /dev/full instead");
  }
  ServeWithFullLog(disk.LogFile(), disk.mounted() ? "tmpfs 64k" : "/dev/full");
}

TEST_CASE("fault: the log file is /dev/full (every write ENOSPC)", "[fault][log]") {
  ServeWithFullLog("/dev/full", "/dev/full");
}

}  // namespace
}  // namespace fcgi::test
