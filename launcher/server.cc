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
#include <ctime>

#include "core/base_environment.h"
#include "launcher/checks/config_check.h"
#include "launcher/front/connection.h"
#include "launcher/front/http_front.h"
#include "launcher/front/parent_watch.h"
#include "launcher/log/log.h"
#include "launcher/request/dispatcher_source.h"
#include "launcher/request/program_target.h"
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
  park.hello_timeout = std::chrono::duration_cast<std::chrono::milliseconds>(config.park_timeout);
  return park;
}

// Options a SIGHUP reload cannot apply: the listening sockets are bound,
// privileges may be dropped, the log destinations are open. Each keeps its
// running value (copied back into the new configuration) and is named in the log.
struct RestartOnly {
  const char* option;
  void (*keep)(const Config& running, Config* next);
};
const RestartOnly kRestartOnly[] = {
    {"listen", [](const Config& r, Config* n) { n->listen = r.listen; }},
    {"http", [](const Config& r, Config* n) { n->http = r.http; }},
    {"socket-mode", [](const Config& r, Config* n) { n->socket_mode = r.socket_mode; }},
    {"socket-owner", [](const Config& r, Config* n) { n->socket_owner = r.socket_owner; }},
    {"backlog", [](const Config& r, Config* n) { n->backlog = r.backlog; }},
    {"parent-pipe-fd", [](const Config& r, Config* n) { n->parent_pipe_fd = r.parent_pipe_fd; }},
    {"http-max-header",
     [](const Config& r, Config* n) { n->http_max_header_bytes = r.http_max_header_bytes; }},
    {"user", [](const Config& r, Config* n) { n->user = r.user; }},
    {"program-user", [](const Config& r, Config* n) { n->program_user = r.program_user; }},
    {"allow-root", [](const Config& r, Config* n) { n->allow_root = r.allow_root; }},
    {"allow-setid-programs",
     [](const Config& r, Config* n) { n->allow_setid_programs = r.allow_setid_programs; }},
    {"log", [](const Config& r, Config* n) { n->log_file = r.log_file; }},
    {"syslog", [](const Config& r, Config* n) { n->syslog = r.syslog; }},
    {"syslog-facility", [](const Config& r, Config* n) { n->syslog_facility = r.syslog_facility; }},
    {"syslog-socket", [](const Config& r, Config* n) { n->syslog_socket = r.syslog_socket; }},
    {"access-log", [](const Config& r, Config* n) { n->access_log = r.access_log; }},
    {"slow-log", [](const Config& r, Config* n) { n->slow_log = r.slow_log; }},
    {"slow-threshold", [](const Config& r, Config* n) { n->slow_threshold = r.slow_threshold; }},
    {"slow-backtrace", [](const Config& r, Config* n) { n->slow_backtrace = r.slow_backtrace; }},
};

// Options a reload applies without new program processes: requests read them
// through ServerContext::config, or Reload sets them where they live.
const char* const kAppliedLive[] = {
    "timeout",           "kill-grace", "shutdown-timeout", "max-body",     "max-params",    "max-header",
    "max-conn-requests", "buffer",     "body-spool",       "tmp-dir",      "queue",         "log-level",
    "verbose",           "stderr",     "status-path",      "ping-path",    "ping-response", "access-format",
    "allow-from",        "config",     "pass-env",         "status-allow",
};

// The options whose text differs between two parses ("command" = PROGRAM ARGS).
std::vector<std::string> ChangedOptions(const std::map<std::string, std::vector<std::string>>& before,
                                        const std::map<std::string, std::vector<std::string>>& after) {
  std::vector<std::string> changed;
  auto b = before.begin();
  auto a = after.begin();
  while (b != before.end() || a != after.end()) {
    if (a == after.end() || (b != before.end() && b->first < a->first)) {
      changed.push_back((b++)->first);
    } else if (b == before.end() || a->first < b->first) {
      changed.push_back((a++)->first);
    } else {
      if (a->second != b->second) changed.push_back(a->first);
      ++a, ++b;
    }
  }
  return changed;
}

