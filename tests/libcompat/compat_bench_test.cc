// Per-request latency, fork mode vs exec mode, for a trivial C CGI program.
// Hidden from the default run ("[.bench]"); run it with
//   fcgi_compat_tests "[bench]"        (COMPAT_BENCH_REQUESTS=N to change the count)
// Each request is timed from creating its pipes to having read stdout to EOF
// and reaped the program: fork mode = RUN ... EXITED through the parked
// process; exec mode = fork()+execve() of the same binary (the classic way),
// and posix_spawn() (vfork-like) for reference.
#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>
#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>

#include "tests/libcompat/compat_harness.h"

extern char** environ;

namespace fcgi::test {
namespace {

using Clock = std::chrono::steady_clock;
constexpr auto kTimeBudget = std::chrono::seconds(60);
const char kExpected[] = "Content-Type: text/plain\r\n\r\nhello\n";

std::string ReadToEof(int fd) {
  std::string out;
  char buffer[4096];
  ssize_t n;
  while ((n = read(fd, buffer, sizeof buffer)) > 0) out.append(buffer, static_cast<size_t>(n));
  return out;
}

void Report(const char* name, std::vector<double>& us) {
  REQUIRE_FALSE(us.empty());
  std::sort(us.begin(), us.end());
  double sum = 0;
  for (double v : us) sum += v;
  std::printf("%-26s n=%zu mean=%.1f us p50=%.1f us p90=%.1f us p99=%.1f us\n", name, us.size(),
              sum / static_cast<double>(us.size()), us[us.size() / 2], us[us.size() * 9 / 10],
              us[us.size() * 99 / 100]);
}

// Runs `one` up to `count` times (and at most kTimeBudget); each returns its output.
std::vector<double> Measure(int count, const std::function<std::string()>& one) {
  std::vector<double> us;
  auto budget_end = Clock::now() + kTimeBudget;
  for (int i = 0; i < count && Clock::now() < budget_end; ++i) {
    auto begin = Clock::now();
    std::string out = one();
    us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - begin).count());
    if (out != kExpected) FAIL("unexpected output: " << out);
  }
  return us;
}

TEST_CASE("compat bench: RUN->EXITED vs fork+exec", "[.bench]") {
  const char* env_count = std::getenv("COMPAT_BENCH_REQUESTS");
  const int count = env_count ? std::atoi(env_count) : 2000;
  const std::string program = CompatTestProgram("trivial_cgi");
  const std::vector<std::string> env = RequestEnv({"REQUEST_METHOD=GET", "QUERY_STRING="});
  std::vector<char*> c_env;
  for (const std::string& e : env) c_env.push_back(const_cast<char*>(e.c_str()));
  c_env.push_back(nullptr);
  char* argv[] = {const_cast<char*>(program.c_str()), nullptr};

  ParkedProgram parked({program});
  auto hello = parked.Next(std::chrono::seconds(5));
  REQUIRE((hello && std::holds_alternative<CompatHello>(*hello)));
  uint64_t id = 0;
  std::vector<double> fork_mode = Measure(count, [&] {
    RequestPipes pipes("");
    CompatRunRequest run;
    run.request_id = ++id;
    run.env = env;
    if (!parked.SendRun(run, pipes.child_fds())) return std::string("send failed");
    pipes.CloseChildEnds();
    auto started = parked.Next(std::chrono::seconds(5));
    if (!started || !std::holds_alternative<CompatStarted>(*started)) return std::string("no STARTED");
    if (!pipes.ReadAll(std::chrono::seconds(5))) return std::string("read timeout");
    auto exited = parked.Next(std::chrono::seconds(5));
    if (!exited || !std::holds_alternative<CompatExited>(*exited)) return std::string("no EXITED");
    return pipes.out();
  });

  std::vector<double> fork_exec = Measure(count, [&] {
    int out[2];
    if (pipe2(out, O_CLOEXEC) != 0) return std::string("pipe failed");
    pid_t pid = fork();
    if (pid == 0) {
      int null_fd = open("/dev/null", O_RDONLY);
      dup2(null_fd, 0);
      dup2(out[1], 1);
      execve(argv[0], argv, c_env.data());
      _exit(127);
    }
    close(out[1]);
    std::string text = ReadToEof(out[0]);
    close(out[0]);
    waitpid(pid, nullptr, 0);
    return text;
  });

  std::vector<double> spawn = Measure(count, [&] {
    int out[2];
    if (pipe2(out, O_CLOEXEC) != 0) return std::string("pipe failed");
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&actions, out[1], 1);
    pid_t pid;
    int rc = posix_spawn(&pid, argv[0], &actions, nullptr, argv, c_env.data());
    posix_spawn_file_actions_destroy(&actions);
    close(out[1]);
    std::string text = rc == 0 ? ReadToEof(out[0]) : "spawn failed";
    close(out[0]);
    if (rc == 0) waitpid(pid, nullptr, 0);
    return text;
  });

  std::printf("trivial C CGI (%s), sequential requests:\n", program.c_str());
  Report("fork mode (RUN->EXITED)", fork_mode);
  Report("exec mode (fork+execve)", fork_exec);
  Report("exec mode (posix_spawn)", spawn);
  CHECK(fork_mode.size() == static_cast<size_t>(count));
}

}  // namespace
}  // namespace fcgi::test
