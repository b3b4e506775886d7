// fcgi-run's configuration: the command line and the config file, parsed once
// into typed values by one function, ParseConfig, that takes the arguments and
// the environment as its inputs (it reads the config file, nothing else of the
// system). Nothing else parses an option's text, and nothing below main.cc
// reads the environment for its configuration.
//
// `fcgi-run [OPTIONS] PROGRAM [ARGS...]`, or `fcgi-run --root DIR [OPTIONS]`
// (dispatcher mode, no PROGRAM). Everything after the first non-option
// word (or after `--`) is the program and its arguments, passed untouched, so
// `fcgi-run ./app.cgi -x` gives `-x` to the program. A long option of
// fcgi-run's own after PROGRAM (`fcgi-run app.cgi --timeout 5`) is the
// program's too, which is rarely what was meant: ParseConfig warns about it,
// and with --check (whose options change the verdict) refuses it, unless `--`
// stood before PROGRAM. Every limit has an option and a documented default
// (`fcgi-run --help`).
// Flags (verbose, syslog, check, allow-root, ...): `--NAME` alone is true,
// `--NAME=WORD` sets either value with the config file's words (kFlagWords in
// launcher/config/config_file.h), so `--syslog=false` switches off the file's
// `syslog = true`. A flag never takes the next word (`--syslog PROGRAM` runs
// PROGRAM); the short -v takes no value and groups (-vw4 = -v -w 4).
// Durations take units (30, 0.5, 500ms, 30s, 2m, 1h) and sizes binary ones
// (65536, 64K, 8M, 1G): core/units.h.
#ifndef FCGI_RUN_LAUNCHER_CONFIG_OPTIONS_H_
#define FCGI_RUN_LAUNCHER_CONFIG_OPTIONS_H_

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/access_format.h"
#include "core/address_filter.h"
#include "core/base_environment.h"  // kDefaultPath
#include "core/fcgi_name_value.h"
#include "core/listen_address.h"
#include "core/log_level.h"
#include "core/persistent_patterns.h"
#include "core/run_mode.h"
#include "core/status.h"
#include "core/units.h"
#include "launcher/config/environment.h"

namespace fcgi {

enum class StderrMode { kFcgi, kLog, kBoth, kDiscard };

// --parent-pipe-fd: "auto" and "none" (launcher/front/parent_watch.h), else the fd.
inline constexpr int kParentPipeAuto = -2;
inline constexpr int kParentPipeNone = -1;

// Which TCP peers may connect: --allow-from, else FCGI_WEB_SERVER_ADDRS.
struct PeerAllowList {
  AddressFilter filter;
  std::string source;  // "--allow-from" or "FCGI_WEB_SERVER_ADDRS", for messages
};

struct Config {
  // Where to listen; empty = fd 0 or systemd's sockets.
  std::vector<ListenAddress> listen;
  unsigned socket_mode = 0660;
  std::string socket_owner;  // USER[:GROUP], empty = unchanged
  int backlog = 1024;
  // Systemd socket activation: LISTEN_FDS when LISTEN_PID names this process, else 0.
  int systemd_fds = 0;
  // --parent-pipe-fd: kParentPipeAuto (fd 5 when spawned by h2o), kParentPipeNone
  // or a descriptor; its EOF stops fcgi-run as SIGTERM does (launcher/front/parent_watch.h).
  int parent_pipe_fd = kParentPipeAuto;
  // Built-in HTTP front: --http ADDR:PORT (repeatable; alone or with --listen; TCP
  // addresses) and the largest HTTP request header block it accepts (431 past it).
  std::vector<ListenAddress> http;
  size_t http_max_header_bytes = 64 * 1024;

  RunMode mode = RunMode::kFork;
  std::string compat_library;  // libfcgi-run-compat.so ("" = next to the binary)
  Duration park_timeout = std::chrono::seconds(2);
  int park_retries = 3;
  // Persistent mode: recycle a worker after this many requests (0 = never) or
  // past this resident size in MiB (0 = no limit).
  uint32_t max_requests = 500;
  uint64_t max_rss_mib = 0;
  // `fcgi-run --check [--request FILE...] PROGRAM`: persistent-mode safety check.
  bool check = false;
  std::vector<std::string> check_requests;
  unsigned workers = 0;  // 0 = 2 per core
  size_t queue = 1024;   // requests waiting for a worker; past it: OVERLOADED + 503
  // The programs' base environment: each --env NAME=VALUE, each --env NAME
  // with its value in fcgi-run's environment (left out when unset there),
  // then PATH (fcgi-run's, else core/base_environment.h's kDefaultPath)
  // unless --env gave it.
  NameValuePairs env;
  // --pass-env NAME: protected variables (core/cgi_environment.h) a request's
  // params may set nonetheless.
  std::vector<std::string> pass_env;
  StderrMode stderr_mode = StderrMode::kFcgi;

