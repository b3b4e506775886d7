// Direct mode's worker loop: see direct_server.h.
#include "libcompat/direct_server.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "launcher/core/cgi_environment.h"
#include "launcher/core/cgi_response_parser.h"
#include "launcher/core/connection_state.h"
#include "launcher/core/fcgi_name_value.h"
#include "launcher/core/fcgi_record_writer.h"
#include "launcher/core/recycle_policy.h"
#include "launcher/core/wait_status.h"
#include "libcompat/control_protocol.h"
#include "libcompat/control_receive.h"
#include "libcompat/persistent_server.h"

namespace fcgi_compat {
namespace {

namespace proto = fcgi::compat;
using fcgi::NameValuePairs;
using fcgi::ProtocolStatus;
using fcgi::Role;

// fcgi::LogLevel's values (launcher/log.h), as LOG carries them.
constexpr uint32_t kLogInfo = 1;
constexpr uint32_t kLogWarning = 3;
constexpr uint32_t kLogError = 4;

constexpr size_t kChunkBytes = 256 * 1024;  // output read and sent per step
constexpr size_t kMaxConnections = 256;     // KEEP_CONN connections one worker keeps open
constexpr int kMaxEvents = 16;

// What a request gets when the worker dies in it (a crash, or the SIGTERM of
// --timeout): the launcher's 502 / 504, written by a signal handler that the
// worker installs for the signals the program leaves at their default
// (InstallWorkerSignalHandler). The replies are made at start-up for request
// id 0; the handler patches in the running request's id and writes them with
// write(2) only (async-signal-safe), then dies of the signal as it would have.
struct DeathReply {
  char bytes[4096];
  size_t length = 0;
};
constexpr int kDeathSignals[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGTERM};
DeathReply g_death_replies[NSIG];
volatile sig_atomic_t g_reply_fd = -1;  // the running request's connection, or -1
volatile sig_atomic_t g_reply_id = 0;
pid_t g_worker_pid = 0;

void OnDeathSignal(int sig) {
  const int saved_errno = errno;
  const int fd = g_reply_fd;
  // Not in a process the program forked: the connection is the worker's.
  if (fd >= 0 && getpid() == g_worker_pid && g_death_replies[sig].length > 0) {
    g_reply_fd = -1;
    DeathReply& r = g_death_replies[sig];
    const unsigned id = static_cast<unsigned>(g_reply_id);
    for (size_t at = 0; at + 8 <= r.length;) {  // every record header: the request id
      r.bytes[at + 2] = static_cast<char>(id >> 8);
      r.bytes[at + 3] = static_cast<char>(id & 0xff);
      const size_t content =
          (static_cast<unsigned char>(r.bytes[at + 4]) << 8) | static_cast<unsigned char>(r.bytes[at + 5]);
      at += 8 + content + static_cast<unsigned char>(r.bytes[at + 6]);
    }
    for (size_t done = 0; done < r.length;) {
      ssize_t n = write(fd, r.bytes + done, r.length - done);
      if (n > 0) {
        done += static_cast<size_t>(n);
      } else if (n < 0 && errno == EINTR) {
        continue;
      } else if (n < 0 && errno == EAGAIN) {
        pollfd p{fd, POLLOUT, 0};
        if (poll(&p, 1, 1000) <= 0) break;
      } else {
        break;
      }
    }
  }
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  sigaction(sig, &dfl, nullptr);
  raise(sig);  // pending until this handler returns, then fatal
  errno = saved_errno;
}

// Makes the replies (request id 0) and installs the handler.
void PrepareDeathReplies(const std::string& name) {
  for (int sig : kDeathSignals) {
    std::string body;
    int status = 502;
    if (sig == SIGTERM) {
      status = 504;
      body = "fcgi-run: " + name + " did not finish in time";
    } else {
      body = "fcgi-run: " + name + " ended without a valid response (" +
             fcgi::DescribeWaitStatus(W_EXITCODE(0, sig)) + ")";
    }
    std::string records;
    fcgi::AppendStreamData(&records, fcgi::RecordType::kStdout, 0,
                           fcgi::MakeCgiErrorResponse(status, fcgi::ReasonPhrase(status), body));
    fcgi::AppendStreamEnd(&records, fcgi::RecordType::kStdout, 0);
    fcgi::AppendEndRequest(&records, 0, 128u + static_cast<uint32_t>(sig), ProtocolStatus::kRequestComplete);
    if (records.size() > sizeof g_death_replies[sig].bytes)
      continue;  // a huge name: no reply, the web server's own
    memcpy(g_death_replies[sig].bytes, records.data(), records.size());
    g_death_replies[sig].length = records.size();
    InstallWorkerSignalHandler(sig, OnDeathSignal);
  }
}

struct Config {
  proto::DirectHeader header;
  NameValuePairs base;
  NameValuePairs overrides;
  std::string name;
};

// "NAME=VALUE\0..." -> pairs; false when an entry has no '='.
bool ParseEnvBlock(std::string_view block, NameValuePairs* out) {
  while (!block.empty()) {
    size_t end = block.find('\0');
    if (end == std::string_view::npos) return false;
    std::string_view entry = block.substr(0, end);
    size_t eq = entry.find('=');
    if (eq == std::string_view::npos || eq == 0) return false;
    out->emplace_back(std::string(entry.substr(0, eq)), std::string(entry.substr(eq + 1)));
    block.remove_prefix(end + 1);
  }
  return true;
}

class Server;

// One FastCGI connection the worker accepted. Requests on it are collected
// through the launcher's ConnectionState and run one at a time.
class DirectConnection : public fcgi::ConnectionEvents {
 public:
  DirectConnection(Server* server, int fd, const fcgi::ConnectionLimits& limits)
      : server_(server), fd_(fd), state_(this, limits) {}
  DirectConnection(const DirectConnection&) = delete;
  DirectConnection& operator=(const DirectConnection&) = delete;
  ~DirectConnection() override { close(fd_); }

