#include "launcher/front/socket_remover.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <climits>

#include "launcher/log/log.h"

namespace fcgi {

namespace {

constexpr int kHighFd = 64;  // where the remover keeps its end, clear of 0-2
constexpr std::chrono::seconds kReportTimeout(2);

void WriteAll(int fd, const std::string& text) {
  size_t done = 0;
  while (done < text.size()) {
    ssize_t n = write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    done += static_cast<size_t>(n);
  }
}

// The child: waits for the request (or EOF), removes, reports, exits.
[[noreturn]] void RemoverMain(int fd, const std::vector<ListeningSocket>& sockets) {
  struct sigaction ignore {};
  ignore.sa_handler = SIG_IGN;
  for (int sig : {SIGINT, SIGTERM, SIGQUIT, SIGHUP, SIGUSR1, SIGUSR2, SIGPIPE})
    sigaction(sig, &ignore, nullptr);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  prctl(PR_SET_NAME, "fcgi-run-rm");
  // Nothing of fcgi-run's but this socketpair end and stderr: no listening
  // socket stays open here (a later fcgi-run must find the path unserved).
  int keep = fcntl(fd, F_DUPFD, kHighFd);
  if (keep < 0) _exit(1);
  close_range(3, static_cast<unsigned>(keep) - 1, 0);
  close_range(static_cast<unsigned>(keep) + 1, UINT_MAX, 0);
  int null = open("/dev/null", O_RDWR);
  if (null >= 0) {
    dup2(null, 0);
    dup2(null, 1);
    if (null > 2) close(null);
  }
  char request;
  while (read(keep, &request, 1) < 0 && errno == EINTR) {
  }
  for (const ListeningSocket& ls : sockets) {
    if (ls.created_path.empty()) continue;
    Status s = RemoveCreatedSocket(ls);
    WriteAll(keep, s.ok() ? "removed socket " + ls.created_path + "\n"
                          : "could not remove socket " + ls.created_path + ": " + s.message() + "\n");
  }
  _exit(0);
}

}  // namespace

Status SocketRemover::Start(const std::vector<ListeningSocket>& sockets,
                            std::unique_ptr<SocketRemover>* out) {
  int fds[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) {
    return Status::FromErrno("socketpair(2)", "socket remover", errno);
  }
  pid_t pid = fork();
  if (pid < 0) {
    int err = errno;
    close(fds[0]);
    close(fds[1]);
    return Status::FromErrno("fork(2)", "socket remover", err);
  }
  if (pid == 0) RemoverMain(fds[1], sockets);
  close(fds[1]);
  out->reset(new SocketRemover(pid, fds[0]));
  return Status::Ok();
}

SocketRemover::~SocketRemover() { RemoveNow(nullptr); }

void SocketRemover::RemoveNow(std::vector<ListeningSocket>* sockets) {
  if (sockets != nullptr) {
    for (ListeningSocket& ls : *sockets) ls.created_path.clear();
  }
  if (fd_ < 0) return;
  WriteAll(fd_, "R");
  std::string report;
  bool eof = false;
  const auto deadline = std::chrono::steady_clock::now() + kReportTimeout;
  while (!eof) {
    auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    pollfd p{fd_, POLLIN, 0};
    int ready = poll(&p, 1, static_cast<int>(left.count()));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) break;
    char buf[1024];
    ssize_t n = read(fd_, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) eof = true;
    else report.append(buf, static_cast<size_t>(n));
  }
  close(fd_);
  fd_ = -1;
  for (size_t at = 0; at < report.size();) {
    size_t nl = report.find('\n', at);
    if (nl == std::string::npos) nl = report.size();
    std::string line = report.substr(at, nl - at);
    if (line.rfind("removed ", 0) == 0) LogNotice(line);
    else if (!line.empty()) LogWarning(line);
    at = nl + 1;
  }
  if (!eof) {
    LogWarning("the socket remover (pid " + std::to_string(pid_) + ") did not answer within " +
               std::to_string(kReportTimeout.count()) + " s; its socket files may be left behind");
    return;
  }
  int status;
  while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
}

}  // namespace fcgi