std::string Join(const std::vector<std::string>& items, const char* separator) {
  std::string out;
  for (const std::string& i : items) out += (out.empty() ? "" : separator) + i;
  return out;
}

// "1 request", "2 requests".
std::string Requests(uint64_t n) { return std::to_string(n) + (n == 1 ? " request" : " requests"); }

}  // namespace

Server::Server(ParseResult start, ConfigReader reread)
    : config_(std::move(start.config)),
      reread_(std::move(reread)),
      given_(std::move(start.given)),
      signals_(io_, SIGTERM, SIGINT, SIGQUIT),
      shutdown_timer_(io_),
      orphan_timer_(io_),
      slots_(config_.EffectiveWorkers(), config_.queue),
      spawner_(MakeProcessSpawner()),
      ctx_{.io = io_, .config = config_, .slots = slots_},
      heap_trim_(io_, [this] { return ctx_.counters.requests_active == 0; }),
      retired_timer_(io_) {
  signals_.add(SIGUSR1);
  signals_.add(SIGHUP);
  signals_.add(SIGCHLD);
  ctx_.limits.max_params_bytes = config_.max_params_bytes;
  ctx_.limits.max_requests = config_.max_requests_per_connection;
  ctx_.limits.max_reqs = static_cast<uint32_t>(config_.EffectiveWorkers() + config_.queue);
  ctx_.limits.max_conns = static_cast<uint32_t>(config_.EffectiveWorkers() + config_.queue);
  // Posted, so the check runs once the finishing request's handlers have
  // unwound (CgiRequest::Finish drops requests_active before calling back).
  ctx_.on_request_finished = [this]() {
    boost::asio::post(io_, [this]() {
      SweepRetiredPrograms();
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

std::unique_ptr<ProgramRunner> Server::MakeRunner(const ProgramTarget& target) {
  const RunMode mode = target.mode.value_or(config_.mode);  // --persistent (dispatcher)
  if (mode == RunMode::kPersistent) {
    PersistentRunnerOptions po;
    po.park = ParkSpecFor(target, config_.env, config_);
    po.workers = config_.EffectiveWorkers();
    po.limits.max_requests = config_.max_requests;
    po.limits.max_rss_kib = config_.max_rss_mib * 1024;
    po.max_failures = config_.park_retries;
    po.metrics = &ctx_.observability.metrics;
    po.park_scripts = !target.compile_per_request;  // a script is served in fork mode
    return MakePersistentRunner(io_, *spawner_, std::move(po));
  }
  if (mode != RunMode::kFork) return MakeExecRunner(io_, *spawner_);
  ForkRunnerOptions fo;
  fo.park = ParkSpecFor(target, config_.env, config_);
  fo.max_failures = config_.park_retries;
  fo.metrics = &ctx_.observability.metrics;
  fo.park_scripts = !target.compile_per_request;
  return MakeForkRunner(io_, *spawner_, std::move(fo));
}

// --allow-from / FCGI_WEB_SERVER_ADDRS (logged), then --user/--program-user/--allow-root.
Status Server::InitSecurity() {
  if (config_.allowed_peers) {
    LogInfo("TCP peers allowed (" + config_.allowed_peers->source +
            "): " + config_.allowed_peers->filter.ToString());
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

Status Server::MakePrograms(const ProgramTarget& target, std::unique_ptr<ProgramSource>* out) {
  if (!config_.dispatcher()) {
    *out = MakeSingleProgramSource(target, MakeRunner(target));
    return Status::Ok();
  }
  std::unique_ptr<FileSystem> fs = MakeRealFileSystem();
  ScriptPolicy policy;
  Status s = MakeScriptPolicy(config_, *fs, &policy);
  if (!s.ok()) return s;
  if (policy.roots.empty() && policy.programs.empty()) {
    LogWarning("dispatcher mode with --allow-any-path: any executable file a request names may run");
  }
  *out = MakeDispatcherSource(config_, std::move(policy), std::move(fs),
                              [this](const ProgramTarget& t) { return MakeRunner(t); });
  return Status::Ok();
}

void Server::RemoveSockets() {
  if (socket_remover_) socket_remover_->RemoveNow(&listening_);
  else RemoveSocketFiles(&listening_);
}

// A TCP peer outside the allow-list is closed at once (and logged).
bool Server::PeerAllowed(const ListeningSocket& ls, boost::asio::generic::stream_protocol::socket& socket) {
  if (!config_.allowed_peers || !ls.is_tcp) return true;
  boost::system::error_code ec;
  auto ep = socket.remote_endpoint(ec);
  if (!ec && config_.allowed_peers->filter.Allows(ep.data())) return true;
  LogWarning("refused connection from " + DescribePeer(socket) + " on " + ls.name + ": not in " +
             config_.allowed_peers->source);
  socket.close(ec);
  return false;
}

Status Server::Init() {
  // What --check-config checks, all of it, before anything is bound (checks/config_check.h).
  ConfigCheckResult check = CheckConfig(config_);
  if (!check.errors.empty()) return Status::Invalid(Join(check.errors, "; "));
  ProgramTarget target;
  Status s = config_.dispatcher() ? Status::Ok() : ResolveProgramTarget(config_, &target);
  if (!s.ok()) return s;
  // --http without --listen: HTTP only (fd 0 is not taken; systemd's sockets are, when it passes some).
  s = config_.http.empty() || !config_.listen.empty() || config_.systemd_fds > 0
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
  if (!config_.access_log.empty()) {
    access_log_ = std::make_unique<AccessLog>();
    s = access_log_->Open(config_.access_log, config_.access_format);
    if (!s.ok()) return Status::Invalid("--access-log: " + s.message());
    ctx_.observability.access_log = access_log_.get();
  }
  if (config_.slow_threshold > Duration(0)) {
    slow_log_ = std::make_unique<SlowLog>(io_, *spawner_);
    s = slow_log_->Open(config_.slow_log, config_.slow_backtrace);
    if (!s.ok()) return Status::Invalid("--slow-log: " + s.message());
    ctx_.observability.slow_log = slow_log_.get();
  }
  s = InitSecurity();  // after binding: may drop privileges
  if (!s.ok()) return s;
  s = MakePrograms(target, &programs_);
  if (!s.ok()) return s;
  ctx_.programs = programs_.get();
  s = OpenAcceptors();
  if (!s.ok()) return s;
  // The spawning web server's "exit" pipe (h2o fastcgi.spawn: fd 5): its EOF stops as SIGTERM does.
  bool spawned = config_.listen.empty() && !listening_.empty() && listening_.front().name == "fd:0";
  parent_watch_ = std::make_unique<ParentWatch>(io_);
  return parent_watch_->Start(config_.parent_pipe_fd, spawned, [this](const std::string& what) {
    if (stopping_) return;
    LogNotice(what + ": stopping gracefully (" + Requests(ctx_.counters.requests_active) + " running)");
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
              (config_.dispatcher() ? "the programs that requests name (dispatcher mode)" : config_.program) +
              " (mode " + RunModeName(config_.mode) + ", " + std::to_string(slots_.capacity()) + " workers)");
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
      if (!stopping_) Reload();
    } else if (!stopping_) {
      LogNotice(std::string("received SIG") + sigabbrev_np(sig) + ": stopping gracefully (" +
                Requests(ctx_.counters.requests_active) + " running; again to stop at once)");
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
  if (config_.shutdown_timeout > Duration(0)) {
    shutdown_timer_.expires_after(config_.shutdown_timeout);
    shutdown_timer_.async_wait([this](const boost::system::error_code& ec) {
      if (!ec) {
        LogWarning("--shutdown-timeout reached: terminating " + Requests(ctx_.counters.requests_active) +
                   " still running");
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
  for (auto& retired : retired_programs_) retired->Shutdown();
  shutdown_timer_.cancel();
  orphan_timer_.cancel();
  retired_timer_.cancel();
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

void Server::Reload() {
  if (!reread_) {
    LogNotice("received SIGHUP: starting the programs afresh");
    programs_->Recycle("SIGHUP");
    return;
  }
  const std::string source = config_.config_file.empty() ? "the command line" : config_.config_file;
  LogNotice("received SIGHUP: re-reading " + source);
  ParseResult next = reread_();
  std::vector<std::string> errors = next.errors;
  if (next.outcome == ParseOutcome::kRun) {
    for (const RestartOnly& r : kRestartOnly) r.keep(config_, &next.config);
    if (next.config.dispatcher() != config_.dispatcher()) {
      errors.push_back("switching between a PROGRAM and dispatcher mode (--root) needs a restart");
    }
  } else if (errors.empty()) {
    errors.push_back("not a configuration to serve with (--help, --version)");
  }
  ProgramTarget target;
  if (errors.empty()) {
    if (next.config.dispatcher()) {
      CheckPrograms(next.config, &errors);
    } else if (Status s = ResolveProgramTarget(next.config, &target); !s.ok()) {
      errors.push_back(s.message());
    }
  }
  if (!errors.empty()) {
    LogError("SIGHUP: " + source + " not applied, keeping the running configuration: " + Join(errors, "; "));
    return;
  }
  std::vector<std::string> changed = ChangedOptions(given_, next.given);
  std::vector<std::string> restart, applied;
  bool new_programs = false;  // a change the running programs' processes do not see
  for (const std::string& option : changed) {
    auto is = [&option](const char* name) { return option == name; };
    if (std::any_of(std::begin(kRestartOnly), std::end(kRestartOnly),
                    [&](const RestartOnly& r) { return is(r.option); })) {
      restart.push_back(option);
      continue;
    }
    applied.push_back(option == "command" ? "PROGRAM" : option);
    if (std::none_of(std::begin(kAppliedLive), std::end(kAppliedLive), is)) new_programs = true;
  }
  config_ = std::move(next.config);
  // What runs is compared next time: a restart-only change is named again until a restart.
  for (const std::string& option : restart) {
    auto running = given_.find(option);
    if (running == given_.end()) next.given.erase(option);
    else next.given[option] = running->second;
  }
  given_ = std::move(next.given);
  for (const std::string& w : next.warnings) LogWarning(w);
  Log::SetLevel(config_.log_level);
  slots_.Resize(config_.EffectiveWorkers(), config_.queue);
  ctx_.limits.max_params_bytes = config_.max_params_bytes;
  ctx_.limits.max_requests = config_.max_requests_per_connection;
  ctx_.limits.max_reqs = static_cast<uint32_t>(config_.EffectiveWorkers() + config_.queue);
  ctx_.limits.max_conns = static_cast<uint32_t>(config_.EffectiveWorkers() + config_.queue);
  if (access_log_) access_log_->SetFormat(config_.access_format);
  if (http_) http_->Configure(config_, target.path);
  LogNotice("SIGHUP: " + source + " reloaded (" +
            (applied.empty() ? std::string("nothing to apply") : "changed: " + Join(applied, ", ")) +
            (restart.empty() ? "" : "; needs a restart to apply: " + Join(restart, ", ")) + ")");
  if (!new_programs) {  // as before reloads existed: start the long-lived processes afresh
    programs_->Recycle("SIGHUP");
    return;
  }
  std::unique_ptr<ProgramSource> fresh;
  if (Status s = MakePrograms(target, &fresh); !s.ok()) {  // checked above: a race with the file system
    LogError("SIGHUP: " + s.message() + "; the programs keep running as before");
    return;
  }
  LogInfo("SIGHUP: the programs start with the new configuration; those running finish first");
  retired_programs_.push_back(std::move(programs_));
  programs_ = std::move(fresh);
  ctx_.programs = programs_.get();
  SweepRetiredPrograms();
}

void Server::SweepRetiredPrograms() {
  std::erase_if(retired_programs_, [](const std::unique_ptr<ProgramSource>& p) {
    if (p->InUse()) return false;
    p->Shutdown();
    return true;
  });
  // A request lets go of its runner only after its last callback: look again shortly.
  if (retired_programs_.empty() || stopping_) return;
  retired_timer_.expires_after(std::chrono::seconds(1));
  retired_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (!ec) SweepRetiredPrograms();
  });
}

}  // namespace fcgi