  int fd() const { return fd_; }
  // Reads what the peer sent and serves every request that became complete.
  // False when the connection is over (closed by either side or broken).
  bool ServeReadable();

  void OnRequestReady(uint16_t id, Role role, bool keep_conn, NameValuePairs params) override;
  void OnStdin(uint16_t id, std::string_view data) override;
  void OnStdinEnd(uint16_t id) override;
  void OnData(uint16_t, std::string_view) override {}
  void OnDataEnd(uint16_t) override {}
  void OnAbort(uint16_t id) override;

 private:
  struct Pending {
    bool active = false;
    uint16_t id = 0;
    Role role = Role::kResponder;
    bool stdin_done = false;
    bool body_too_big = false;
    uint64_t body_bytes = 0;
    NameValuePairs params;
    std::string what;  // "GET /uri (name)" for log lines
  };

  bool Runnable() const {
    return pending_.active && (pending_.stdin_done || pending_.role == Role::kAuthorizer);
  }
  void RunPending();
  // Ends the pending request with a CGI error response the worker made.
  void Refuse(int status, const std::string& log_cause, const std::string& body);
  bool Flush();
  bool WaitFor(short events);

  Server* server_;
  int fd_;
  fcgi::ConnectionState state_;
  Pending pending_;
  std::string out_;
};

class Server {
 public:
  Server(const DirectStart& start, Config config, proto::DirectSlot* slot, std::vector<int> listeners)
      : start_(start),
        config_(std::move(config)),
        slot_(slot),
        listeners_(std::move(listeners)),
        policy_(fcgi::RecycleLimits{config_.header.max_requests, config_.header.max_rss_kib,
                                    config_.header.fd_growth_requests, config_.header.max_extra_fds}) {
    limits_.max_params_bytes = config_.header.max_params_bytes;
    limits_.max_requests = 1;  // one request at a time per connection
    limits_.max_conns = static_cast<uint32_t>(kMaxConnections);
    limits_.max_reqs = 1;
  }

  [[noreturn]] void Run();

