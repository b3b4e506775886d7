#include "launcher/config/options.h"

#include <unistd.h>

#include <boost/program_options.hpp>
#include <iostream>
#include <map>
#include <string_view>
#include <thread>

#include "core/access_format.h"
#include "core/address_filter.h"
#include "core/cgi_environment.h"
#include "core/persistent_patterns.h"
#include "launcher/config/config_file.h"
#include "launcher/log/log.h"
#include "launcher/log/syslog_sink.h"

namespace fcgi {

namespace po = boost::program_options;

unsigned Config::EffectiveWorkers() const {
  if (workers > 0) return workers;
  unsigned cores = std::thread::hardware_concurrency();
  return 2 * (cores == 0 ? 1 : cores);
}

namespace {

// A flag: `--NAME` alone is true; `--NAME=WORD` (kFlagWords, config_file.h) sets
// it either way, so the command line can switch off what the config file set.
// Never takes a separate word: `--NAME PROGRAM` leaves PROGRAM alone
// (SplitCommandLine). A short form (-v) is a pure switch, groupable (-vw4).
po::typed_value<bool>* Flag(bool* target) {
  return po::value<bool>(target)->implicit_value(true, "true")->value_name("BOOL");
}

po::options_description MakeDescription(Config* c, std::string* mode_text, std::string* stderr_text,
                                        std::string* socket_mode_text) {
  po::options_description general("General");
  general.add_options()("help,h", "print this help and exit")("version", "print the version and exit")(
      "verbose,v", Flag(&c->verbose), "log debug lines too (same as --log-level debug)")(
      "log", po::value(&c->log_file)->value_name("FILE"),
      "append log lines to FILE instead of stderr (reopened on SIGUSR1)")
      // Config file and error log (launcher/config/config_file.h, launcher/log/log.h).
      ("config", po::value(&c->config_file)->value_name("FILE"),
       "read options from FILE: one 'name = value' line per option (long name, no dashes; flags "
       "'name = true' or 'name = false'; repeatable options one line per value; PROGRAM as 'command = "
       "PATH', its ARGS as 'arg = ARG' lines; '#' comments). The command line overrides single values "
       "(flags too: --NAME=false switches off the file's 'NAME = true') and adds to repeatable ones. "
       "Default: $FCGI_RUN_CONFIG if set")(
          "check-config", Flag(&c->check_config),
          "validate the options, config file, PROGRAM or --root, addresses and users as start-up does, "
          "without binding or running anything; print 'configuration OK' (exit 0) or the errors (exit 2)")(
          "log-level", po::value(&c->log_level)->default_value("info")->value_name("LEVEL"),
          "lowest level logged: error, warning, notice, info or debug")(
          "syslog", Flag(&c->syslog),
          "send log lines to syslog instead of stderr (and still to --log FILE if given); never blocks: "
          "lines are dropped while the socket is missing or full")(
          "syslog-facility", po::value(&c->syslog_facility)->default_value("daemon")->value_name("NAME"),
          "--syslog facility: daemon, user, local0 ... local7, ...")(
          "syslog-socket", po::value(&c->syslog_socket)->default_value("/dev/log")->value_name("PATH"),
          "--syslog: the unix datagram socket written to");

  po::options_description listen("Listening");
  listen.add_options()("listen,l", po::value(&c->listen)->value_name("ADDR")->composing(),
                       "unix:/path, tcp:HOST:PORT (IPv6: tcp:[::1]:PORT) or fd:N; repeatable. Default: the "
                       "listening socket on fd 0 (FastCGI convention) or systemd's LISTEN_FDS")(
      "socket-mode", po::value(socket_mode_text)->default_value("0660")->value_name("OCTAL"),
      "permissions of unix sockets fcgi-run creates")(
      "socket-owner", po::value(&c->socket_owner)->value_name("USER[:GROUP]"),
      "owner of unix sockets fcgi-run creates. Default: the user programs run as (--user, else "
      "--program-user when started as root), else fcgi-run's")(
      "backlog", po::value(&c->backlog)->default_value(1024)->value_name("N"), "listen(2) backlog")(
      "parent-pipe-fd", po::value(&c->parent_pipe_fd)->default_value("auto")->value_name("N|auto|none"),
      "stop gracefully (as on SIGTERM) when descriptor N, inherited from the spawning web server, is "
      "closed at its other end. auto: fd 5 if it is a pipe's read end and fcgi-run serves the listening "
      "socket on fd 0 (h2o's fastcgi.spawn); none: never")(
      "http", po::value(&c->http)->value_name("ADDR:PORT")->composing(),
      "also (or, without --listen, only) serve HTTP/1.1 directly on ADDR:PORT (127.0.0.1:8080, "
      "[::1]:8080): the built-in HTTP front, for trying a program without a web server; repeatable")(
      "http-max-header", po::value(&c->http_max_header_bytes)->default_value(64 * 1024)->value_name("BYTES"),
      "largest HTTP request line + header block the HTTP front accepts (431 past it)");

  po::options_description run("Running programs");
  run.add_options()(
      "mode", po::value(mode_text)->default_value("fork")->value_name("MODE"),
      "fork (default): start the program once, parked at main() by libcompat, and fork it per request "
      "(falls back to exec, with one log line, for programs that cannot be parked); exec: fork+exec "
      "the program per request; "
      "persistent: --workers processes run main() again and again (global state persists between "
      "requests: see README; scripts fall back to fork mode)")(
      "compat-library", po::value(&c->compat_library)->value_name("PATH"),
      "libfcgi-run-compat.so for fork mode (default: found next to the fcgi-run binary)")(
      "park-timeout", po::value(&c->park_timeout_seconds)->default_value(2)->value_name("SECONDS"),
      "fork mode: how long a program may take to reach main() and say hello")(
      "park-retries", po::value(&c->park_retries)->default_value(3)->value_name("N"),
      "fork mode: failed parks in a row before falling back to exec mode")(
      "compile-per-request", po::value(&c->compile_per_request)->value_name("PATTERN")->composing(),
      "fork mode: Perl and Python scripts matching PATTERN are compiled in every request (their "
      "interpreter parked at main()) instead of once (parked after compilation, the default); repeatable. "
      "PATTERN as for --persistent, matched against the program (and, with one PROGRAM, against absolute "
      "paths among its ARGS: perl /srv/app.pl); '*' selects every script. Default: none")(
      "max-requests", po::value(&c->max_requests)->default_value(500)->value_name("N"),
      "persistent mode: replace a worker after N requests (0 = never)")(
      "max-rss", po::value(&c->max_rss_mib)->default_value(0)->value_name("MIB"),
      "persistent mode: replace a worker whose resident memory exceeds MIB after a request (0 = no limit)")(
      "check", Flag(&c->check),
      "do not serve: run sample requests through fork and persistent mode, compare, and say whether "
      "persistent mode is safe for PROGRAM; for a Perl or Python script, through a fresh interpreter and the "
      "script compiled once (fork mode), and say whether compiling once is safe (exit 0 safe, 1 not safe, 2 "
      "the check could not run)")(
      "request", po::value(&c->check_requests)->value_name("FILE")->composing(),
      "--check: a sample request file (CGI variables NAME=VALUE, a blank line, the body); repeatable")(
      "workers,w", po::value(&c->workers)->default_value(0)->value_name("N"),
      "most programs running at once (0 = 2 per CPU core)")(
      "queue", po::value(&c->queue)->default_value(1024)->value_name("N"),
      "requests that may wait for a worker; past it they get 503 and END_REQUEST OVERLOADED")(
      "env,e", po::value(&c->env)->value_name("NAME[=VALUE]")->composing(),
      "pass NAME from fcgi-run's environment, or set it, in every program's environment; "
      "repeatable. Nothing else of fcgi-run's environment is passed except PATH. A request's params "
      "never replace these")(
      "pass-env", po::value(&c->pass_env)->value_name("NAME")->composing(),
      "let requests set NAME although it is a protected variable (one of the dynamic loader's, libc's, "
      "a shell's or an interpreter's, such as LD_PRELOAD, BASH_ENV, PERL5LIB or PYTHONPATH: dropped "
      "from params by default, with one warning per name); exact name, repeatable")(
      "stderr", po::value(stderr_text)->default_value("fcgi")->value_name("WHERE"),
      "program stderr: fcgi (FCGI_STDERR records), log, both, discard")(
      "timeout", po::value(&c->timeout_seconds)->default_value(60)->value_name("SECONDS"),
      "a request still running after SECONDS is terminated (504 if no header was sent); 0 = none")(
      "kill-grace", po::value(&c->kill_grace_seconds)->default_value(5)->value_name("SECONDS"),
      "time between SIGTERM and SIGKILL when a program is stopped")(
      "shutdown-timeout", po::value(&c->shutdown_timeout_seconds)->default_value(30)->value_name("SECONDS"),
      "on SIGTERM/SIGINT/SIGQUIT, how long running requests may finish before they are terminated");

  po::options_description limits("Limits");
  limits.add_options()("rlimit-cpu", po::value(&c->rlimit_cpu)->default_value(-1)->value_name("SECONDS"),
                       "RLIMIT_CPU of each program run (-1 = inherited)")(
      "rlimit-as", po::value(&c->rlimit_as)->default_value(-1)->value_name("BYTES"),
      "RLIMIT_AS (address space) of each program run (-1 = inherited)")(
      "rlimit-nofile", po::value(&c->rlimit_nofile)->default_value(-1)->value_name("N"),
      "RLIMIT_NOFILE of each program run (-1 = inherited)")(
      "rlimit-nproc", po::value(&c->rlimit_nproc)->default_value(-1)->value_name("N"),
      "RLIMIT_NPROC of each program run (-1 = inherited)")(
      "rlimit-core", po::value(&c->rlimit_core)->default_value(-1)->value_name("BYTES"),
      "RLIMIT_CORE of each program run (-1 = inherited)")(
      "max-body", po::value(&c->max_body)->default_value(0)->value_name("BYTES"),
      "refuse request bodies larger than BYTES with 413 (0 = unlimited)")(
      "max-params", po::value(&c->max_params_bytes)->default_value(1 << 20)->value_name("BYTES"),
      "largest FastCGI PARAMS stream accepted (431 past it)")(
      "max-header", po::value(&c->max_header_bytes)->default_value(64 * 1024)->value_name("BYTES"),
      "largest CGI response header block accepted from a program (502 past it)")(
      "max-conn-requests", po::value(&c->max_requests_per_connection)->default_value(1024)->value_name("N"),
      "most requests multiplexed on one connection (OVERLOADED past it)")(
      "buffer", po::value(&c->buffer_bytes)->default_value(256 * 1024)->value_name("BYTES"),
      "output buffered per connection before programs are paused by their pipes; also the request "
      "body kept in memory per request before it is spooled to a temporary file")(
      "body-spool", po::value(&c->body_spool_bytes)->default_value(1ull << 30)->value_name("BYTES"),
      "request body a program has not read yet that fcgi-run keeps (memory, then a temporary file); "
      "past it fcgi-run stops reading that connection")(
      "tmp-dir", po::value(&c->tmp_dir)->value_name("DIR"),
      "directory of the (unlinked) body spool files (default: $TMPDIR or /tmp)");

  po::options_description dispatch("Dispatcher mode (no PROGRAM) and security");
  dispatch.add_options()(
      "root", po::value(&c->root)->value_name("PATH")->composing(),
      "dispatcher mode: run the program each request names (SCRIPT_FILENAME, else DOCUMENT_ROOT + "
      "SCRIPT_NAME, walking back to the first file with the rest as PATH_INFO); its real path must lie "
      "under a directory PATH, or be a program file PATH (403 otherwise); repeatable, e.g. --root /srv/www "
      "--root /usr/lib/cgit/cgit.cgi. Default: none, and dispatcher mode refuses to start without it")(
      "allow-any-path", Flag(&c->allow_any_path),
      "dispatcher mode without --root: any executable file a request names may run (default: off)")(
      "allow-ext", po::value(&c->allow_ext)->value_name(".EXT,..."),
      "dispatcher mode: only programs whose name ends in one of these extensions, e.g. .cgi,.pl "
      "(default: any name)")(
      "program", po::value(&c->allowed_programs)->value_name("PATH")->composing(),
      "dispatcher mode: only these exact programs may run; repeatable (default: any under --root). "
      "Enough on its own to start without --root; with --root, each must lie under one")(
      "persistent", po::value(&c->persistent)->value_name("PATTERN")->composing(),
      "dispatcher mode: programs matching PATTERN run in persistent mode, all others in --mode; "
      "repeatable. PATTERN: an absolute path (/srv/www/fast.cgi), a path relative to --root "
      "(legacy/*), or a file name without '/' matched in any directory (*.fast.cgi); fnmatch "
      "wildcards ('*' stops at '/'), a trailing '/' selects everything below a directory. Programs "
      "that cannot run persistent fall back with one log line. Default: none")(
      "max-classes", po::value(&c->max_classes)->default_value(64)->value_name("N"),
      "dispatcher mode: distinct programs kept ready (one runner, in fork mode one parked process, "
      "each); the least recently used is retired past N")(
      "user", po::value(&c->user)->value_name("USER[:GROUP]"),
      "after binding the sockets, fcgi-run (and so every program) drops to USER (its primary group "
      "or GROUP, and its supplementary groups). Default: unchanged")(
      "program-user", po::value(&c->program_user)->value_name("USER[:GROUP]"),
      "run programs as USER (fcgi-run itself keeps its user). Default: fcgi-run's user")(
      "allow-root", Flag(&c->allow_root),
      "allow programs to run as root: without it fcgi-run started as root refuses to start unless "
      "--user or --program-user names another user, and refuses a --user or --program-user whose group "
      "(or one of whose groups) is root, gid 0 (default: off)")(
      "allow-setid-programs", Flag(&c->allow_setid_programs),
      "let set-uid, set-gid and file-capability programs gain their privileges when a program (or anything "
      "it runs, e.g. sendmail's set-gid postdrop) executes them. Default: off, programs run with "
      "PR_SET_NO_NEW_PRIVS, so such a program keeps the ids fcgi-run gave it")(
      "allow-from", po::value(&c->allow_from)->value_name("ADDR[,ADDR...]"),
      "TCP peers allowed to connect: IPv4/IPv6 addresses and CIDR prefixes; others are closed and "
      "logged. Default: FCGI_WEB_SERVER_ADDRS from the environment, else any peer");

  po::options_description observe("Status page and logs");
  observe.add_options()(
      "status-path", po::value(&c->status_path)->value_name("PATH"),
      "answer requests for PATH (DOCUMENT_URI or SCRIPT_NAME, e.g. /fcgi-status) with the status page, "
      "without running a program: text, ?json or ?openmetrics; ?full adds the active requests (their URIs "
      "and query strings). Default: off")(
      "status-allow", po::value(&c->status_allow)->value_name("ADDR[,ADDR...]"),
      "clients that may read the status page: IPv4/IPv6 addresses and CIDR prefixes, matched against the "
      "HTTP front's peer and, over FastCGI, the REMOTE_ADDR param; others get 403. Default: on the HTTP "
      "front loopback only (127.0.0.0/8, ::1); over FastCGI any client the web server lets through. A "
      "program's local redirect never reaches the status or ping page")(
      "ping-path", po::value(&c->ping_path)->value_name("PATH"),
      "answer requests for PATH (e.g. /fcgi-ping) with --ping-response, without running a program. Default: "
      "off")("ping-response", po::value(&c->ping_response)->default_value("pong")->value_name("TEXT"),
             "body of the --ping-path answer")(
      "access-log", po::value(&c->access_log)->value_name("FILE"),
      "append one line per finished request to FILE ('-' = stdout); reopened on SIGUSR1. Default: off")(
      "access-format", po::value(&c->access_format)->value_name("FORMAT"),
      "--access-log line: %r remote address, %t time, %T ISO time, %m method, %u URI, %q query, %H protocol, "
      "%s status, %b body bytes, %B response bytes, %d duration ms, %D duration us, %p pid, %P program, "
      "%M mode, %{NAME}e a FastCGI param, %% a percent sign. Default: "
      "'%r - - [%t] \"%m %u %H\" %s %b %d %P %M %p'")(
      "slow-threshold", po::value(&c->slow_threshold_seconds)->default_value(0)->value_name("SECONDS"),
      "log a request still running after SECONDS (program, pid, URI, elapsed) once; 0 = off")(
      "slow-log", po::value(&c->slow_log)->value_name("FILE"),
      "where slow-request lines go (reopened on SIGUSR1). Default: the error log")(
      "slow-backtrace", Flag(&c->slow_backtrace),
      "with --slow-threshold: also log the program's stacks (gdb -batch -p PID, in the background, "
      "killed after 10 s)");

  po::options_description all(
      "fcgi-run [OPTIONS] PROGRAM [ARGS...]\n"
      "fcgi-run --root DIR [OPTIONS]   (dispatcher mode)\n\n"
      "Serves an unmodified CGI program over FastCGI.\n\nOptions");
  all.add(general).add(listen).add(run).add(limits).add(dispatch).add(observe);
  return all;
}

// Looks up `name` ("--long" without dashes, or "-x") as Boost's parser does
// (long names may be abbreviated); nullptr when unknown or ambiguous (Boost's
// own parse then reports it).
const po::option_description* FindOption(const po::options_description& desc, const std::string& name,
                                         bool short_name) {
  try {
    return short_name ? desc.find_nothrow(name, false, false, true) : desc.find_nothrow(name, true);
  } catch (const po::error&) {
    return nullptr;
  }
}

// Splits argv[1..] into the words Boost parses (*option_words) and the
// PROGRAM [ARGS] (from *program_index on): the PROGRAM is the first word that
// is not an option or an option's separate value; a lone `--` ends the options
// (and is dropped). Flags never take a separate word, so `--syslog /srv/a.cgi`
// runs /srv/a.cgi. Grouped short options are split (-vw4 -> -v -w4), keeping
// Boost's grouping although -v now has an optional value. A flag's
// `--NAME=WORD` is checked here: false with *error set for a word outside
// kFlagWords.
bool SplitCommandLine(int argc, const char* const* argv, const po::options_description& desc,
                      std::vector<std::string>* option_words, int* program_index, std::string* error) {
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a == "--") {
      *program_index = i + 1;
      return true;
    }
    if (a.size() < 2 || a[0] != '-') {
      *program_index = i;
      return true;
    }
    if (a.substr(0, 2) == "--") {
      size_t eq = a.find('=');
      const po::option_description* d =
          FindOption(desc, std::string(a.substr(2, eq == a.npos ? a.npos : eq - 2)), false);
      option_words->emplace_back(a);
      if (eq != a.npos) {
        if (bool on; d != nullptr && IsFlag(*d) && !ParseFlagWord(a.substr(eq + 1), &on)) {
          *error = std::string(a) + ": expected " + kFlagWords;
          return false;
        }
      } else if (d != nullptr && d->semantic()->min_tokens() > 0 && i + 1 < argc) {
        option_words->emplace_back(argv[++i]);
      }
      continue;
    }
    // -x..., one short option after another while they take no value.
    for (size_t k = 1; k < a.size(); ++k) {
      const po::option_description* d = FindOption(desc, std::string("-") + a[k], true);
      if (d == nullptr || d->semantic()->min_tokens() > 0) {  // the rest is its value (or Boost's error)
        option_words->push_back("-" + std::string(a.substr(k)));
        if (d != nullptr && k + 1 == a.size() && i + 1 < argc) option_words->emplace_back(argv[++i]);
        break;
      }
      option_words->push_back(std::string("-") + a[k]);
    }
  }
  *program_index = argc;
  return true;
}

}  // namespace