  Duration timeout = std::chrono::seconds(60);  // 0 = none
  Duration kill_grace = std::chrono::seconds(5);
  Duration shutdown_timeout = std::chrono::seconds(30);
  uint64_t max_body = 0;  // 0 = unlimited
  // Per-request resource limits applied to the program (setrlimit in the child); -1 = inherit.
  int64_t rlimit_cpu = -1;  // seconds
  int64_t rlimit_as = -1;   // bytes
  int64_t rlimit_nofile = -1;
  int64_t rlimit_nproc = -1;
  int64_t rlimit_core = -1;  // bytes
  size_t max_params_bytes = 1 << 20;
  size_t max_header_bytes = 64 * 1024;
  size_t max_requests_per_connection = 1024;
  size_t buffer_bytes = 256 * 1024;        // output (per connection) and body (per request) kept in memory
  uint64_t body_spool_bytes = 1ull << 30;  // unread request body kept per request (memory + temp file)
  std::string tmp_dir;                     // where body spool files go (--tmp-dir, else $TMPDIR, else /tmp)

  // Dispatcher mode (no PROGRAM: each request names its program) and security.
  // --root PATH (repeatable): a directory (programs must lie under it) or one
  // program file (that program may run, with PATH_INFO after its name).
  std::vector<std::string> root;
  bool allow_any_path = false;                // dispatcher mode without --root
  std::vector<std::string> allow_ext;         // --allow-ext ".cgi,.pl" (empty = any)
  std::vector<std::string> allowed_programs;  // --program PATH (repeatable; empty = any)
  size_t max_classes = 64;                    // worker classes (one per program) kept
  PersistentPatterns persistent;              // --persistent PATTERN: these programs run in persistent mode
  // --compile-per-request PATTERN: fork mode parks these Perl/Python scripts at
  // main() (compiled in every request) instead of after their compilation.
  PersistentPatterns compile_per_request;
  std::string user;                            // --user USER[:GROUP]: the launcher drops to it after binding
  std::string program_user;                    // --program-user USER[:GROUP]: programs run as it
  bool allow_root = false;                     // run programs as root (started as root without the above)
  bool allow_setid_programs = false;           // execve may grant set-id/capability privileges
  std::optional<PeerAllowList> allowed_peers;  // none: any TCP peer
  bool dispatcher() const { return program.empty(); }

  bool verbose = false;
  std::string log_file;
  // Config file and error log (launcher/config/config_file.h, launcher/log/log.h): --config FILE
  // (or FCGI_RUN_CONFIG), --check-config, --log-level, --syslog[-facility|-socket].
  std::string config_file;  // the file read ("" = none)
  bool check_config = false;
  LogLevel log_level = LogLevel::kInfo;  // the lowest level logged: --log-level, or debug with -v
  bool syslog = false;
  int syslog_facility = 3;  // --syslog-facility as its code: daemon (LOG_DAEMON >> 3)
  std::string syslog_socket = "/dev/log";

  // Status page, ping, access and slow logs (launcher/request/builtin_pages.h, access_log.h, slow_log.h).
  std::string status_path;  // --status-path ("" = off)
  // --status-allow: who may read the status page (none: loopback on the HTTP front, any on FastCGI).
  std::optional<AddressFilter> status_allow;
  std::string ping_path;               // --ping-path ("" = off)
  std::string ping_response = "pong";  // --ping-response
  std::string access_log;              // --access-log FILE ("" = off, "-" = stdout)
  AccessFormat access_format;          // --access-format (default core/access_format.h's)
  Duration slow_threshold{0};          // --slow-threshold (0 = off)
  std::string slow_log;                // --slow-log FILE ("" = the error log)
  bool slow_backtrace = false;         // --slow-backtrace (gdb)

  std::string program;            // PROGRAM (as given)
  std::vector<std::string> args;  // ARGS

  unsigned EffectiveWorkers() const;
};

enum class ParseOutcome { kRun, kExitSuccess, kExitFailure };

struct ParseResult {
  ParseOutcome outcome = ParseOutcome::kExitFailure;
  // kRun: the configuration. kExitFailure: what could be parsed (every value
  // that was valid; PROGRAM when the command line itself was well formed), for
  // --check-config to check the rest in the same run.
  Config config;
  // kExitSuccess: the --help or --version text for stdout.
  std::string output;
  // kExitFailure: every error of the command line and the config file, one
  // sentence each, naming the option and the value (and FILE:LINE when the
  // value came from the file).
  std::vector<std::string> errors;
  // kRun: what start-up logs as warnings (fcgi-run's options after PROGRAM).
  std::vector<std::string> warnings;
  // kRun: every option given, by long name, as text (the file's values, then
  // the command line's), and PROGRAM ARGS as "command": what a SIGHUP reload
  // compares to say what changed.
  std::map<std::string, std::vector<std::string>> given;
};

// Parses `args` (argv without argv[0]) and the config file (--config, else
// FCGI_RUN_CONFIG of `env`), with `env` standing for fcgi-run's environment.
ParseResult ParseConfig(const std::vector<std::string>& args, const Environment& env);

}  // namespace fcgi

#endif  // FCGI_RUN_LAUNCHER_CONFIG_OPTIONS_H_