  const Config& config() const { return config_; }
  int devnull() const { return start_.devnull; }
  int read_timeout_ms() const {
    return config_.header.read_timeout_ms == 0 ? -1 : static_cast<int>(config_.header.read_timeout_ms);
  }
  // Runs main() for one request whose stdin is in stdin_mem_ (body_bytes) and
  // environment in `env`; sends the response through `conn`'s callbacks.
  int RunMain(const fcgi::CgiEnvironment& env, uint64_t body_bytes, int conn_fd, uint16_t request_id,
              proto::ReportMessage* report, bool* children_left);
  int stdin_mem() const { return stdin_mem_; }
  // Empties the stdin memfd for the next body (only if the last one left bytes).
  bool ClearStdin() {
    if (stdin_written_ == 0) return true;
    stdin_written_ = 0;
    return ftruncate(stdin_mem_, 0) == 0;
  }
  // The buffer output is read into (kChunkBytes, reused by every request).
  std::string& chunk() { return chunk_; }
  // How much the request wrote to stdout / stderr (0: nothing to clear next time).
  void NoteOutput(uint64_t bytes) { out_written_ = bytes; }
  void NoteStderr(uint64_t bytes) { err_written_ = bytes; }
  int out_mem() const { return out_mem_; }
  int err_mem() const { return err_mem_; }
  // After a request: replaces the memfds when a process of the request may
  // still hold them, and applies the recycle policy.
  void AfterRequest(const proto::ReportMessage& report, bool children_left);
  void Log(uint32_t level, std::string_view text);

 private:
  bool Setup();
  void Accept(int listener);
  void Serve(int fd);
  void Close(int fd);
  void HandleControl();
  [[noreturn]] void Retire();
  [[noreturn]] void Bye();
  bool MakeMemfds();

  DirectStart start_;
  Config config_;
  proto::DirectSlot* slot_;
  std::vector<int> listeners_;
  fcgi::RecyclePolicy policy_;
  fcgi::ConnectionLimits limits_;
  int epoll_fd_ = -1;
  int stdin_mem_ = -1, out_mem_ = -1, err_mem_ = -1;
  std::unordered_map<int, std::unique_ptr<DirectConnection>> connections_;
  std::unordered_set<int> watched_;  // connections in the epoll set
  std::string env_block_;
  std::string retire_reason_;
  uint32_t baseline_fds_ = 0;
  std::string chunk_ = std::string(kChunkBytes, '\0');
  // Unknown at first (and after new memfds): cleared before the first request.
  uint64_t out_written_ = 1, err_written_ = 1;
  uint64_t stdin_written_ = 0;  // after Setup: the worker's own fds, none of the program's
};

// ---- the connection ----

bool DirectConnection::WaitFor(short events) {
  pollfd p{fd_, events, 0};
  for (;;) {
    int n = poll(&p, 1, server_->read_timeout_ms());
    if (n > 0) return true;
    if (n == 0) return false;  // timed out
    if (errno != EINTR) return false;
  }
}

bool DirectConnection::Flush() {
  size_t done = 0;
  while (done < out_.size()) {
    ssize_t n = send(fd_, out_.data() + done, out_.size() - done, MSG_NOSIGNAL);
    if (n > 0) {
      done += static_cast<size_t>(n);
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      if (!WaitFor(POLLOUT)) return false;
    } else {
      return false;
    }
  }
  out_.clear();
  return true;
}

bool DirectConnection::ServeReadable() {
  char buffer[64 * 1024];
  for (;;) {
    ssize_t n = read(fd_, buffer, sizeof buffer);
    if (n == 0) return false;
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) return false;
      // Nothing more now: done unless a request is half received.
      if (state_.active_requests() == 0 && state_.AtRecordBoundary()) return true;
      if (!WaitFor(POLLIN)) {
        server_->Log(kLogWarning, "direct mode: a FastCGI connection sent nothing for " +
                                      std::to_string(server_->read_timeout_ms()) +
                                      " ms in the middle of a request; closing it");
        return false;
      }
      continue;
    }
    fcgi::Status s = state_.Feed(std::string_view(buffer, static_cast<size_t>(n)), &out_);
    if (!s.ok()) {
      server_->Log(kLogWarning,
                   "direct mode: FastCGI protocol error: " + s.message() + "; closing the connection");
      Flush();
      return false;
    }
    if (Runnable()) RunPending();
    if (!out_.empty() && !Flush()) return false;
    if (state_.ShouldClose()) return false;
  }
}

