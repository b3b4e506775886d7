#include "tests/support/process.h"

#include <fcntl.h>
#include <linux/close_range.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <stdexcept>
#include <thread>
#include <utility>

extern char** environ;

namespace fcgi::test {
namespace {

using Clock = std::chrono::steady_clock;

// Everything the child needs, prepared before fork: after fork only
// async-signal-safe calls are made.
struct ExecPlan {
  std::vector<std::string> argv_storage;
  std::vector<std::string> env_storage;
  std::vector<char*> argv;
  std::vector<char*> envp;
  std::string cwd;

  ExecPlan(const std::vector<std::string>& args, const std::vector<std::string>& env, bool inherit_env,
           std::string dir)
      : argv_storage(args), cwd(std::move(dir)) {
    if (inherit_env) {
      for (char** e = environ; *e != nullptr; ++e) env_storage.emplace_back(*e);
    }
    env_storage.insert(env_storage.end(), env.begin(), env.end());
    for (auto& a : argv_storage) argv.push_back(a.data());
    argv.push_back(nullptr);
    for (auto& e : env_storage) envp.push_back(e.data());
    envp.push_back(nullptr);
  }
};

[[noreturn]] void WriteErrnoAndExit(int pipe_fd, const char* what) {
  int err = errno;
  char buf[128];
  size_t n = 0;
  for (const char* p = what; *p != '\0' && n < 64; ++p) buf[n++] = *p;
  buf[n++] = ':';
  const char* msg = strerror(err);  // not strictly async-signal-safe; fine after fork here
  for (const char* p = msg; *p != '\0' && n < sizeof buf; ++p) buf[n++] = *p;
  if (write(pipe_fd, buf, n) < 0) {
  }
  _exit(127);
}

// In the child: sets up fds 0-2 from the given descriptors, closes the rest, execs.
[[noreturn]] void ExecChild(const ExecPlan& plan, int in_fd, int out_fd, int err_fd, int report_fd) {
  setpgid(0, 0);
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  signal(SIGPIPE, SIG_DFL);
  // Move the sources out of the 0-2 range first, then dup2 into place.
  int fds[3] = {in_fd, out_fd, err_fd};
  for (int& fd : fds) {
    if (fd >= 0 && fd < 3) {
      int moved = fcntl(fd, F_DUPFD_CLOEXEC, 3);
      if (moved < 0) WriteErrnoAndExit(report_fd, "fcntl(F_DUPFD)");
      fd = moved;
    }
  }
  for (int target = 0; target < 3; ++target) {
    if (dup2(fds[target], target) < 0) WriteErrnoAndExit(report_fd, "dup2");
  }
  // Every other descriptor becomes close-on-exec (the report pipe already is).
  if (syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC) != 0) {
    for (int fd = 3; fd < 4096; ++fd) fcntl(fd, F_SETFD, FD_CLOEXEC);
  }
  if (!plan.cwd.empty() && chdir(plan.cwd.c_str()) != 0) WriteErrnoAndExit(report_fd, "chdir");
  execvpe(plan.argv[0], plan.argv.data(), plan.envp.data());
  WriteErrnoAndExit(report_fd, "execvpe");
}

int OpenOrThrow(const std::string& path, int flags) {
  int fd = open(path.c_str(), flags | O_CLOEXEC, 0644);
  if (fd < 0) throw std::runtime_error("open(2) " + path + ": " + std::strerror(errno));
  return fd;
}

// Forks and execs; returns the pid. Throws if exec fails.
pid_t Spawn(const ExecPlan& plan, int in_fd, int out_fd, int err_fd) {
  int report[2];
  if (pipe2(report, O_CLOEXEC) != 0) throw std::runtime_error("pipe2(2) failed");
  pid_t pid = fork();
  if (pid < 0) {
    close(report[0]);
    close(report[1]);
    throw std::runtime_error(std::string("fork(2): ") + std::strerror(errno));
  }
  if (pid == 0) {
    close(report[0]);
    ExecChild(plan, in_fd, out_fd, err_fd, report[1]);
  }
  close(report[1]);
  setpgid(pid, pid);  // also done in the child; whichever runs first wins
  char buf[256];
  ssize_t n;
  do {
    n = read(report[0], buf, sizeof buf);
  } while (n < 0 && errno == EINTR);
  close(report[0]);
  if (n > 0) {
    int status;
    waitpid(pid, &status, 0);
    throw std::runtime_error("cannot start " + plan.argv_storage[0] + ": " +
                             std::string(buf, static_cast<size_t>(n)));
  }
  return pid;
}

}  // namespace

