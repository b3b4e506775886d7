#include "tests/libcompat/compat_harness.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
#include <catch2/catch.hpp>

#include <thread>

namespace fcgi::test {
namespace {

using Clock = std::chrono::steady_clock;

int RemainingMs(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return left.count() < 0 ? 0 : static_cast<int>(left.count());
}

void CloseFd(int* fd) {
  if (*fd >= 0) close(*fd);
  *fd = -1;
}

}  // namespace

ValgrindRun Valgrind() {
  const char* dir = getenv("FCGI_COMPAT_TEST_VALGRIND");
  const char* tool = getenv("FCGI_COMPAT_TEST_MEMCHECK");
  if (dir == nullptr || *dir == '\0' || tool == nullptr || *tool == '\0') return {};
  const std::string tool_path = tool;
  ValgrindRun run;
  run.env = {"VALGRIND_LIB=" + tool_path.substr(0, tool_path.rfind('/')),
             "VALGRIND_LAUNCHER=/usr/bin/valgrind"};
  run.argv = {tool_path,
              "--log-file=" + std::string(dir) + "/memcheck.%p.log",
              "--child-silent-after-fork=no",
              "--trace-children=no",
              "--error-limit=no",
              "--leak-check=full",
              "--errors-for-leak-kinds=definite",
              "--show-leak-kinds=definite",
              "--track-origins=yes",
              "--num-callers=30"};
  return run;
}

void NoteParked(pid_t pid) {
  const char* dir = getenv("FCGI_COMPAT_TEST_VALGRIND");
  if (dir == nullptr || *dir == '\0') return;
  int fd = open((std::string(dir) + "/parked." + std::to_string(pid)).c_str(), O_WRONLY | O_CREAT | O_CLOEXEC,
                0644);
  if (fd >= 0) close(fd);
}

std::string CompatLibraryPath() { return FCGI_COMPAT_LIBRARY_PATH; }
std::string CompatTestProgram(const std::string& name) {
  return std::string(FCGI_COMPAT_TEST_DIR) + "/" + name;
}

std::vector<std::string> RequestEnv(std::initializer_list<std::string> extra) {
  std::vector<std::string> env = {"PATH=/usr/bin:/bin", "GATEWAY_INTERFACE=CGI/1.1"};
  env.insert(env.end(), extra.begin(), extra.end());
  return env;
}

RequestPipes::RequestPipes(const std::string& stdin_data) {
  int in[2], out[2], err[2];
  REQUIRE(pipe2(in, O_CLOEXEC) == 0);
  REQUIRE(pipe2(out, O_CLOEXEC) == 0);
  REQUIRE(pipe2(err, O_CLOEXEC) == 0);
  REQUIRE(stdin_data.size() < 65536);  // fits in the pipe: no writer needed
  REQUIRE(write(in[1], stdin_data.data(), stdin_data.size()) == static_cast<ssize_t>(stdin_data.size()));
  close(in[1]);
  child_[0] = in[0];
  child_[1] = out[1];
  child_[2] = err[1];
  out_read_ = out[0];
  err_read_ = err[0];
}

RequestPipes::~RequestPipes() {
  CloseChildEnds();
  CloseFd(&out_read_);
  CloseFd(&err_read_);
}

void RequestPipes::CloseChildEnds() {
  for (int& fd : child_) CloseFd(&fd);
}

bool RequestPipes::ReadAll(std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  while (out_read_ >= 0 || err_read_ >= 0) {
    pollfd p[2] = {{out_read_, POLLIN, 0}, {err_read_, POLLIN, 0}};
    int n = poll(p, 2, RemainingMs(deadline));
    if (n <= 0) return false;
    for (int i = 0; i < 2; ++i) {
      if (p[i].revents == 0) continue;
      int* fd = i == 0 ? &out_read_ : &err_read_;
      std::string* sink = i == 0 ? &out_ : &err_;
      char buffer[4096];
      ssize_t got = read(*fd, buffer, sizeof buffer);
      if (got <= 0) {
        CloseFd(fd);
      } else {
        sink->append(buffer, static_cast<size_t>(got));
      }
    }
  }
  return true;
}

ParkedProgram::ParkedProgram(const std::vector<std::string>& argv, bool with_channel,
                             const std::vector<std::string>& extra_env) {
  int launcher_end = -1, shim_end = -1;
  REQUIRE(CreateCompatSocketPair(&launcher_end, &shim_end).ok());
  int output[2];
  REQUIRE(pipe2(output, O_CLOEXEC) == 0);
  std::vector<std::string> env = {"PATH=/usr/bin:/bin", "LD_PRELOAD=" + CompatLibraryPath(), "LD_BIND_NOW=1"};
  if (with_channel) env.push_back("FCGI_RUN_COMPAT_FD=3");
  env.insert(env.end(), extra_env.begin(), extra_env.end());
  // Under a checker (tests/libcompat/valgrind_check.sh): the program runs
  // under valgrind memcheck, which follows the shim's fork(2) into every
  // request's child (one log per process, %p) but not execve(2).
  ValgrindRun valgrind = Valgrind();
  env.insert(env.end(), valgrind.env.begin(), valgrind.env.end());
  std::vector<std::string> full_argv = valgrind.argv;
  full_argv.insert(full_argv.end(), argv.begin(), argv.end());
  std::vector<char*> c_argv, c_env;
  for (const std::string& a : full_argv) c_argv.push_back(const_cast<char*>(a.c_str()));
  for (const std::string& e : env) c_env.push_back(const_cast<char*>(e.c_str()));
  c_argv.push_back(nullptr);
  c_env.push_back(nullptr);
  pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    int null_fd = open("/dev/null", O_RDONLY);
    dup2(null_fd, 0);
    dup2(output[1], 1);
    if (shim_end == 3) {
      fcntl(3, F_SETFD, 0);
    } else {
      dup2(shim_end, 3);
    }
    execve(c_argv[0], c_argv.data(), c_env.data());
    _exit(127);
  }
  close(shim_end);
  close(output[1]);
  pid_ = pid;
  fd_ = launcher_end;
  output_ = output[0];
}