void DirectConnection::OnRequestReady(uint16_t id, Role role, bool, NameValuePairs params) {
  pending_ = Pending{};
  const std::string* method = fcgi::FindParam(params, "REQUEST_METHOD");
  const std::string* uri = fcgi::FindParam(params, "REQUEST_URI");
  if (uri == nullptr) uri = fcgi::FindParam(params, "SCRIPT_NAME");
  pending_.what = (method != nullptr ? *method : std::string("?")) + " " +
                  (uri != nullptr ? *uri : std::string("?")) + " (" + server_->config().name + ")";
  pending_.active = true;
  pending_.id = id;
  pending_.role = role;
  if (role == Role::kFilter) {
    pending_.active = false;
    state_.EndRequest(id, 0, ProtocolStatus::kUnknownRole, &out_);
    server_->Log(kLogWarning, pending_.what + ": the FILTER role is not served in direct mode");
    return;
  }
  std::optional<uint64_t> content_length;
  fcgi::Status s = fcgi::ParseContentLength(params, &content_length);
  if (!s.ok()) return Refuse(400, s.message(), "fcgi-run: invalid CONTENT_LENGTH");
  const uint64_t max_body = server_->config().header.max_body_bytes;
  if (max_body > 0 && content_length && *content_length > max_body) {
    return Refuse(413, "request body of " + std::to_string(*content_length) + " bytes exceeds --max-body",
                  "fcgi-run: request body too large");
  }
  pending_.params = std::move(params);
  if (!server_->ClearStdin()) pending_.body_too_big = true;
}

void DirectConnection::OnStdin(uint16_t id, std::string_view data) {
  if (!pending_.active || id != pending_.id || pending_.body_too_big) return;
  const uint64_t max_body = server_->config().header.max_body_bytes;
  if (max_body > 0 && pending_.body_bytes + data.size() > max_body) {
    pending_.body_too_big = true;  // answered 413 once the body ended
    return;
  }
  while (!data.empty()) {
    ssize_t n =
        pwrite(server_->stdin_mem(), data.data(), data.size(), static_cast<off_t>(pending_.body_bytes));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      pending_.body_too_big = true;  // out of memory for the body: 413 as well
      return;
    }
    pending_.body_bytes += static_cast<uint64_t>(n);
    data.remove_prefix(static_cast<size_t>(n));
  }
}

void DirectConnection::OnStdinEnd(uint16_t id) {
  if (pending_.active && id == pending_.id) pending_.stdin_done = true;
}

void DirectConnection::OnAbort(uint16_t id) {
  if (!pending_.active || id != pending_.id) return;
  pending_.active = false;  // main() has not run for it: nothing to stop
  state_.EndRequest(id, 0, ProtocolStatus::kRequestComplete, &out_);
}

void DirectConnection::Refuse(int status, const std::string& log_cause, const std::string& body) {
  server_->Log(kLogWarning, pending_.what + ": " + log_cause);
  state_.AppendStdout(pending_.id, fcgi::MakeCgiErrorResponse(status, fcgi::ReasonPhrase(status), body),
                      &out_);
  state_.EndRequest(pending_.id, 0, ProtocolStatus::kRequestComplete, &out_);
  pending_.active = false;
}

