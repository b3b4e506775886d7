#include "launcher/server.h"

#include <arpa/inet.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/post.hpp>
#include <cerrno>
#include <cstdlib>
#include <ctime>

#include "core/base_environment.h"
#include "core/persistent_patterns.h"
#include "launcher/front/connection.h"
#include "launcher/front/http_front.h"
#include "launcher/front/parent_watch.h"
#include "launcher/log/log.h"
#include "launcher/request/dispatcher_source.h"
#include "launcher/request/single_program_source.h"
#include "launcher/run/child_watcher.h"
#include "launcher/run/exec_runner.h"
#include "launcher/run/privileges.h"
#include "launcher/run/process_spawner.h"
#include "launcher/shim/fork_runner.h"
#include "launcher/shim/persistent_runner.h"

namespace fcgi {

namespace {

std::string DescribePeer(const boost::asio::generic::stream_protocol::socket& socket) {
  boost::system::error_code ec;
  auto ep = socket.remote_endpoint(ec);
  if (ec) return "unix";
  const sockaddr* sa = ep.data();
  char host[INET6_ADDRSTRLEN] = "?";
  if (sa->sa_family == AF_INET) {
    auto* in = reinterpret_cast<const sockaddr_in*>(sa);
    inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
    return std::string(host) + ":" + std::to_string(ntohs(in->sin_port));
  }
  if (sa->sa_family == AF_INET6) {
    auto* in6 = reinterpret_cast<const sockaddr_in6*>(sa);
    inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
    return "[" + std::string(host) + "]:" + std::to_string(ntohs(in6->sin6_port));
  }
  return "unix";
}

// How fork and persistent modes start `target` under libcompat.
ParkSpec ParkSpecFor(const ProgramTarget& target, const NameValuePairs& base_env, const Config& config) {
  ParkSpec park;
  park.program = target.path;
  park.args = target.args;
  park.cwd = target.cwd;
  park.env = EnvEntries(base_env);
  park.rlimits = target.rlimits;
  park.compat_library = FindCompatLibrary(config.compat_library);
  park.hello_timeout = std::chrono::milliseconds(static_cast<long>(config.park_timeout_seconds * 1000));
  return park;
}

}  // namespace

Server::Server(const Config& config)
    : config_(config),
      signals_(io_, SIGTERM, SIGINT, SIGQUIT),
      shutdown_timer_(io_),
      orphan_timer_(io_),
      slots_(config.EffectiveWorkers(), config.queue),
      spawner_(MakeProcessSpawner()),
      ctx_{.io = io_, .config = config_, .slots = slots_},
      heap_trim_(io_, [this] { return ctx_.counters.requests_active == 0; }) {
  signals_.add(SIGUSR1);
  signals_.add(SIGHUP);
  signals_.add(SIGCHLD);
  ctx_.limits.max_params_bytes = config.max_params_bytes;
  ctx_.limits.max_requests = config.max_requests_per_connection;
  ctx_.limits.max_reqs = static_cast<uint32_t>(config.EffectiveWorkers() + config.queue);
  ctx_.limits.max_conns = static_cast<uint32_t>(config.EffectiveWorkers() + config.queue);
  // Posted, so the check runs once the finishing request's handlers have
  // unwound (CgiRequest::Finish drops requests_active before calling back).
  ctx_.on_request_finished = [this]() {
    boost::asio::post(io_, [this]() {
      MaybeFinishShutdown();
      heap_trim_.RequestFinished();
    });
  };
}

Server::~Server() {
  RemoveSockets();
  if (!listeners_adopted_) {
    for (const ListeningSocket& ls : listening_) ::close(ls.fd);
  }
}

Status Server::ResolveProgram(ProgramTarget* target) {
  char resolved[PATH_MAX];
  if (realpath(config_.program.c_str(), resolved) == nullptr) {
    return Status::FromErrno("realpath(3)", config_.program, errno);
  }
  struct stat st;
  if (stat(resolved, &st) != 0) return Status::FromErrno("stat(2)", resolved, errno);
  if (!S_ISREG(st.st_mode)) return Status::Invalid(std::string(resolved) + ": not a regular file");
  if (access(resolved, X_OK) != 0) return Status::FromErrno("access(2) X_OK", resolved, errno);
  ProgramTarget& p = *target;
  p.path = resolved;
  p.args = config_.args;
  p.cwd = p.path.substr(0, p.path.rfind('/'));
  if (p.cwd.empty()) p.cwd = "/";
  p.display_name = p.path.substr(p.path.rfind('/') + 1);
  const std::pair<int, int64_t> limits[] = {{RLIMIT_CPU, config_.rlimit_cpu},
                                            {RLIMIT_AS, config_.rlimit_as},
                                            {RLIMIT_NOFILE, config_.rlimit_nofile},
                                            {RLIMIT_NPROC, config_.rlimit_nproc},
                                            {RLIMIT_CORE, config_.rlimit_core}};
  for (const auto& [resource, value] : limits) {
    if (value >= 0) p.rlimits.emplace_back(resource, static_cast<rlim_t>(value));
  }
  // --compile-per-request: the program, or a script given to it (perl /srv/app.pl).
  PersistentPatterns compile;
  if (PersistentPatterns::Parse(config_.compile_per_request, false, &compile, "--compile-per-request").ok()) {
    std::string pattern = compile.Match(p.path, "", "");
    for (size_t i = 0; pattern.empty() && i < p.args.size(); ++i) {
      if (!p.args[i].empty() && p.args[i][0] == '/' && realpath(p.args[i].c_str(), resolved) != nullptr) {
        pattern = compile.Match(resolved, "", "");
      }
    }
    p.compile_per_request = !pattern.empty();
    if (!pattern.empty()) LogDebug("--compile-per-request '" + pattern + "' selects " + p.path);
  }
  return Status::Ok();
}

std::unique_ptr<ProgramRunner> Server::MakeRunner(const ProgramTarget& target) {
  const std::string& mode = target.mode.empty() ? config_.mode : target.mode;  // --persistent (dispatcher)
  if (mode == "persistent") {
    PersistentRunnerOptions po;
    po.park = ParkSpecFor(target, ctx_.base_env, config_);
    po.workers = config_.EffectiveWorkers();
    po.limits.max_requests = config_.max_requests;
    po.limits.max_rss_kib = config_.max_rss_mib * 1024;
    po.max_failures = config_.park_retries;
    po.metrics = &ctx_.observability.metrics;
    po.park_scripts = !target.compile_per_request;  // a script is served in fork mode
    return MakePersistentRunner(io_, *spawner_, std::move(po));
  }
  if (mode != "fork") return MakeExecRunner(io_, *spawner_);
  ForkRunnerOptions fo;
  fo.park = ParkSpecFor(target, ctx_.base_env, config_);
  fo.max_failures = config_.park_retries;
  fo.metrics = &ctx_.observability.metrics;
  fo.park_scripts = !target.compile_per_request;
  return MakeForkRunner(io_, *spawner_, std::move(fo));
}

// --allow-from / FCGI_WEB_SERVER_ADDRS, then --user/--program-user/--allow-root.
Status Server::InitSecurity() {
  std::string list = config_.allow_from;
  const char* source = "--allow-from";
  if (list.empty()) {
    const char* env = std::getenv("FCGI_WEB_SERVER_ADDRS");
    if (env != nullptr && *env != '\0') list = env, source = "FCGI_WEB_SERVER_ADDRS";
  }
  if (!list.empty()) {
    Status s = AddressFilter::Parse(list, &peer_filter_);
    if (!s.ok()) return Status::Invalid(std::string(source) + ": " + s.message());
    filter_peers_ = true;
    LogInfo(std::string("TCP peers allowed (") + source + "): " + peer_filter_.ToString());
  }
  // Once fcgi-run is --user, unlink(2) in a directory like /run fails: a
  // process that keeps root removes the socket files at exit.
  const bool created = std::any_of(listening_.begin(), listening_.end(),
                                   [](const ListeningSocket& ls) { return !ls.created_path.empty(); });
  if (!config_.user.empty() && geteuid() == 0 && created) {
    Status started = SocketRemover::Start(listening_, &socket_remover_);
    if (!started.ok()) return started;
    LogInfo("pid " + std::to_string(socket_remover_->pid()) +
            " keeps root to remove the socket files at exit (" + "fcgi-run drops to --user " + config_.user +
            ")");
  }
  return ApplyPrivileges(config_, &spawner_);
}

void Server::RemoveSockets() {
  if (socket_remover_) socket_remover_->RemoveNow(&listening_);
  else RemoveSocketFiles(&listening_);
}

Status Server::InitDispatcher() {
  std::unique_ptr<FileSystem> fs = MakeRealFileSystem();
  ScriptPolicy policy;
  Status s = MakeScriptPolicy(config_, *fs, &policy);
  if (!s.ok()) return s;
  if (policy.roots.empty() && policy.programs.empty()) {
    LogWarning("dispatcher mode with --allow-any-path: any executable file a request names may run");
  }
  programs_ = MakeDispatcherSource(config_, std::move(policy), std::move(fs),
                                   [this](const ProgramTarget& target) { return MakeRunner(target); });
  return Status::Ok();
}

// A TCP peer outside the allow-list is closed at once (and logged).
bool Server::PeerAllowed(const ListeningSocket& ls, boost::asio::generic::stream_protocol::socket& socket) {
  if (!filter_peers_ || !ls.is_tcp) return true;
  boost::system::error_code ec;
  auto ep = socket.remote_endpoint(ec);
  if (!ec && peer_filter_.Allows(ep.data())) return true;
  LogWarning("refused connection from " + DescribePeer(socket) + " on " + ls.name + ": not in " +
             (config_.allow_from.empty() ? "FCGI_WEB_SERVER_ADDRS" : "--allow-from"));
  socket.close(ec);
  return false;
}

Status Server::Init() {
  ProgramTarget target;
  Status s = config_.dispatcher() ? Status::Ok() : ResolveProgram(&target);
  if (!s.ok()) return s;
  ctx_.base_env = BaseEnvironment(config_.env, std::getenv);
  // --http without --listen: HTTP only (fd 0 is not taken; systemd's sockets are, when it passes some).
  s = config_.http.empty() || !config_.listen.empty() || SystemdSocketCount() > 0
          ? OpenListeners(config_, &listening_)
          : Status::Ok();
  if (!s.ok()) return s;
  if (!config_.http.empty()) {  // the built-in HTTP front (http_front.h), bound before privileges drop
    http_ = std::make_unique<HttpFront>(ctx_);
    s = http_->Open(config_, target.path);
    if (!s.ok()) return s;
  }
  // --access-log, --slow-threshold: opened before privileges drop, like --log.
  ctx_.observability.started_unix = static_cast<int64_t>(std::time(nullptr));
  if (!config_.status_allow.empty()) {
    s = AddressFilter::Parse(config_.status_allow, &ctx_.observability.status_allow);
    if (!s.ok()) return Status::Invalid("--status-allow: " + s.message());
    ctx_.observability.status_allow_given = true;
  }
  if (!config_.access_log.empty()) {
    access_log_ = std::make_unique<AccessLog>();
    s = access_log_->Open(config_.access_log, config_.access_format);
    if (!s.ok()) return Status::Invalid("--access-log: " + s.message());
    ctx_.observability.access_log = access_log_.get();
  }
  if (config_.slow_threshold_seconds > 0) {
    slow_log_ = std::make_unique<SlowLog>(io_, *spawner_);
    s = slow_log_->Open(config_.slow_log, config_.slow_backtrace);
    if (!s.ok()) return Status::Invalid("--slow-log: " + s.message());
    ctx_.observability.slow_log = slow_log_.get();
  }
  s = InitSecurity();  // after binding: may drop privileges
  if (!s.ok()) return s;
  if (config_.dispatcher()) {
    s = InitDispatcher();
    if (!s.ok()) return s;
  } else {
    std::unique_ptr<ProgramRunner> runner = MakeRunner(target);
    programs_ = MakeSingleProgramSource(std::move(target), std::move(runner));
  }
  ctx_.programs = programs_.get();
  s = OpenAcceptors();
  if (!s.ok()) return s;
  // The spawning web server's "exit" pipe (h2o fastcgi.spawn: fd 5): its EOF stops as SIGTERM does.
  bool spawned = config_.listen.empty() && !listening_.empty() && listening_.front().name == "fd:0";
  parent_watch_ = std::make_unique<ParentWatch>(io_);
  return parent_watch_->Start(config_.parent_pipe_fd, spawned, [this](const std::string& what) {
    if (stopping_) return;
    LogNotice(what + ": stopping gracefully (" + std::to_string(ctx_.counters.requests_active) +
              " requests running)");
    BeginShutdown();
  });
}

Status Server::OpenAcceptors() {
  listeners_adopted_ = true;
  for (const ListeningSocket& ls : listening_) {
    auto a = std::make_unique<Acceptor>(io_, ls, "");
    Status s = a->Open(ls.name);
    if (!s.ok()) return s;
    acceptors_.push_back(std::move(a));
  }
  return Status::Ok();
}

void Server::StartAcceptors() {
  for (auto& a : acceptors_) {
    const std::string& file = a->socket().file;
    LogNotice("listening on " + a->socket().name + (file.empty() ? "" : " (" + file + ")") + " for " +
              (config_.dispatcher() ? "the programs requests name (dispatcher mode)" : config_.program) +
              " (mode " + config_.mode + ", " + std::to_string(slots_.capacity()) + " workers)");
    const ListeningSocket* ls = &a->socket();
    a->Start([this, ls](Acceptor::Socket socket) { OnAccept(*ls, std::move(socket)); });
  }
}

int Server::Run() {
  ::signal(SIGPIPE, SIG_IGN);
  BecomeSubreaper();
  StartAcceptors();
  if (http_) http_->Start();
  WaitForSignal();
  io_.run();
  RemoveSockets();
  LogNotice("stopped");
  return 0;
}

void Server::OnAccept(const ListeningSocket& ls, boost::asio::generic::stream_protocol::socket socket) {
  if (!PeerAllowed(ls, socket)) return;
  ++ctx_.counters.accepted_connections;
  // A unix socket's peer has no address worth a getpeername(2): name it by the listener.
  std::string peer = ls.is_tcp ? DescribePeer(socket) : ls.name;
  // Not make_shared: the connection list keeps a weak_ptr until its next
  // Add, and with make_shared that would keep the whole object (its 64 KiB
  // buffers) allocated after the connection closed (connection_list.h).
  auto conn = std::shared_ptr<Connection>(new Connection(ctx_, std::move(socket), std::move(peer)));
  connections_.Add(conn);
  conn->Start();
}

void Server::WaitForSignal() {
  signals_.async_wait([this](const boost::system::error_code& ec, int sig) {
    if (ec) return;
    if (sig == SIGCHLD) {
      // Every exit of a request's program raises SIGCHLD; orphans are rare.
      // Look for them at most every 200 ms (one /proc read), not per exit.
      if (!orphan_scan_pending_) {
        orphan_scan_pending_ = true;
        orphan_timer_.expires_after(std::chrono::milliseconds(200));
        orphan_timer_.async_wait([this](const boost::system::error_code& e) {
          orphan_scan_pending_ = false;
          if (!e) ReapOrphans();
        });
      }
    } else if (sig == SIGUSR1) {
      Status s = Log::Reopen();
      LogNotice(s.ok() ? "log reopened (SIGUSR1)" : "log reopen failed: " + s.message());
      for (Status r : {access_log_ ? access_log_->Reopen() : Status::Ok(),
                       slow_log_ ? slow_log_->Reopen() : Status::Ok()}) {
        if (!r.ok()) LogError("SIGUSR1: " + r.message());
      }
    } else if (sig == SIGHUP) {
      if (config_.mode == "exec" && config_.persistent.empty()) {
        LogInfo("SIGHUP: nothing to recycle in exec mode (every request starts the program afresh)");
      } else if (programs_) {
        programs_->Recycle("SIGHUP");
      }
    } else if (!stopping_) {
      LogNotice(std::string("received SIG") + sigabbrev_np(sig) + ": stopping gracefully (" +
                std::to_string(ctx_.counters.requests_active) + " requests running; again to stop at once)");
      BeginShutdown();
    } else {
      LogNotice(std::string("received SIG") + sigabbrev_np(sig) + " again: stopping now");
      AbortEverything("launcher stopping");
    }
    WaitForSignal();
  });
}

void Server::BeginShutdown() {
  stopping_ = true;
  for (auto& a : acceptors_) a->Stop();
  RemoveSockets();
  connections_.StopReading();
  if (http_) http_->StopAccepting();
  if (config_.shutdown_timeout_seconds > 0) {
    shutdown_timer_.expires_after(std::chrono::duration_cast<std::chrono::steady_clock::duration>(
        std::chrono::duration<double>(config_.shutdown_timeout_seconds)));
    shutdown_timer_.async_wait([this](const boost::system::error_code& ec) {
      if (!ec) {
        LogWarning("--shutdown-timeout reached: terminating " +
                   std::to_string(ctx_.counters.requests_active) + " running requests");
        AbortEverything("launcher stopping");
      }
    });
  }
  MaybeFinishShutdown();
}

void Server::AbortEverything(const char* why) {
  stopping_ = true;
  // Closing a connection aborts its requests (SIGTERM, then SIGKILL after --kill-grace).
  connections_.AbortAll(why);
  if (http_) http_->AbortAll(why);
  MaybeFinishShutdown();
}

void Server::MaybeFinishShutdown() {
  if (!stopping_ || ctx_.counters.requests_active > 0 || finishing_) return;
  finishing_ = true;
  // Only now: requests still queued at the signal need the parked program (fork mode).
  if (programs_) programs_->Shutdown();
  shutdown_timer_.cancel();
  orphan_timer_.cancel();
  signals_.cancel();
  // Let the last END_REQUEST records flush: stop once every connection has
  // closed, or after two seconds at most.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  auto poll = std::make_shared<std::function<void()>>();
  *poll = [this, deadline, poll]() {
    const bool any = connections_.Any() || (http_ && http_->HasConnections());
    if (!any || std::chrono::steady_clock::now() > deadline) {
      io_.stop();
      *poll = nullptr;
      return;
    }
    shutdown_timer_.expires_after(std::chrono::milliseconds(20));
    shutdown_timer_.async_wait([poll](const boost::system::error_code&) {
      if (*poll) (*poll)();
    });
  };
  (*poll)();
}

}  // namespace fcgi