std::vector<std::string> MinimalEnv() {
  return {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C"};
}

Process::Process(const ProcessOptions& options) {
  ExecPlan plan(options.argv, options.env, options.inherit_env, options.cwd);
  int in_fd = options.stdin_fd >= 0 ? options.stdin_fd : OpenOrThrow(options.stdin_path, O_RDONLY);
  int out_fd = OpenOrThrow(options.stdout_path.empty() ? "/dev/null" : options.stdout_path,
                           O_WRONLY | O_CREAT | O_TRUNC);
  int err_fd = OpenOrThrow(options.stderr_path.empty() ? "/dev/null" : options.stderr_path,
                           O_WRONLY | O_CREAT | O_TRUNC);
  try {
    pid_ = Spawn(plan, in_fd, out_fd, err_fd);
  } catch (...) {
    if (options.stdin_fd < 0) close(in_fd);
    close(out_fd);
    close(err_fd);
    throw;
  }
  if (options.stdin_fd < 0) close(in_fd);
  close(out_fd);
  close(err_fd);
}

Process::~Process() { Stop(Seconds(3)); }

bool Process::IsRunning() {
  if (status_.has_value() || pid_ <= 0) return false;
  int status;
  pid_t r = waitpid(pid_, &status, WNOHANG);
  if (r == pid_) {
    status_ = status;
    return false;
  }
  return true;
}

std::optional<int> Process::Wait(Seconds timeout) {
  auto deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(timeout);
  while (IsRunning()) {
    if (Clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return status_;
}

void Process::Signal(int signal) {
  if (IsRunning()) kill(pid_, signal);
}

int Process::Stop(Seconds grace) {
  if (pid_ <= 0) return -1;
  if (IsRunning()) {
    kill(pid_, SIGTERM);
    Wait(grace);
  }
  // Whatever is left of the group (workers, CGI children): SIGKILL.
  kill(-pid_, SIGKILL);
  if (!status_.has_value()) {
    int status;
    if (waitpid(pid_, &status, 0) == pid_) status_ = status;
  }
  return status_.value_or(-1);
}

bool CommandResult::Succeeded() const {
  return !timed_out && status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

int CommandResult::ExitCode() const { return (status != -1 && WIFEXITED(status)) ? WEXITSTATUS(status) : -1; }

CommandResult RunCommand(const std::vector<std::string>& argv, const std::string& input, Seconds timeout,
                         const std::vector<std::string>& env, const std::string& stdin_path) {
  CommandResult result;
  auto start = Clock::now();
  int in_pipe[2], out_pipe[2], err_pipe[2];
  if (pipe2(in_pipe, O_CLOEXEC) != 0) return result;
  if (pipe2(out_pipe, O_CLOEXEC) != 0) return result;
  if (pipe2(err_pipe, O_CLOEXEC) != 0) return result;
  int child_in = in_pipe[0];
  if (!stdin_path.empty()) {
    child_in = open(stdin_path.c_str(), O_RDONLY | O_CLOEXEC);
    if (child_in < 0) child_in = in_pipe[0];
  }
  ExecPlan plan(argv, env, false, "");
  pid_t pid;
  try {
    pid = Spawn(plan, child_in, out_pipe[1], err_pipe[1]);
  } catch (const std::exception& e) {
    result.err = e.what();
    for (int fd : {in_pipe[0], in_pipe[1], out_pipe[0], out_pipe[1], err_pipe[0], err_pipe[1]}) {
      close(fd);
    }
    if (child_in != in_pipe[0]) close(child_in);
    return result;
  }
  if (child_in != in_pipe[0]) close(child_in);
  close(in_pipe[0]);
  close(out_pipe[1]);
  close(err_pipe[1]);
  int write_fd = in_pipe[1];
  if (!stdin_path.empty() || input.empty()) {
    close(write_fd);
    write_fd = -1;
  } else {
    fcntl(write_fd, F_SETFL, O_NONBLOCK);
  }
  size_t written = 0;
  int read_fds[2] = {out_pipe[0], err_pipe[0]};
  std::string* sinks[2] = {&result.out, &result.err};
  auto deadline = start + std::chrono::duration_cast<Clock::duration>(timeout);
  sighandler_t old_pipe = signal(SIGPIPE, SIG_IGN);
  while (read_fds[0] >= 0 || read_fds[1] >= 0) {
    auto now = Clock::now();
    if (now >= deadline) {
      result.timed_out = true;
      kill(-pid, SIGKILL);
      break;
    }
    pollfd pfds[3];
    int n = 0;
    for (int fd : read_fds) {
      if (fd >= 0) pfds[n++] = {fd, POLLIN, 0};
    }
    if (write_fd >= 0) pfds[n++] = {write_fd, POLLOUT, 0};
    int ms =
        static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now).count()) + 1;
    if (poll(pfds, static_cast<nfds_t>(n), ms) < 0 && errno != EINTR) break;
    for (int i = 0; i < n; ++i) {
      if (pfds[i].revents == 0) continue;
      if (pfds[i].fd == write_fd) {
        ssize_t w = write(write_fd, input.data() + written, input.size() - written);
        if (w > 0) written += static_cast<size_t>(w);
        if (w < 0 && errno != EAGAIN && errno != EINTR) written = input.size();
        if (written == input.size()) {
          close(write_fd);
          write_fd = -1;
        }
        continue;
      }
      for (int k = 0; k < 2; ++k) {
        if (pfds[i].fd != read_fds[k]) continue;
        char buf[65536];
        ssize_t r = read(read_fds[k], buf, sizeof buf);
        if (r > 0) {
          sinks[k]->append(buf, static_cast<size_t>(r));
        } else if (r == 0 || (errno != EINTR && errno != EAGAIN)) {
          close(read_fds[k]);
          read_fds[k] = -1;
        }
      }
    }
  }
  signal(SIGPIPE, old_pipe);
  if (write_fd >= 0) close(write_fd);
  for (int fd : read_fds) {
    if (fd >= 0) close(fd);
  }
  // The output is closed; the command may still be exiting.
  int status = -1;
  while (true) {
    pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid) break;
    if (Clock::now() >= deadline) {
      result.timed_out = true;
      kill(-pid, SIGKILL);
      waitpid(pid, &status, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  kill(-pid, SIGKILL);  // stragglers of the command's group
  result.status = status;
  result.seconds = Seconds(Clock::now() - start).count();
  return result;
}

std::string DescribeWaitStatus(int status) {
  if (status == -1) return "not run";
  if (WIFEXITED(status)) return "exit " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) {
    const char* name = sigabbrev_np(WTERMSIG(status));
    return "signal " + std::to_string(WTERMSIG(status)) + " (SIG" + (name ? name : "?") + ")";
  }
  return "status " + std::to_string(status);
}

long ProcStatusKib(pid_t pid, const std::string& key) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.size() > key.size() && line[key.size()] == ':' && line.compare(0, key.size(), key) == 0) {
      return std::stol(line.substr(key.size() + 1));
    }
  }
  return -1;
}

}  // namespace fcgi::test