void DirectConnection::RunPending() {
  Pending p = std::move(pending_);
  pending_ = Pending{};
  if (p.body_too_big) {
    pending_ = std::move(p);
    pending_.active = true;
    return Refuse(413, "request body exceeds --max-body", "fcgi-run: request body too large");
  }
  std::vector<fcgi::DroppedParam> dropped;
  fcgi::CgiEnvironment env = fcgi::BuildRequestEnvironment(std::move(p.params), server_->config().overrides,
                                                           server_->config().base, {}, p.role, &dropped);
  proto::ReportMessage report{};
  bool children_left = false;
  const uint64_t body = p.role == Role::kAuthorizer ? 0 : p.body_bytes;
  int wait_status = server_->RunMain(env, body, fd_, p.id, &report, &children_left);
  const std::string& name = server_->config().name;
  if (wait_status < 0) {
    pending_ = std::move(p);
    pending_.active = true;
    Refuse(500, std::string("cannot pass the environment to the program: ") + strerror(errno),
           "fcgi-run: cannot start the program");
    server_->AfterRequest(report, children_left);
    return;
  }
  // The response: the header block checked and normalised as the launcher
  // does, then the body as it is.
  fcgi::CgiResponseParser parser(server_->config().header.max_header_bytes);
  std::string& chunk = server_->chunk();
  off_t offset = 0;
  bool failed = false;
  for (;;) {
    ssize_t n = pread(server_->out_mem(), chunk.data(), chunk.size(), offset);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    offset += n;
    const bool last = static_cast<size_t>(n) < chunk.size();  // a short read of a regular file: its end
    std::string_view data(chunk.data(), static_cast<size_t>(n));
    if (parser.headers_done()) {
      state_.AppendStdout(p.id, data, &out_);
    } else {
      std::string to_client;
      if (parser.Feed(data, &to_client) == fcgi::CgiResponseParser::State::kError) {
        server_->Log(kLogWarning, p.what + ": invalid response: " + parser.error());
        state_.AppendStdout(
            p.id,
            fcgi::MakeCgiErrorResponse(502, fcgi::ReasonPhrase(502),
                                       "fcgi-run: " + name + " sent an invalid response: " + parser.error()),
            &out_);
        failed = true;
        break;
      }
      if (!to_client.empty()) state_.AppendStdout(p.id, to_client, &out_);
    }
    if (out_.size() >= kChunkBytes && !Flush()) break;
    if (last) break;
  }
  server_->NoteOutput(static_cast<uint64_t>(offset));
  if (!failed && !parser.headers_done()) {
    std::string cause;
    if (parser.Finish() == fcgi::CgiResponseParser::State::kError) cause = parser.error();
    const std::string how = fcgi::DescribeWaitStatus(wait_status);
    server_->Log(kLogWarning, p.what + ": no valid response (" + cause + "; " + how + ")");
    state_.AppendStdout(p.id,
                        fcgi::MakeCgiErrorResponse(502, fcgi::ReasonPhrase(502),
                                                   "fcgi-run: " + name + " ended without a valid response (" +
                                                       cause + "; " + how + ")"),
                        &out_);
  }
  // What the program wrote to stderr, where --stderr says.
  const uint32_t flags = server_->config().header.flags;
  struct stat st;
  if (fstat(server_->err_mem(), &st) == 0) server_->NoteStderr(static_cast<uint64_t>(st.st_size));
  if ((flags & (proto::kDirectStderrToClient | proto::kDirectStderrToLog)) != 0 && st.st_size > 0) {
    std::string text(static_cast<size_t>(st.st_size), '\0');
    ssize_t n = pread(server_->err_mem(), text.data(), text.size(), 0);
    text.resize(n > 0 ? static_cast<size_t>(n) : 0);
    if ((flags & proto::kDirectStderrToClient) != 0) state_.AppendStderr(p.id, text, &out_);
    if ((flags & proto::kDirectStderrToLog) != 0) {
      while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
      if (!text.empty()) server_->Log(kLogWarning, name + " stderr: " + text);
    }
  }
  state_.EndRequest(p.id, fcgi::AppStatusFromWaitStatus(wait_status), ProtocolStatus::kRequestComplete,
                    &out_);
  server_->AfterRequest(report, children_left);
}

// ---- the server ----