ParseOutcome ParseCommandLine(int argc, const char* const* argv, Config* config) {
  std::string mode_text, stderr_text, socket_mode_text;
  po::options_description desc = MakeDescription(config, &mode_text, &stderr_text, &socket_mode_text);
  std::vector<std::string> option_words;
  int program_index = argc;
  if (std::string error; !SplitCommandLine(argc, argv, desc, &option_words, &program_index, &error)) {
    std::cerr << "fcgi-run: " << error << "\nTry 'fcgi-run --help'.\n";
    return ParseOutcome::kExitFailure;
  }
  po::variables_map vm;
  std::map<std::string, std::string> origins;  // option -> "FILE:LINE" of its value (config file)
  ConfigCommand file_command;                  // `command` / `arg` lines of the config file
  try {
    po::parsed_options command_line = po::command_line_parser(option_words).options(desc).run();
    std::string config_path;
    Status s = ApplyConfigFile(desc, command_line, &vm, &file_command, &origins, &config_path);
    if (!s.ok()) {
      std::cerr << "fcgi-run: " << s.message() << "\n";
      return ParseOutcome::kExitFailure;
    }
    po::store(command_line, vm);
    po::notify(vm);
    config->config_file = config_path;
  } catch (const po::error& e) {
    std::cerr << "fcgi-run: " << e.what() << "\nTry 'fcgi-run --help'.\n";
    return ParseOutcome::kExitFailure;
  }
  if (vm.count("help")) {
    std::cout
        << desc
        << "\nFlags ([=BOOL(=true)]): --NAME alone turns one on; --NAME=false (or no, off, 0) turns it off,\n"
           "e.g. one the --config file turned on; --NAME=true (or yes, on, 1) turns it on. The value\n"
           "must follow '=': --NAME never takes the next word (so '--syslog app.cgi' runs app.cgi).\n"
           "-v takes no value (--verbose=false does).\n"
        << "\nSignals: SIGTERM/SIGINT/SIGQUIT stop gracefully, SIGUSR1 reopens the log files (--log, "
           "--access-log, --slow-log).\n";
    return ParseOutcome::kExitSuccess;
  }
  if (vm.count("version")) {
    std::cout << "fcgi-run " << FCGI_RUN_VERSION << "\n";
    return ParseOutcome::kExitSuccess;
  }
  // Errors about "--NAME ..." whose value came from the config file name its line.
  auto fail = [&origins](const std::string& msg) {
    std::string where;
    if (msg.rfind("--", 0) == 0) {
      auto it = origins.find(msg.substr(2, msg.find_first_of(" :=',", 2) - 2));
      if (it != origins.end()) where = it->second + ": ";
    }
    std::cerr << "fcgi-run: " << where << msg << "\nTry 'fcgi-run --help'.\n";
    return ParseOutcome::kExitFailure;
  };
  {
    LogLevel level;
    if (!ParseLogLevel(config->log_level, &level)) {
      return fail("--log-level " + config->log_level + ": expected error, warning, notice, info or debug");
    }
    int facility;
    if (!ParseSyslogFacility(config->syslog_facility, &facility)) {
      return fail("--syslog-facility " + config->syslog_facility +
                  ": expected daemon, user, local0 ... local7, auth, authpriv, cron, ftp, kern, lpr, mail, "
                  "news, syslog or uucp");
    }
    if (config->syslog_socket.empty() || config->syslog_socket.size() > 107) {
      return fail("--syslog-socket '" + config->syslog_socket +
                  "': expected a unix socket path of 1-107 bytes");
    }
  }
  if (mode_text != "exec" && mode_text != "fork" && mode_text != "persistent")
    return fail("--mode " + mode_text + ": unknown mode (expected exec, fork or persistent)");
  if (config->park_timeout_seconds <= 0) return fail("--park-timeout must be > 0");
  if (config->park_retries < 1) return fail("--park-retries must be >= 1");
  config->mode = mode_text;
  if (stderr_text == "fcgi") config->stderr_mode = StderrMode::kFcgi;
  else if (stderr_text == "log") config->stderr_mode = StderrMode::kLog;
  else if (stderr_text == "both") config->stderr_mode = StderrMode::kBoth;
  else if (stderr_text == "discard") config->stderr_mode = StderrMode::kDiscard;
  else return fail("--stderr " + stderr_text + ": expected fcgi, log, both or discard");
  {
    char* end = nullptr;
    unsigned long m = std::strtoul(socket_mode_text.c_str(), &end, 8);
    if (socket_mode_text.empty() || *end != '\0' || m > 07777)
      return fail("--socket-mode " + socket_mode_text + ": expected an octal mode such as 0660");
    config->socket_mode = static_cast<unsigned>(m);
  }
  if (config->timeout_seconds < 0) return fail("--timeout must be >= 0");
  if (config->kill_grace_seconds < 0) return fail("--kill-grace must be >= 0");
  if (config->backlog <= 0) return fail("--backlog must be > 0");
  if (config->buffer_bytes < 4096) return fail("--buffer must be at least 4096");
  if (config->max_header_bytes < 256) return fail("--max-header must be at least 256");
  if (config->http_max_header_bytes < 1024 || config->http_max_header_bytes > (1u << 30))
    return fail("--http-max-header must be between 1024 and 1073741824");
  for (const std::string& e : config->env) {
    if (e.empty() || e[0] == '=') return fail("--env '" + e + "': expected NAME or NAME=VALUE");
  }
  for (const std::string& name : config->pass_env) {
    if (name.empty() || name.find('=') != std::string::npos)
      return fail("--pass-env '" + name + "': expected a variable NAME");
    if (ProtectedVariable(name) == nullptr)
      return fail("--pass-env " + name + ": not a protected variable (requests may set it already)");
  }
  if (config->tmp_dir.empty()) {
    const char* t = std::getenv("TMPDIR");
    config->tmp_dir = (t != nullptr && *t != '\0') ? t : "/tmp";
  }
  if (config->max_classes < 1) return fail("--max-classes must be >= 1");
  if (PersistentPatterns patterns; !config->compile_per_request.empty()) {
    Status s = PersistentPatterns::Parse(config->compile_per_request, !config->root.empty(), &patterns,
                                         "--compile-per-request");
    if (!s.ok()) return fail(s.message());
  }
  for (const auto& [list, name] :
       {std::pair{&config->allow_from, "--allow-from"}, std::pair{&config->status_allow, "--status-allow"}}) {
    AddressFilter filter;
    if (Status s = list->empty() ? Status::Ok() : AddressFilter::Parse(*list, &filter); !s.ok())
      return fail(std::string(name) + ": " + s.message());
  }
  for (const std::string* path : {&config->status_path, &config->ping_path}) {
    if (!path->empty() && (*path)[0] != '/') {
      return fail(std::string(path == &config->status_path ? "--status-path" : "--ping-path") + " " + *path +
                  ": expected a path starting with '/'");
    }
  }
  if (!config->status_path.empty() && config->status_path == config->ping_path)
    return fail("--status-path and --ping-path must differ");
  if (config->access_format.empty()) config->access_format = kDefaultAccessFormat;
  if (AccessFormat f; !config->access_log.empty()) {
    Status s = AccessFormat::Parse(config->access_format, &f);
    if (!s.ok()) return fail("--access-format: " + s.message());
  }
  if (config->slow_threshold_seconds < 0) return fail("--slow-threshold must be >= 0");
  if (config->slow_backtrace && config->slow_threshold_seconds <= 0)
    return fail("--slow-backtrace needs --slow-threshold SECONDS");
  const bool dispatcher_options = !config->root.empty() || config->allow_any_path ||
                                  !config->allow_ext.empty() || !config->allowed_programs.empty();
  // PROGRAM [ARGS]: the command line's, else the config file's `command` and `arg` lines.
  std::vector<std::string> program_and_args;
  for (int i = program_index; i < argc; ++i) program_and_args.emplace_back(argv[i]);
  if (program_and_args.empty() && !file_command.program.empty()) {
    program_and_args.push_back(file_command.program);
    program_and_args.insert(program_and_args.end(), file_command.args.begin(), file_command.args.end());
  }
  if (!config->persistent
           .empty()) {  // --persistent PATTERN: dispatcher mode only (core/persistent_patterns.h)
    if (!program_and_args.empty()) {
      return fail("--persistent selects programs in dispatcher mode (--root DIR, no PROGRAM); to run " +
                  program_and_args.front() + " in persistent mode use --mode persistent");
    }
    if (config->mode == "persistent") {
      return fail(
          "--persistent with --mode persistent: every program already runs in persistent mode; give "
          "--mode fork or exec for the programs that do not match");
    }
    PersistentPatterns patterns;
    Status s = PersistentPatterns::Parse(config->persistent, !config->root.empty(), &patterns);
    if (!s.ok()) return fail(s.message());
  }
  if (program_and_args.empty()) {
    if (!dispatcher_options) {
      return fail(
          "no PROGRAM given: usage is fcgi-run [OPTIONS] PROGRAM [ARGS...], or fcgi-run --root DIR "
          "[OPTIONS] to run the program each request names (dispatcher mode)");
    }
    if (config->root.empty() && config->allowed_programs.empty() && !config->allow_any_path) {
      return fail(
          "dispatcher mode without --root would run any file a request names: give --root DIR "
          "(or --program PATH, or --allow-any-path if that is really meant)");
    }
    return ParseOutcome::kRun;
  }
  if (dispatcher_options) {
    return fail(std::string("--root, --allow-any-path, --allow-ext and --program are for dispatcher mode, ") +
                "which has no PROGRAM (got " + program_and_args.front() + ")");
  }
  config->program = program_and_args.front();
  config->args.assign(program_and_args.begin() + 1, program_and_args.end());
  return ParseOutcome::kRun;
}

}  // namespace fcgi
