// Server: the fcgi-run process. Owns the reactor (one io_context, one thread),
// the listening sockets and their accept loops, the worker slots, the spawner
// and the signal handling; creates a Connection per accepted socket.
//
// Signals: SIGTERM/SIGINT/SIGQUIT stop gracefully (stop accepting, let running
// requests finish for --shutdown-timeout, then terminate them, remove the unix
// socket files, exit 0); a second one stops at once. SIGUSR1 reopens the log.
// SIGHUP re-reads the configuration (Reload) and starts the programs afresh.
// SIGPIPE is ignored in the launcher (programs get the default disposition).
//
// Reload (SIGHUP): the same arguments and environment are parsed again
// (the config file is what changes). A configuration that does not parse, or
// whose PROGRAM / --root no longer checks out, is logged as an error and the
// running one is kept. Otherwise what can change without a restart applies to
// the requests that follow: the programs, their environment, limits and mode,
// --workers and --queue, timeouts, sizes, the log level, the status page and
// access-log format, --allow-from. A new ProgramSource takes over; the old one
// is shut down once no request holds its runners. Options that need a restart
// (listening sockets, users, log destinations: kRestartOnly in server.cc)
// keep their running values and are named in the log.
#ifndef FCGI_RUN_LAUNCHER_SERVER_H_
#define FCGI_RUN_LAUNCHER_SERVER_H_

#include <boost/asio/generic/stream_protocol.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/status.h"
#include "core/worker_slots.h"
#include "launcher/config/options.h"
#include "launcher/front/acceptor.h"
#include "launcher/front/connection_list.h"
#include "launcher/front/http_front.h"
#include "launcher/front/listener.h"
#include "launcher/front/socket_remover.h"
#include "launcher/heap_trim.h"
#include "launcher/request/access_log.h"
#include "launcher/request/program_source.h"
#include "launcher/request/server_context.h"
#include "launcher/request/slow_log.h"
#include "launcher/run/spawner.h"

namespace fcgi {

class Connection;
class ParentWatch;

// Parses the configuration again for a SIGHUP reload (main.cc: ParseConfig
// with the arguments and environment of the start).
using ConfigReader = std::function<ParseResult()>;

class Server {
 public:
  // `start.config` is the running configuration from now on (the Server owns
  // it); `reread` gives the next one on SIGHUP (null: SIGHUP only starts the
  // programs afresh).
  Server(ParseResult start, ConfigReader reread);
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;
  ~Server();

  // Resolves the program, opens the listeners. Errors are fatal start-up errors.
  Status Init();
  // Serves until stopped; returns the process exit code.
  int Run();

 private:
  std::unique_ptr<ProgramRunner> MakeRunner(const ProgramTarget& target);
  Status InitSecurity();
  // The ProgramSource of config_: single program (`target`) or dispatcher.
  Status MakePrograms(const ProgramTarget& target, std::unique_ptr<ProgramSource>* out);
  // SIGHUP.
  void Reload();
  // Shuts down and drops the replaced sources no request holds any more.
  void SweepRetiredPrograms();
  // Accept loops on listening_ (which they then own); StartAcceptors logs and starts them.
  Status OpenAcceptors();
  void StartAcceptors();
  bool PeerAllowed(const ListeningSocket& ls, boost::asio::generic::stream_protocol::socket& socket);
  // A connection accepted on `ls`.
  void OnAccept(const ListeningSocket& ls, boost::asio::generic::stream_protocol::socket socket);
  void WaitForSignal();
  void BeginShutdown();
  void AbortEverything(const char* why);
  void MaybeFinishShutdown();
  // Removes the unix socket files fcgi-run created (through socket_remover_
  // once privileges were dropped); logs each. Idempotent.
  void RemoveSockets();

  Config config_;  // the running configuration (ctx_.config refers to it)
  ConfigReader reread_;
  std::map<std::string, std::vector<std::string>> given_;  // the options as given, for Reload's comparison
  boost::asio::io_context io_;
  boost::asio::signal_set signals_;
  boost::asio::steady_timer shutdown_timer_;
  boost::asio::steady_timer orphan_timer_;  // throttles ReapOrphans
  bool orphan_scan_pending_ = false;
  WorkerSlots slots_;
  std::unique_ptr<Spawner> spawner_;
  ServerContext ctx_;
  HeapTrim heap_trim_;                                            // returns free heap memory once idle
  std::unique_ptr<ProgramSource> programs_;                       // created in Init(), replaced by Reload()
  std::vector<std::unique_ptr<ProgramSource>> retired_programs_;  // replaced, still held by requests
  boost::asio::steady_timer retired_timer_;                       // looks at them again
  std::vector<std::unique_ptr<Acceptor>> acceptors_;
  std::vector<ListeningSocket> listening_;
  // --user as root: removes listening_'s files at exit, which --user may not (socket_remover.h).
  std::unique_ptr<SocketRemover> socket_remover_;
  ConnectionList<Connection> connections_;
  bool stopping_ = false;
  bool finishing_ = false;
  std::unique_ptr<HttpFront> http_;            // --http; destroyed before ctx_
  std::unique_ptr<AccessLog> access_log_;      // --access-log (ctx_.observability points here)
  std::unique_ptr<SlowLog> slow_log_;          // --slow-threshold
  std::unique_ptr<ParentWatch> parent_watch_;  // --parent-pipe-fd (h2o's fd 5)
  bool listeners_adopted_ = false;  // OpenAcceptors() gave the fds to acceptors (else ~Server closes them)
};

}  // namespace fcgi

#endif  // FCGI_RUN_LAUNCHER_SERVER_H_