int Server::RunMain(const fcgi::CgiEnvironment& env, uint64_t body_bytes, int conn_fd, uint16_t request_id,
                    proto::ReportMessage* report, bool* children_left) {
  env_block_.clear();
  for (const std::string& entry : env.entries) {
    env_block_ += entry;
    env_block_ += '\0';
  }
  if (body_bytes > 0) {
    stdin_written_ = body_bytes;
    lseek(stdin_mem_, 0, SEEK_SET);
    dup2(stdin_mem_, 0);
  } else {
    dup2(start_.devnull, 0);
  }
  // The previous request's output is gone (sent); the pages are freed here.
  if (out_written_ != 0) {
    ftruncate(out_mem_, 0);
    lseek(out_mem_, 0, SEEK_SET);
  }
  if (err_written_ != 0) {
    ftruncate(err_mem_, 0);
    lseek(err_mem_, 0, SEEK_SET);
  }
  out_written_ = err_written_ = 1;  // until the response was read
  dup2(out_mem_, 1);
  dup2(err_mem_, 2);
  timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  __atomic_store_n(&slot_->conn_fd, conn_fd, __ATOMIC_RELAXED);
  __atomic_store_n(&slot_->started_ns,
                   static_cast<uint64_t>(now.tv_sec) * 1000000000u + static_cast<uint64_t>(now.tv_nsec),
                   __ATOMIC_RELEASE);
  report->type = proto::kReport;
  g_reply_id = request_id;
  g_reply_fd = conn_fd;
  int wait_status =
      RunDirectRequest(env_block_.data(), static_cast<uint32_t>(env_block_.size()), report, children_left);
  g_reply_fd = -1;
  __atomic_store_n(&slot_->started_ns, 0, __ATOMIC_RELEASE);
  __atomic_store_n(&slot_->conn_fd, -1, __ATOMIC_RELAXED);
  __atomic_add_fetch(&slot_->requests, 1, __ATOMIC_RELAXED);
  return wait_status;
}

void Server::AfterRequest(const proto::ReportMessage& report, bool children_left) {
  // fds 0-2 stay on the memfds until the next request sets them.
  if (children_left) {
    // A process the request started may hold the memfds and write later:
    // the next request gets new ones (the old ones live on in that process).
    close(stdin_mem_);
    close(out_mem_);
    close(err_mem_);
    dup2(start_.devnull, 0);
    dup2(start_.devnull, 1);
    dup2(start_.devnull, 2);
    out_written_ = err_written_ = 1;
    stdin_written_ = 0;
    if (!MakeMemfds()) {
      retire_reason_ = std::string("cannot make new memfds: ") + strerror(errno);
      return;
    }
  }
  if (report.requests == 0) return;  // main() did not run
  fcgi::RequestAftermath a;
  a.exit_intercepted = (report.flags & proto::kReportExitIntercepted) != 0;
  a.links_libstdcxx = start_.links_libstdcxx;
  a.threads = report.threads;
  // The connections this worker keeps open are not the program's.
  const uint32_t kept = static_cast<uint32_t>(connections_.size());
  a.open_fds = report.open_fds > kept ? report.open_fds - kept : 0;
  a.baseline_fds = baseline_fds_;
  a.rss_kib = report.rss_kib;
  a.requests = report.requests;
  std::string reason = policy_.AfterRequest(a);
  if (!reason.empty() && retire_reason_.empty()) retire_reason_ = std::move(reason);
}

void Server::Log(uint32_t level, std::string_view text) {
  if (text.size() > proto::kMaxLogBytes) text = text.substr(0, proto::kMaxLogBytes);
  proto::LogMessageHeader h{proto::kLog, level, static_cast<uint32_t>(text.size()), 0};
  iovec iov[2] = {{&h, sizeof h}, {const_cast<char*>(text.data()), text.size()}};
  msghdr m{};
  m.msg_iov = iov;
  m.msg_iovlen = 2;
  while (sendmsg(start_.control_fd, &m, MSG_NOSIGNAL) < 0) {
    if (errno != EINTR) _exit(0);  // the launcher is gone
  }
}

