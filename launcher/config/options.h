// Command-line options of fcgi-run (Boost.Program_options), as a plain Config.
//
// `fcgi-run [OPTIONS] PROGRAM [ARGS...]`, or `fcgi-run --root DIR [OPTIONS]`
// (dispatcher mode, no PROGRAM). Everything after the first non-option
// word (or after `--`) is the program and its arguments, passed untouched, so
// `fcgi-run ./app.cgi -x` gives `-x` to the program. Every limit has an option
// and a documented default (`fcgi-run --help`).
// Flags (verbose, syslog, check, allow-root, ...): `--NAME` alone is true,
// `--NAME=WORD` sets either value with the config file's words (kFlagWords in
// launcher/config/config_file.h), so `--syslog=false` switches off the file's
// `syslog = true`. A flag never takes the next word (`--syslog PROGRAM` runs
// PROGRAM); the short -v takes no value and groups (-vw4 = -v -w 4).
#ifndef FCGI_RUN_LAUNCHER_CONFIG_OPTIONS_H_
#define FCGI_RUN_LAUNCHER_CONFIG_OPTIONS_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"

namespace fcgi {

enum class StderrMode { kFcgi, kLog, kBoth, kDiscard };

struct Config {
  // Where to listen ("unix:/path", "tcp:HOST:PORT", "fd:N"); empty = fd 0 or systemd.
  std::vector<std::string> listen;
  unsigned socket_mode = 0660;
  std::string socket_owner;  // USER[:GROUP], empty = unchanged
  int backlog = 1024;
  // --parent-pipe-fd: "auto" (fd 5 when spawned by h2o), "none" or N; its EOF stops
  // fcgi-run as SIGTERM does (launcher/front/parent_watch.h).
  std::string parent_pipe_fd = "auto";
  // Built-in HTTP front: --http ADDR:PORT (repeatable; alone or with --listen)
  // and the largest HTTP request header block it accepts (431 past it).
  std::vector<std::string> http;
  size_t http_max_header_bytes = 64 * 1024;

  std::string mode = "fork";   // fork (default) | exec | persistent
  std::string compat_library;  // libfcgi-run-compat.so ("" = next to the binary)
  double park_timeout_seconds = 2;
  int park_retries = 3;
  // Persistent mode: recycle a worker after this many requests (0 = never) or
  // past this resident size in MiB (0 = no limit).
  uint32_t max_requests = 500;
  uint64_t max_rss_mib = 0;
  // `fcgi-run --check PROGRAM [--request FILE...]`: persistent-mode safety check.
  bool check = false;
  std::vector<std::string> check_requests;
  unsigned workers = 0;          // 0 = 2 per core
  size_t queue = 1024;           // requests waiting for a worker; past it: OVERLOADED + 503
  std::vector<std::string> env;  // NAME or NAME=VALUE
  // --pass-env NAME: protected variables (core/cgi_environment.h) a request's
  // params may set nonetheless.
  std::vector<std::string> pass_env;
  StderrMode stderr_mode = StderrMode::kFcgi;

  double timeout_seconds = 60;  // 0 = none
  double kill_grace_seconds = 5;
  double shutdown_timeout_seconds = 30;
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
  std::string tmp_dir;                     // where body spool files go ("" = $TMPDIR or /tmp)

  // Dispatcher mode (no PROGRAM: each request names its program) and security.
  // --root PATH (repeatable): a directory (programs must lie under it) or one
  // program file (that program may run, with PATH_INFO after its name).
  std::vector<std::string> root;
  bool allow_any_path = false;                // dispatcher mode without --root
  std::string allow_ext;                      // --allow-ext ".cgi,.pl" ("" = any)
  std::vector<std::string> allowed_programs;  // --program PATH (repeatable; empty = any)
  size_t max_classes = 64;                    // worker classes (one per program) kept
  std::vector<std::string> persistent;        // --persistent PATTERN: these programs run in persistent mode
  // --compile-per-request PATTERN: fork mode parks these Perl/Python scripts at
  // main() (compiled in every request) instead of after their compilation.
  std::vector<std::string> compile_per_request;
  std::string user;                           // --user USER[:GROUP]: the launcher drops to it after binding
  std::string program_user;                   // --program-user USER[:GROUP]: programs run as it
  bool allow_root = false;                    // run programs as root (started as root without the above)
  bool allow_setid_programs = false;          // execve may grant set-id/capability privileges
  std::string allow_from;  // --allow-from: TCP peers allowed ("" = FCGI_WEB_SERVER_ADDRS or any)
  bool dispatcher() const { return program.empty(); }

  bool verbose = false;
  std::string log_file;
  // Config file and error log (launcher/config/config_file.h, launcher/log/log.h): --config FILE
  // (or FCGI_RUN_CONFIG), --check-config, --log-level, --syslog[-facility|-socket].
  std::string config_file;  // the file read ("" = none)
  bool check_config = false;
  std::string log_level = "info";  // error|warning|notice|info|debug; -v = debug
  bool syslog = false;
  std::string syslog_facility = "daemon";
  std::string syslog_socket = "/dev/log";

  // Status page, ping, access and slow logs (launcher/request/builtin_pages.h, access_log.h, slow_log.h).
  std::string status_path;             // --status-path ("" = off)
  std::string status_allow;            // --status-allow ("" = loopback on the HTTP front, any on FastCGI)
  std::string ping_path;               // --ping-path ("" = off)
  std::string ping_response = "pong";  // --ping-response
  std::string access_log;              // --access-log FILE ("" = off, "-" = stdout)
  std::string access_format;           // --access-format ("" = core/access_format.h's default)
  double slow_threshold_seconds = 0;   // --slow-threshold (0 = off)
  std::string slow_log;                // --slow-log FILE ("" = the error log)
  bool slow_backtrace = false;         // --slow-backtrace (gdb)

  std::string program;            // PROGRAM (as given)
  std::vector<std::string> args;  // ARGS

  unsigned EffectiveWorkers() const;
};

enum class ParseOutcome { kRun, kExitSuccess, kExitFailure };

// Parses argv into *config. Prints --help / --version text to stdout and errors
// (naming the option and the bad value) to stderr; the outcome says whether to
// run or to exit with success/failure.
ParseOutcome ParseCommandLine(int argc, const char* const* argv, Config* config);

}  // namespace fcgi

#endif  // FCGI_RUN_LAUNCHER_CONFIG_OPTIONS_H_