ParkedProgram::~ParkedProgram() {
  if (!reaped_ && pid_ > 0) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  CloseFd(&fd_);
  CloseFd(&output_);
}

std::optional<CompatMessage> ParkedProgram::Next(std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  for (;;) {
    if (!received_.empty()) {
      CompatMessage message;
      Status status = DecodeCompatMessage(received_.front(), &message);
      received_.pop_front();
      INFO(status.ToString());
      REQUIRE(status.ok());
      if (auto* hello = std::get_if<CompatHello>(&message)) NoteParked(hello->pid);
      return message;
    }
    if (fd_ < 0 || eof_) {
      closed_ = eof_;
      return std::nullopt;
    }
    // As the launcher receives: every message waiting, in one batch.
    ChannelResult r = ReceiveCompatMessages(fd_, [this](std::string_view m) {
      received_.emplace_back(m);
      return true;
    });
    REQUIRE(r.io != ChannelIo::kError);
    if (r.io == ChannelIo::kClosed) eof_ = true;  // after the messages received before it
    if (!received_.empty() || eof_) continue;
    pollfd p{fd_, POLLIN, 0};
    if (poll(&p, 1, RemainingMs(deadline)) <= 0) return std::nullopt;
  }
}

bool ParkedProgram::Send(const std::string& message, const int* fds, int nfds) {
  auto deadline = Clock::now() + std::chrono::seconds(5);
  for (;;) {
    ChannelResult r = SendCompatMessage(fd_, message, std::span<const int>(fds, static_cast<size_t>(nfds)));
    if (r.io != ChannelIo::kWouldBlock) return r.io == ChannelIo::kDone;
    pollfd p{fd_, POLLOUT, 0};  // what the reactor would wait for
    if (poll(&p, 1, RemainingMs(deadline)) <= 0) return false;
  }
}

bool ParkedProgram::SendRun(const CompatRunRequest& run, const int* fds) {
  CompatRunMessage message;
  REQUIRE(EncodeCompatRun(run, &message).ok());
  const std::string& bytes = message.bytes;
  return Send(bytes, fds, 3);
}

void ParkedProgram::CloseChannel() { CloseFd(&fd_); }

int ParkedProgram::Wait(std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  for (;;) {
    int status = 0;
    pid_t got = waitpid(pid_, &status, WNOHANG);
    if (got == pid_) {
      reaped_ = true;
      return status;
    }
    if (RemainingMs(deadline) == 0) return -1;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

std::string ParkedProgram::Output() {
  std::string text;
  char buffer[4096];
  ssize_t n;
  while (output_ >= 0 && (n = read(output_, buffer, sizeof buffer)) > 0) {
    text.append(buffer, static_cast<size_t>(n));
  }
  return text;
}

RunOutcome RunOnce(ParkedProgram& parked, uint64_t id, const std::vector<std::string>& env,
                   const std::string& stdin_data, const std::string& cwd) {
  RunOutcome outcome;
  RequestPipes pipes(stdin_data);
  CompatRunRequest run;
  run.request_id = id;
  run.env = env;
  run.cwd = cwd;
  REQUIRE(parked.SendRun(run, pipes.child_fds()));
  pipes.CloseChildEnds();
  auto reply = parked.Next(std::chrono::seconds(5));
  REQUIRE(reply.has_value());
  if (auto* failed = std::get_if<CompatFailed>(&*reply)) {
    CHECK(failed->request_id == id);
    outcome.failed_errno = failed->error;
    return outcome;
  }
  auto* started = std::get_if<CompatStarted>(&*reply);
  REQUIRE(started != nullptr);
  CHECK(started->request_id == id);
  outcome.started = true;
  outcome.pid = started->pid;
  REQUIRE(pipes.ReadAll(std::chrono::seconds(5)));
  outcome.out = pipes.out();
  outcome.err = pipes.err();
  auto exited = parked.Next(std::chrono::seconds(5));
  REQUIRE(exited.has_value());
  auto* e = std::get_if<CompatExited>(&*exited);
  REQUIRE(e != nullptr);
  CHECK(e->request_id == id);
  CHECK(e->pid == outcome.pid);
  outcome.exited = true;
  outcome.wait_status = e->wait_status;
  return outcome;
}

}  // namespace fcgi::test