bool Server::MakeMemfds() {
  stdin_mem_ = memfd_create("fcgi-run-stdin", MFD_CLOEXEC);
  out_mem_ = memfd_create("fcgi-run-stdout", MFD_CLOEXEC);
  err_mem_ = memfd_create("fcgi-run-stderr", MFD_CLOEXEC);
  return stdin_mem_ >= 0 && out_mem_ >= 0 && err_mem_ >= 0;
}

bool Server::Setup() {
  if (!MakeMemfds()) return false;
  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  if (epoll_fd_ < 0) return false;
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = start_.control_fd;
  if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, start_.control_fd, &ev) != 0) return false;
  for (int l : listeners_) {
    int fl = fcntl(l, F_GETFL);
    if (fl < 0 || fcntl(l, F_SETFL, fl | O_NONBLOCK) != 0) return false;
    ev.events = EPOLLIN | EPOLLEXCLUSIVE;  // one idle worker per new connection
    ev.data.fd = l;
    if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, l, &ev) != 0) return false;
  }
  return true;
}

void Server::Close(int fd) {
  if (watched_.erase(fd) != 0) epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
  connections_.erase(fd);  // closes it
}

// A connection joins the epoll set only when it outlives its first serving
// (KEEP_CONN, or a request still arriving): the usual one-request connection
// costs no epoll_ctl(2) at all.
void Server::Serve(int fd) {
  auto it = connections_.find(fd);
  if (it == connections_.end()) return;  // closed earlier in this batch
  if (!it->second->ServeReadable()) {
    Close(fd);
  } else if (watched_.count(fd) == 0) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = fd;
    if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) == 0) {
      watched_.insert(fd);
    } else {
      Close(fd);
    }
  }
  if (!retire_reason_.empty()) Retire();
}

void Server::Accept(int listener) {
  int fd = accept4(listener, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
  if (fd < 0) return;  // another worker took it, or the peer left
  if (connections_.size() >= kMaxConnections) {
    close(fd);
    Log(kLogWarning, "direct mode: more than " + std::to_string(kMaxConnections) +
                         " connections open in one worker; closing a new one");
    return;
  }
  connections_.emplace(fd, std::make_unique<DirectConnection>(this, fd, limits_));
  Serve(fd);  // the request is usually there already
}

void Server::HandleControl() {
  alignas(8) unsigned char buffer[256];
  ReceivedMessage m;
  ssize_t n = ReceiveControlMessage(start_.control_fd, buffer, sizeof buffer, MSG_DONTWAIT, &m);
  if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)) return;
  if (n <= 0) _exit(0);  // EOF: the launcher is gone
  for (int i = 0; i < m.nfds; ++i) close(m.fds[i]);
  if (m.type == proto::kShutdown) Bye();
  // Anything else is not for a direct worker: ignored.
}

void Server::Bye() {
  proto::ByeMessage bye{proto::kBye, static_cast<uint32_t>(start_.pid)};
  send(start_.control_fd, &bye, sizeof bye, MSG_NOSIGNAL);
  _exit(0);
}

void Server::Retire() {
  const std::string& reason = retire_reason_;
  proto::RetireMessageHeader h{proto::kRetire, static_cast<uint32_t>(reason.size()),
                               __atomic_load_n(&slot_->requests, __ATOMIC_RELAXED)};
  iovec iov[2] = {{&h, sizeof h}, {const_cast<char*>(reason.data()), reason.size()}};
  msghdr m{};
  m.msg_iov = iov;
  m.msg_iovlen = 2;
  while (sendmsg(start_.control_fd, &m, MSG_NOSIGNAL) < 0 && errno == EINTR) {
  }
  Bye();
}

