#include "launcher/request/slow_log.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/time.h>
#include <unistd.h>

#include <array>
#include <boost/asio/readable_pipe.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <ctime>

#include "core/base_environment.h"
#include "launcher/log/log.h"
#include "launcher/run/child_watcher.h"

namespace fcgi {

struct SlowLog::Trace {
  explicit Trace(boost::asio::io_context& io) : out(io), timer(io), watcher(io) {}
  int pid = -1;  // the traced program
  boost::asio::readable_pipe out;
  boost::asio::steady_timer timer;
  ChildWatcher watcher;  // gdb; its destructor kills and reaps it
  std::array<char, 4096> chunk;
  std::string text;
  bool eof = false, exited = false, timed_out = false, done = false;
};

namespace {

std::string FindGdb() {
  std::string path(kDefaultPath);
  if (const char* p = std::getenv("PATH"); p != nullptr && *p != '\0') path = p;
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find(':', start);
    if (end == std::string::npos) end = path.size();
    std::string candidate = path.substr(start, end - start) + "/gdb";
    if (end > start && access(candidate.c_str(), X_OK) == 0) return candidate;
    start = end + 1;
  }
  return "";
}

std::string Printable(std::string_view s) {
  std::string out;
  for (char c : s) out += (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) ? '?' : c;
  return out;
}

}  // namespace

SlowLog::SlowLog(boost::asio::io_context& io, Spawner& spawner) : io_(io), spawner_(spawner) {}

SlowLog::~SlowLog() {
  traces_.clear();  // ChildWatcher kills and reaps gdb
  if (fd_ >= 0) ::close(fd_);
}

Status SlowLog::Open(const std::string& path, bool backtrace) {
  path_ = path;
  if (backtrace) {
    gdb_ = FindGdb();
    if (gdb_.empty())
      LogWarning("--slow-backtrace: gdb not found in PATH; slow requests are logged without stacks");
  }
  return Reopen();
}

Status SlowLog::Reopen() {
  if (path_.empty()) return Status::Ok();
  int fd = ::open(path_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
  if (fd < 0) return Status::FromErrno("open(2)", path_, errno);
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd;
  return Status::Ok();
}

void SlowLog::WriteLine(std::string_view line) {
  if (fd_ < 0) {
    LogWarning(line);
    return;
  }
  struct timeval tv;
  gettimeofday(&tv, nullptr);
  struct tm tm;
  localtime_r(&tv.tv_sec, &tm);
  char prefix[64];
  int n = std::snprintf(prefix, sizeof prefix, "%04d-%02d-%02d %02d:%02d:%02d.%03d ", tm.tm_year + 1900,
                        tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                        static_cast<int>(tv.tv_usec / 1000));
  std::string out(prefix, n > 0 ? static_cast<size_t>(n) : 0);
  out += Printable(line);
  out += '\n';
  ssize_t w = ::write(fd_, out.data(), out.size());
  (void)w;
}

void SlowLog::Report(const SlowRequestInfo& info) {
  char elapsed[32];
  std::snprintf(elapsed, sizeof elapsed, "%.3f", info.elapsed_seconds);
  WriteLine("slow request: " + info.program + " pid " + (info.pid > 0 ? std::to_string(info.pid) : "-") +
            " (" + (info.mode.empty() ? "not started" : info.mode) + ") " + info.method + " " + info.uri +
            ": running for " + elapsed + " s");
  if (!gdb_.empty() && info.pid > 0) StartBacktrace(info.pid);
}

void SlowLog::StartBacktrace(int pid) {
  if (traces_.size() >= kMaxConcurrentTraces) {
    WriteLine("[pid " + std::to_string(pid) + "] backtrace skipped: " + std::to_string(traces_.size()) +
              " gdb runs in progress");
    return;
  }
  int out[2];
  if (pipe2(out, O_CLOEXEC) != 0) {
    WriteLine("[pid " + std::to_string(pid) +
              "] backtrace: " + Status::FromErrno("pipe2(2)", "gdb output", errno).message());
    return;
  }
  int devnull = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  SpawnSpec spec;
  spec.path = gdb_;
  spec.args = {"-nx", "-batch", "-p", std::to_string(pid), "-ex", "thread apply all bt"};
  spec.env = {"PATH=" + std::string(kDefaultPath), "LC_ALL=C"};
  spec.stdin_fd = devnull;
  spec.stdout_fd = out[1];
  spec.stderr_fd = out[1];
  auto trace = std::make_shared<Trace>(io_);
  trace->pid = pid;
  pid_t gdb_pid = -1;
  Status s = spawner_.Spawn(spec, &gdb_pid);
  ::close(out[1]);
  if (devnull >= 0) ::close(devnull);
  if (!s.ok()) {
    ::close(out[0]);
    WriteLine("[pid " + std::to_string(pid) + "] backtrace: " + s.message());
    return;
  }
  trace->out.assign(out[0]);
  traces_.push_back(trace);
  std::weak_ptr<Trace> weak = trace;
  s = trace->watcher.Watch(gdb_pid, [this, weak](int) {
    if (auto t = weak.lock()) {
      t->exited = true;
      t->timer.cancel();
      MaybeEndTrace(t);
    }
  });
  if (!s.ok()) {
    trace->watcher.SignalGroup(SIGKILL);
    trace->exited = true;
  }
  trace->timer.expires_after(kBacktraceTimeout);
  trace->timer.async_wait([weak](const boost::system::error_code& ec) {
    auto t = weak.lock();
    if (ec || !t || t->exited) return;
    t->timed_out = true;
    t->watcher.SignalGroup(SIGKILL);  // ptrace detaches when the tracer dies
  });
  ReadTrace(trace);
}

void SlowLog::ReadTrace(const std::shared_ptr<Trace>& trace) {
  std::weak_ptr<Trace> weak = trace;
  trace->out.async_read_some(
      boost::asio::buffer(trace->chunk), [this, weak](const boost::system::error_code& ec, size_t n) {
        auto t = weak.lock();
        if (!t) return;  // SlowLog is being destroyed
        if (ec) {
          t->eof = true;
          MaybeEndTrace(t);
          return;
        }
        if (t->text.size() < kMaxTraceBytes)
          t->text.append(t->chunk.data(), std::min(n, kMaxTraceBytes - t->text.size()));
        ReadTrace(t);
      });
}

void SlowLog::MaybeEndTrace(const std::shared_ptr<Trace>& t) {
  if (!t->eof || !t->exited || t->done) return;
  t->done = true;
  const std::string prefix = "[pid " + std::to_string(t->pid) + "] ";
  WriteLine(prefix + "backtrace (gdb" + (t->timed_out ? ", killed after the timeout" : "") + "):");
  size_t start = 0;
  while (start < t->text.size()) {
    size_t end = t->text.find('\n', start);
    if (end == std::string::npos) end = t->text.size();
    std::string_view line(t->text.data() + start, end - start);
    if (!line.empty()) WriteLine(prefix + std::string(line));
    start = end + 1;
  }
  traces_.remove(t);
}

}  // namespace fcgi