void Server::Run() {
  g_worker_pid = start_.pid;
  PrepareDeathReplies(config_.name);
  if (!Setup()) {
    Log(kLogError, std::string("direct mode: cannot set up the worker: ") + strerror(errno));
    _exit(1);
  }
  const int fds = PersistentOpenFds();
  baseline_fds_ = fds > 0 ? static_cast<uint32_t>(fds) : 0;
  epoll_event events[kMaxEvents];
  for (;;) {
    int n = epoll_wait(epoll_fd_, events, kMaxEvents, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      Log(kLogError, std::string("direct mode: epoll_wait(2): ") + strerror(errno));
      _exit(1);
    }
    // The control socket first: SHUTDOWN wins over new connections.
    for (int i = 0; i < n; ++i) {
      if (events[i].data.fd == start_.control_fd) HandleControl();
    }
    for (int i = 0; i < n; ++i) {
      const int fd = events[i].data.fd;
      if (fd == start_.control_fd) continue;
      bool listener = false;
      for (int l : listeners_) listener = listener || l == fd;
      if (listener) {
        Accept(fd);
      } else {
        Serve(fd);
      }
    }
  }
}

// Parses and checks DIRECT; the reason in *why when it is malformed.
bool ParseDirect(const DirectStart& s, Config* config, std::string* why) {
  if (s.truncated || s.length < sizeof(proto::DirectHeader)) {
    *why = "truncated";
    return false;
  }
  memcpy(&config->header, s.message, sizeof config->header);
  const proto::DirectHeader& h = config->header;
  if (h.listener_count < 1 || h.listener_count > proto::kMaxDirectListeners) {
    *why = "listener count " + std::to_string(h.listener_count);
    return false;
  }
  if (s.nfds != static_cast<int>(h.listener_count) + 1) {
    *why = "expected " + std::to_string(h.listener_count + 1) + " fds, got " + std::to_string(s.nfds);
    return false;
  }
  if (sizeof h + static_cast<uint64_t>(h.env_bytes) + h.overrides_bytes + h.name_bytes != s.length) {
    *why = "sizes do not add up";
    return false;
  }
  const char* p = reinterpret_cast<const char*>(s.message) + sizeof h;
  if (!ParseEnvBlock(std::string_view(p, h.env_bytes), &config->base) ||
      !ParseEnvBlock(std::string_view(p + h.env_bytes, h.overrides_bytes), &config->overrides)) {
    *why = "malformed environment block";
    return false;
  }
  config->name.assign(p + h.env_bytes + h.overrides_bytes, h.name_bytes);
  return true;
}

}  // namespace

void RunDirectServer(const DirectStart& start) {
  Config config;
  std::string why;
  proto::DirectSlot* slot = nullptr;
  if (ParseDirect(start, &config, &why)) {
    void* memory = mmap(nullptr, sizeof(proto::DirectSlot), PROT_READ | PROT_WRITE, MAP_SHARED,
                        start.fds[start.nfds - 1], 0);
    if (memory == MAP_FAILED) {
      why = std::string("mmap(2) of the slot: ") + strerror(errno);
    } else {
      slot = static_cast<proto::DirectSlot*>(memory);
    }
    close(start.fds[start.nfds - 1]);
  }
  if (slot == nullptr) {
    for (int i = 0; i < start.nfds; ++i) close(start.fds[i]);
    std::string text = "direct mode: invalid DIRECT message (" + why + ")";
    proto::LogMessageHeader h{proto::kLog, kLogError, static_cast<uint32_t>(text.size()), 0};
    iovec iov[2] = {{&h, sizeof h}, {text.data(), text.size()}};
    msghdr m{};
    m.msg_iov = iov;
    m.msg_iovlen = 2;
    sendmsg(start.control_fd, &m, MSG_NOSIGNAL);
    _exit(1);
  }
  __atomic_store_n(&slot->started_ns, 0, __ATOMIC_RELAXED);
  __atomic_store_n(&slot->conn_fd, -1, __ATOMIC_RELAXED);
  std::vector<int> listeners(start.fds, start.fds + start.nfds - 1);
  // Static: the worker never returns from Run, and the process ends with _exit.
  static Server* server = new Server(start, std::move(config), slot, std::move(listeners));
  server->Run();
}

}  // namespace fcgi_compat
