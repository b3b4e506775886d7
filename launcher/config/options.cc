#include "launcher/config/options.h"

#include <boost/program_options.hpp>
#include <climits>
#include <sstream>
#include <string_view>
#include <thread>

#include "core/cgi_environment.h"
#include "core/script_path.h"
#include "core/strings.h"
#include "launcher/config/config_file.h"
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
// Stored into *target by StoreBound.
po::typed_value<bool>* Flag(bool* target) {
  return po::value<bool>(target)->implicit_value(true, "true")->value_name("BOOL");
}

// An option whose text Convert() turns into a typed value (a duration, a
// size, a mode, an address...): Boost only describes it for --help and for
// the command-line and config-file parsers (value name, default shown).
po::typed_value<std::string>* Text(const char* value_name) {
  return po::value<std::string>()->value_name(value_name);
}
po::typed_value<std::vector<std::string>>* Texts(const char* value_name) {
  return po::value<std::vector<std::string>>()->value_name(value_name)->composing();
}

po::options_description MakeDescription(Config* c) {
  po::options_description general("General");
  general.add_options()("help,h", "print this help and exit")("version", "print the version and exit")(
      "verbose,v", Flag(&c->verbose), "log debug lines too (same as --log-level debug)")(
      "log", po::value(&c->log_file)->value_name("FILE"),
      "append log lines to FILE instead of stderr (reopened on SIGUSR1)")
      // Config file and error log (launcher/config/config_file.h, launcher/log/log.h).
      ("config", po::value(&c->config_file)->value_name("FILE"),
       "read options from FILE: one 'name = value' line per option (long name, no dashes; flags "
       "'name = true' or 'name = false'; repeatable options one line per value; PROGRAM as 'command = "
       "PATH', its ARGS as 'arg = ARG' lines; '#' starts a comment line, never a comment after a value). "
       "The command line overrides single values (flags too: --NAME=false switches off the file's "
       "'NAME = true') and adds to repeatable ones. SIGHUP re-reads it. Default: $FCGI_RUN_CONFIG if set")(
          "check-config", Flag(&c->check_config),
          "validate the options, config file, PROGRAM or --root, addresses, inherited sockets, users and "
          "log files as start-up does, without binding or running anything; print 'configuration OK' "
          "(exit 0) or every error (exit 2)")("log-level", Text("LEVEL")->default_value("info"),
                                              "lowest level logged: error, warning, notice, info or debug")(
          "syslog", Flag(&c->syslog),
          "send log lines to syslog instead of stderr (and still to --log FILE if given); never blocks: "
          "lines are dropped while the socket is missing or full")(
          "syslog-facility", Text("NAME")->default_value("daemon"),
          "--syslog facility: daemon, user, local0 ... local7, ...")(
          "syslog-socket", po::value(&c->syslog_socket)->default_value("/dev/log")->value_name("PATH"),
          "--syslog: the unix datagram socket written to");

  po::options_description listen("Listening");
  listen.add_options()("listen,l", Texts("ADDR"),
                       "unix:/path, tcp:HOST:PORT (IPv6: tcp:[::1]:PORT) or fd:N; repeatable. Default: the "
                       "listening socket on fd 0 (FastCGI convention) or systemd's LISTEN_FDS")(
      "socket-mode", Text("OCTAL")->default_value("0660"), "permissions of unix sockets fcgi-run creates")(
      "socket-owner", po::value(&c->socket_owner)->value_name("USER[:GROUP]"),
      "owner of unix sockets fcgi-run creates. Default: the user programs run as (--user, else "
      "--program-user when started as root), else fcgi-run's")("backlog", Text("N")->default_value("1024"),
                                                               "listen(2) backlog")(
      "parent-pipe-fd", Text("N|auto|none")->default_value("auto"),
      "stop gracefully (as on SIGTERM) when descriptor N, inherited from the spawning web server, is "
      "closed at its other end. auto: fd 5 if it is a pipe's read end and fcgi-run serves the listening "
      "socket on fd 0 (h2o's fastcgi.spawn); none: never")(
      "http", Texts("ADDR:PORT"),
      "also (or, without --listen, only) serve HTTP/1.1 directly on ADDR:PORT (127.0.0.1:8080, "
      "[::1]:8080): the built-in HTTP front, for trying a program without a web server; repeatable")(
      "http-max-header", Text("BYTES")->default_value("64K"),
      "largest HTTP request line + header block the HTTP front accepts (431 past it)");

  po::options_description run("Running programs");
  run.add_options()(
      "mode", Text("MODE")->default_value("fork"),
      "fork (default): start the program once, parked at main() by libcompat, and fork it per request "
      "(falls back to exec, with one log line, for programs that cannot be parked); exec: fork+exec "
      "the program per request; "
      "persistent: --workers processes run main() again and again (global state persists between "
      "requests: see the guide; scripts fall back to fork mode)")(
      "compat-library", po::value(&c->compat_library)->value_name("PATH"),
      "libfcgi-run-compat.so for fork mode (default: found next to the fcgi-run binary)")(
      "park-timeout", Text("SECONDS")->default_value("2"),
      "fork mode: how long a program may take to reach main() and say hello")(
      "park-retries", Text("N")->default_value("3"),
      "fork mode: failed parks in a row before falling back to exec mode")(
      "compile-per-request", Texts("PATTERN"),
      "fork mode: Perl and Python scripts matching PATTERN are compiled in every request (their "
      "interpreter parked at main()) instead of once (parked after compilation, the default); repeatable. "
      "PATTERN as for --persistent, matched against the program (and, with one PROGRAM, against absolute "
      "paths among its ARGS: perl /srv/app.pl); '*' selects every script. Default: none")(
      "max-requests", Text("N")->default_value("500"),
      "persistent mode: replace a worker after N requests (0 = never)")(
      "max-rss", Text("MIB")->default_value("0"),
      "persistent mode: replace a worker whose resident memory exceeds MIB after a request (0 = no limit)")(
      "check", Flag(&c->check),
      "do not serve: run sample requests through fork and persistent mode, compare, and say whether "
      "persistent mode is safe for PROGRAM; for a Perl or Python script, through a fresh interpreter and the "
      "script compiled once (fork mode), and say whether compiling once is safe (exit 0 safe, 1 not safe, 2 "
      "the check could not run). Its options go before PROGRAM: fcgi-run --check --request FILE PROGRAM")(
      "request", po::value(&c->check_requests)->value_name("FILE")->composing(),
      "--check: a sample request file (CGI variables NAME=VALUE, a blank line, the body); repeatable")(
      "workers,w", Text("N")->default_value("0"), "most programs running at once (0 = 2 per CPU core)")(
      "queue", Text("N")->default_value("1024"),
      "requests that may wait for a worker; past it they get 503 and END_REQUEST OVERLOADED")(
      "env,e", Texts("NAME[=VALUE]"),
      "pass NAME from fcgi-run's environment, or set it, in every program's environment; "
      "repeatable. Nothing else of fcgi-run's environment is passed except PATH. A request's params "
      "never replace these")(
      "pass-env", Texts("NAME"),
      "let requests set NAME although it is a protected variable (one of the dynamic loader's, libc's, "
      "a shell's or an interpreter's, such as LD_PRELOAD, BASH_ENV, PERL5LIB or PYTHONPATH: dropped "
      "from params by default, with one warning per name); exact name, repeatable")(
      "stderr", Text("WHERE")->default_value("fcgi"),
      "program stderr: fcgi (FCGI_STDERR records), log, both, discard")(
      "timeout", Text("SECONDS")->default_value("60"),
      "a request still running after SECONDS is terminated (504 if no header was sent); 0 = none")(
      "kill-grace", Text("SECONDS")->default_value("5"),
      "time between SIGTERM and SIGKILL when a program is stopped")(
      "shutdown-timeout", Text("SECONDS")->default_value("30"),
      "on SIGTERM/SIGINT/SIGQUIT, how long running requests may finish before they are terminated");

  po::options_description limits("Limits");
  limits.add_options()("rlimit-cpu", Text("SECONDS")->default_value("-1"),
                       "RLIMIT_CPU of each program run, whole seconds (-1 = inherited)")(
      "rlimit-as", Text("BYTES")->default_value("-1"),
      "RLIMIT_AS (address space) of each program run (-1 = inherited)")(
      "rlimit-nofile", Text("N")->default_value("-1"), "RLIMIT_NOFILE of each program run (-1 = inherited)")(
      "rlimit-nproc", Text("N")->default_value("-1"), "RLIMIT_NPROC of each program run (-1 = inherited)")(
      "rlimit-core", Text("BYTES")->default_value("-1"), "RLIMIT_CORE of each program run (-1 = inherited)")(
      "max-body", Text("BYTES")->default_value("0"),
      "refuse request bodies larger than BYTES with 413 (0 = unlimited)")(
      "max-params", Text("BYTES")->default_value("1M"),
      "largest FastCGI PARAMS stream accepted (431 past it)")(
      "max-header", Text("BYTES")->default_value("64K"),
      "largest CGI response header block accepted from a program (502 past it)")(
      "max-conn-requests", Text("N")->default_value("1024"),
      "most requests multiplexed on one connection (OVERLOADED past it)")(
      "buffer", Text("BYTES")->default_value("256K"),
      "output buffered per connection before programs are paused by their pipes; also the request "
      "body kept in memory per request before it is spooled to a temporary file")(
      "body-spool", Text("BYTES")->default_value("1G"),
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
      "allow-ext", Text(".EXT,..."),
      "dispatcher mode: only programs whose name ends in one of these extensions, e.g. .cgi,.pl "
      "(default: any name)")(
      "program", po::value(&c->allowed_programs)->value_name("PATH")->composing(),
      "dispatcher mode: only these exact programs may run; repeatable (default: any under --root). "
      "Enough on its own to start without --root; with --root, each must lie under one")(
      "persistent", Texts("PATTERN"),
      "dispatcher mode: programs matching PATTERN run in persistent mode, all others in --mode; "
      "repeatable. PATTERN: an absolute path (/srv/www/fast.cgi), a path relative to --root "
      "(legacy/*), or a file name without '/' matched in any directory (*.fast.cgi); fnmatch "
      "wildcards ('*' stops at '/'), a trailing '/' selects everything below a directory. Programs "
      "that cannot run persistent fall back with one log line. Default: none")(
      "max-classes", Text("N")->default_value("64"),
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
      "allow-from", Text("ADDR[,ADDR...]"),
      "TCP peers allowed to connect: IPv4/IPv6 addresses and CIDR prefixes; others are closed and "
      "logged. Default: FCGI_WEB_SERVER_ADDRS from the environment, else any peer");

  po::options_description observe("Status page and logs");
  observe.add_options()(
      "status-path", po::value(&c->status_path)->value_name("PATH"),
      "answer requests for PATH (DOCUMENT_URI or SCRIPT_NAME, e.g. /fcgi-status) with the status page, "
      "without running a program: text, ?json or ?openmetrics; ?full adds the active requests (their URIs "
      "and query strings). Default: off")(
      "status-allow", Text("ADDR[,ADDR...]"),
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
      "access-format", Text("FORMAT"),
      "--access-log line: %r remote address, %t time, %T ISO time, %m method, %u URI, %q query, %H protocol, "
      "%s status, %b body bytes, %B response bytes, %d duration ms, %D duration us, %p pid, %P program, "
      "%M mode, %{NAME}e a FastCGI param, %% a percent sign. Default: "
      "'%r - - [%t] \"%m %u %H\" %s %b %d %P %M %p'")(
      "slow-threshold", Text("SECONDS")->default_value("0"),
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

constexpr const char* kHelpEpilogue =
    "\nFlags ([=BOOL(=true)]): --NAME alone turns one on; --NAME=false (or no, off, 0) turns it off,\n"
    "e.g. one the --config file turned on; --NAME=true (or yes, on, 1) turns it on. The value\n"
    "must follow '=': --NAME never takes the next word (so '--syslog app.cgi' runs app.cgi).\n"
    "-v takes no value (--verbose=false does).\n"
    "Durations (SECONDS): 30, 0.5, or with a unit: 500ms, 30s, 2m, 1h. Sizes (BYTES): 65536, or\n"
    "with a binary unit: 64K, 8M, 1G.\n"
    "fcgi-run's options go before PROGRAM: the words after it are PROGRAM's arguments\n"
    "(fcgi-run --check --request FILE PROGRAM, never fcgi-run --check PROGRAM --request FILE).\n"
    "\nSignals: SIGTERM/SIGINT/SIGQUIT stop gracefully; SIGHUP re-reads the --config file (applies what\n"
    "it can, logs what needs a restart) and starts the programs afresh; SIGUSR1 reopens the log files\n"
    "(--log, --access-log, --slow-log).\n";

// "FILE:LINE: " for a value of the config file, "" for the command line's.
std::string Where(const OptionValue& v) { return v.origin.empty() ? "" : v.origin + ": "; }

// Looks up a long option as Boost's parser did (an unambiguous prefix is
// enough); nullptr with *error set when unknown or ambiguous.
const po::option_description* FindLong(const po::options_description& desc, const std::string& name,
                                       std::string* error) {
  if (const po::option_description* d = desc.find_nothrow(name, false)) return d;
  try {
    if (const po::option_description* d = desc.find_nothrow(name, true)) return d;
  } catch (const po::ambiguous_option& e) {
    std::string list;
    for (const std::string& a : e.alternatives()) list += (list.empty() ? "--" : ", --") + a;
    *error = "option '--" + name + "' is ambiguous: " + list + "?";
    return nullptr;
  }
  *error = UnknownOption("--" + name, name, "--", desc);
  return nullptr;
}

// The command line, split: options (origin ""), PROGRAM [ARGS].
struct CommandLine {
  OptionValues values;
  std::vector<std::string> program_and_args;
  bool end_of_options = false;  // "--" stood before PROGRAM
  bool help = false, version = false;
  std::vector<std::string> misplaced;  // fcgi-run's long options among ARGS ("--request")
};

// Adds `value` for option `d` given on the command line; a single-valued
// option given twice is an error.
void AddCommandLineValue(const po::option_description& d, std::string value, CommandLine* cl,
                         std::vector<std::string>* errors) {
  std::vector<OptionValue>& list = cl->values[d.long_name()];
  if (!list.empty() && !d.semantic()->is_composing()) {
    errors->push_back("--" + d.long_name() +
                      " given more than once (only repeatable options may be; a flag is switched off "
                      "with --" +
                      d.long_name() + "=false)");
    return;
  }
  list.push_back(OptionValue{std::move(value), ""});
}

// Splits argv[1..]: the PROGRAM is the first word that is not an option or an
// option's separate value; a lone `--` ends the options (and is dropped).
// Flags never take a separate word, so `--syslog /srv/a.cgi` runs /srv/a.cgi.
// Grouped short options are split (-vw4 = -v -w 4). Every malformed word adds
// an error; the walk goes on.
void SplitCommandLine(const std::vector<std::string>& args, const po::options_description& desc,
                      CommandLine* cl, std::vector<std::string>* errors) {
  size_t i = 0;
  // Takes a value option's value: the text after '=' (or the rest of a short
  // group), else the next word.
  auto take_value = [&](const po::option_description& d, const std::string& written,
                        std::optional<std::string> attached) {
    if (attached) return AddCommandLineValue(d, std::move(*attached), cl, errors);
    if (i + 1 >= args.size()) {
      errors->push_back(written + " needs a value");
      return;
    }
    AddCommandLineValue(d, args[++i], cl, errors);
  };
  auto take_switch = [&](const po::option_description& d, const std::string& written,
                         std::optional<std::string> attached) {
    const std::string& key = d.long_name();
    if (key == "help" || key == "version") {
      if (attached) errors->push_back(written + "=" + *attached + ": " + written + " takes no value");
      else (key == "help" ? cl->help : cl->version) = true;
      return;
    }
    bool on;
    if (attached && !ParseFlagWord(*attached, &on)) {
      errors->push_back(written + "=" + *attached + ": expected " + kFlagWords);
      return;
    }
    AddCommandLineValue(d, attached ? *attached : "true", cl, errors);
  };
  for (; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--") {
      cl->end_of_options = true;
      ++i;
      break;
    }
    if (a.size() < 2 || a[0] != '-') break;
    if (a.compare(0, 2, "--") == 0) {
      const size_t eq = a.find('=');
      const std::string name = a.substr(2, eq == std::string::npos ? std::string::npos : eq - 2);
      std::optional<std::string> attached;
      if (eq != std::string::npos) attached = a.substr(eq + 1);
      std::string error;
      const po::option_description* d = FindLong(desc, name, &error);
      if (d == nullptr) {
        errors->push_back(error);
        // `--timout 5`: when the option meant takes a value, the next word is
        // taken as its value, not as PROGRAM, so that the errors after it are found too.
        const std::string meant = ClosestMatch(name, LongNames(desc));
        const po::option_description* m = meant.empty() ? nullptr : desc.find_nothrow(meant, false);
        if (m != nullptr && m->semantic()->min_tokens() > 0 && !attached && i + 1 < args.size()) ++i;
        continue;
      }
      if (d->semantic()->min_tokens() == 0) take_switch(*d, "--" + name, attached);
      else take_value(*d, "--" + name, attached);
      continue;
    }
    // -x..., one short option after another while they take no value.
    for (size_t k = 1; k < a.size(); ++k) {
      const std::string written = std::string("-") + a[k];
      const po::option_description* d = desc.find_nothrow(written, false, false, false);
      if (d == nullptr) {
        errors->push_back("unknown option '" + written + "'");
        break;
      }
      if (d->semantic()->min_tokens() == 0) {
        take_switch(*d, written, std::nullopt);
        continue;
      }
      std::optional<std::string> attached;
      if (k + 1 < a.size()) attached = a.substr(k + 1);
      take_value(*d, written, attached);
      break;
    }
  }
  cl->program_and_args.assign(args.begin() + static_cast<std::ptrdiff_t>(std::min(i, args.size())),
                              args.end());
  if (cl->end_of_options || cl->program_and_args.size() < 2) return;
  for (size_t k = 1; k < cl->program_and_args.size(); ++k) {
    const std::string& w = cl->program_and_args[k];
    if (w.size() < 3 || w.compare(0, 2, "--") != 0) continue;
    const std::string name =
        w.substr(2, w.find('=') == std::string::npos ? std::string::npos : w.find('=') - 2);
    if (desc.find_nothrow(name, false) != nullptr) cl->misplaced.push_back("--" + name);
  }
}

// Stores the options Boost binds to Config fields (strings, lists of strings,
// flags): their values, else their defaults, as po::store + po::notify would.
void StoreBound(const po::options_description& desc, const OptionValues& values,
                std::vector<std::string>* errors) {
  for (const auto& d : desc.options()) {
    const std::string& key = d->long_name();
    boost::any value;
    auto it = values.find(key);
    if (it == values.end()) {
      if (!d->semantic()->apply_default(value)) continue;
    } else {
      bool ok = true;
      for (const OptionValue& v : it->second) {
        try {
          d->semantic()->parse(value, {v.text}, true);
        } catch (const po::error& e) {
          errors->push_back(Where(v) + "--" + key + " " + v.text + ": " + e.what() +
                            (v.origin.empty() ? "" : CommentHint(v.text)));
          ok = false;
          break;
        }
      }
      if (!ok) continue;
    }
    try {
      d->semantic()->notify(value);
    } catch (const po::error& e) {
      errors->push_back("--" + key + ": " + e.what());
    }
  }
}

// Turns option texts into typed values, collecting one error per bad value.
class Converter {
 public:
  Converter(const OptionValues& values, std::vector<std::string>* errors)
      : values_(values), errors_(errors) {}

  // The value of a single-valued option, nullptr when not given.
  const OptionValue* Get(const std::string& name) const {
    auto it = values_.find(name);
    return it == values_.end() || it->second.empty() ? nullptr : &it->second.back();
  }
  const std::vector<OptionValue>& All(const std::string& name) const {
    static const std::vector<OptionValue> kNone;
    auto it = values_.find(name);
    return it == values_.end() ? kNone : it->second;
  }
  // "[FILE:LINE: ]--NAME <what>" (a value of the file names its line).
  void Fail(const std::string& name, const std::string& what) {
    if (const OptionValue* v = Get(name)) return Fail(*v, name, what);
    errors_->push_back("--" + name + " " + what);
  }
  void Fail(const OptionValue& v, const std::string& name, const std::string& what) {
    errors_->push_back(Where(v) + "--" + name + " " + what + (v.origin.empty() ? "" : CommentHint(v.text)));
  }
  // A message that already names the option (core's parsers do), with the value's FILE:LINE.
  void Report(const std::string& name, const std::string& message) {
    const OptionValue* v = Get(name);
    errors_->push_back((v != nullptr ? Where(*v) : "") + message);
  }

  // Applies `parse` to the option's text when given; its error is reported.
  template <typename Parse>
  void Scalar(const std::string& name, Parse parse) {
    const OptionValue* v = Get(name);
    if (v == nullptr) return;
    Status s = parse(v->text);
    if (!s.ok()) Fail(*v, name, s.message());
  }
  template <typename Parse>
  void Each(const std::string& name, Parse parse) {
    for (const OptionValue& v : All(name)) {
      Status s = parse(v.text);
      if (!s.ok()) Fail(v, name, s.message());
    }
  }

  void DurationValue(const std::string& name, Duration* out, bool positive = false) {
    Scalar(name, [&](const std::string& t) {
      Duration d;
      Status s = ParseDuration(t, &d);
      if (s.ok() && positive && d <= Duration(0)) s = Status::Invalid("'" + t + "': must be more than 0");
      if (s.ok()) *out = d;
      return s;
    });
  }
  template <typename T>
  void CountValue(const std::string& name, uint64_t min, uint64_t max, T* out) {
    Scalar(name, [&](const std::string& t) {
      uint64_t n;
      Status s = ParseCount(t, max, &n);
      if (s.ok() && n < min) s = Status::Invalid("'" + t + "': must be at least " + std::to_string(min));
      if (s.ok()) *out = static_cast<T>(n);
      return s;
    });
  }
  template <typename T>
  void SizeValue(const std::string& name, uint64_t min, uint64_t max, T* out) {
    Scalar(name, [&](const std::string& t) {
      uint64_t n;
      Status s = ParseSize(t, max, &n);
      if (s.ok() && n < min)
        s = Status::Invalid("'" + t + "': must be at least " + std::to_string(min) + " bytes");
      if (s.ok()) *out = static_cast<T>(n);
      return s;
    });
  }
  // An rlimit: -1 (inherit), else a count or (bytes) a size.
  void LimitValue(const std::string& name, bool bytes, int64_t* out) {
    Scalar(name, [&](const std::string& t) {
      if (t == "-1") {
        *out = -1;
        return Status::Ok();
      }
      uint64_t n;
      Status s = bytes ? ParseSize(t, INT64_MAX, &n) : ParseCount(t, INT64_MAX, &n);
      if (!s.ok()) return Status::Invalid(s.message() + " (or -1 to inherit fcgi-run's limit)");
      *out = static_cast<int64_t>(n);
      return s;
    });
  }

 private:
  const OptionValues& values_;
  std::vector<std::string>* errors_;
};

// --env: NAME=VALUE as given, NAME from `env` (left out when unset there), then PATH.
void ResolveEnvironment(Converter& cv, const Environment& env, NameValuePairs* out) {
  bool have_path = false;
  cv.Each("env", [&](const std::string& e) {
    const size_t eq = e.find('=');
    if (e.empty() || eq == 0) return Status::Invalid("'" + e + "': expected NAME or NAME=VALUE");
    const std::string name = e.substr(0, eq);
    if (eq != std::string::npos) {
      out->emplace_back(name, e.substr(eq + 1));
    } else if (const std::string* v = env.Find(name)) {
      out->emplace_back(name, *v);
    }
    if (name == "PATH") have_path = true;
    return Status::Ok();
  });
  if (!have_path) {
    const std::string* path = env.Find("PATH");
    out->emplace_back("PATH", path != nullptr ? *path : std::string(kDefaultPath));
  }
}

// Every option whose text needs converting, in the order of --help.
void Convert(Converter& cv, const Environment& env, Config* c) {
  cv.Scalar("log-level", [c](const std::string& t) {
    return ParseLogLevel(t, &c->log_level)
               ? Status::Ok()
               : Status::Invalid(t + ": expected error, warning, notice, info or debug");
  });
  if (c->verbose) c->log_level = LogLevel::kDebug;
  cv.Scalar("syslog-facility", [c](const std::string& t) {
    return ParseSyslogFacility(t, &c->syslog_facility)
               ? Status::Ok()
               : Status::Invalid(
                     t +
                     ": expected daemon, user, local0 ... local7, auth, authpriv, cron, ftp, kern, "
                     "lpr, mail, news, syslog or uucp");
  });
  if (c->syslog_socket.empty() || c->syslog_socket.size() > kMaxUnixPathBytes) {
    cv.Fail("syslog-socket", "'" + c->syslog_socket + "': expected a unix socket path of 1-107 bytes");
  }

  cv.Each("listen", [c](const std::string& t) {
    ListenAddress a;
    Status s = ParseListenAddress(t, &a);
    if (s.ok()) c->listen.push_back(a);
    return s.ok() ? s : Status::Invalid(t + ": " + s.message());
  });
  cv.Scalar("socket-mode", [c](const std::string& t) {
    char* end = nullptr;
    unsigned long m = std::strtoul(t.c_str(), &end, 8);
    if (t.empty() || *end != '\0' || m > 07777 || t[0] == '-') {
      return Status::Invalid(t + ": expected an octal mode such as 0660");
    }
    c->socket_mode = static_cast<unsigned>(m);
    return Status::Ok();
  });
  cv.CountValue("backlog", 1, INT_MAX, &c->backlog);
  cv.Scalar("parent-pipe-fd", [c](const std::string& t) {
    if (t == "auto" || t == "none") {
      c->parent_pipe_fd = t == "auto" ? kParentPipeAuto : kParentPipeNone;
      return Status::Ok();
    }
    uint64_t fd;
    if (!ParseCount(t, INT_MAX, &fd).ok())
      return Status::Invalid(t + ": expected auto, none or a descriptor number");
    c->parent_pipe_fd = static_cast<int>(fd);
    return Status::Ok();
  });
  cv.Each("http", [c](const std::string& t) {
    ListenAddress a;
    Status s = ParseListenAddress(t.rfind("tcp:", 0) == 0 ? t : "tcp:" + t, &a);
    if (!s.ok()) return Status::Invalid(t + ": " + s.message());
    if (a.kind != ListenAddress::Kind::kTcp) return Status::Invalid(t + ": expected HOST:PORT");
    c->http.push_back(a);
    return s;
  });
  cv.SizeValue("http-max-header", 1024, 1u << 30, &c->http_max_header_bytes);

  cv.Scalar("mode", [c](const std::string& t) {
    return ParseRunMode(t, &c->mode)
               ? Status::Ok()
               : Status::Invalid(t + ": unknown mode (expected exec, fork or persistent)");
  });
  cv.DurationValue("park-timeout", &c->park_timeout, /*positive=*/true);
  cv.CountValue("park-retries", 1, INT_MAX, &c->park_retries);
  cv.CountValue("max-requests", 0, UINT32_MAX, &c->max_requests);
  cv.CountValue("max-rss", 0, uint64_t{1} << 40, &c->max_rss_mib);
  cv.CountValue("workers", 0, 1u << 20, &c->workers);
  cv.CountValue("queue", 0, 1u << 30, &c->queue);
  ResolveEnvironment(cv, env, &c->env);
  cv.Scalar("stderr", [c](const std::string& t) {
    if (t == "fcgi") c->stderr_mode = StderrMode::kFcgi;
    else if (t == "log") c->stderr_mode = StderrMode::kLog;
    else if (t == "both") c->stderr_mode = StderrMode::kBoth;
    else if (t == "discard") c->stderr_mode = StderrMode::kDiscard;
    else return Status::Invalid(t + ": expected fcgi, log, both or discard");
    return Status::Ok();
  });
  cv.DurationValue("timeout", &c->timeout);
  cv.DurationValue("kill-grace", &c->kill_grace);
  cv.DurationValue("shutdown-timeout", &c->shutdown_timeout);

  cv.LimitValue("rlimit-cpu", false, &c->rlimit_cpu);
  cv.LimitValue("rlimit-as", true, &c->rlimit_as);
  cv.LimitValue("rlimit-nofile", false, &c->rlimit_nofile);
  cv.LimitValue("rlimit-nproc", false, &c->rlimit_nproc);
  cv.LimitValue("rlimit-core", true, &c->rlimit_core);
  cv.SizeValue("max-body", 0, UINT64_MAX, &c->max_body);
  cv.SizeValue("max-params", 1, 1u << 30, &c->max_params_bytes);
  cv.SizeValue("max-header", 256, 1u << 30, &c->max_header_bytes);
  cv.CountValue("max-conn-requests", 1, 1u << 30, &c->max_requests_per_connection);
  cv.SizeValue("buffer", 4096, 1u << 30, &c->buffer_bytes);
  cv.SizeValue("body-spool", 0, UINT64_MAX, &c->body_spool_bytes);
  if (c->tmp_dir.empty()) {
    const std::string t = env.Value("TMPDIR");
    c->tmp_dir = t.empty() ? "/tmp" : t;
  }

  if (const OptionValue* v = cv.Get("allow-ext")) {
    Status s = ParseExtensionList(v->text, &c->allow_ext);
    if (!s.ok()) cv.Report("allow-ext", s.message());
  }
  cv.CountValue("max-classes", 1, 1u << 20, &c->max_classes);
  {
    std::vector<std::string> patterns;
    for (const OptionValue& v : cv.All("persistent")) patterns.push_back(v.text);
    if (!patterns.empty()) {
      Status s = PersistentPatterns::Parse(patterns, !c->root.empty(), &c->persistent);
      if (!s.ok()) cv.Report("persistent", s.message());
    }
  }
  cv.Each("pass-env", [c](const std::string& name) {
    if (name.empty() || name.find('=') != std::string::npos)
      return Status::Invalid("'" + name + "': expected a variable NAME");
    if (ProtectedVariable(name) == nullptr)
      return Status::Invalid(name + ": not a protected variable (requests may set it already)");
    c->pass_env.push_back(name);
    return Status::Ok();
  });
  {
    std::vector<std::string> patterns;
    for (const OptionValue& v : cv.All("compile-per-request")) patterns.push_back(v.text);
    if (!patterns.empty()) {
      Status s = PersistentPatterns::Parse(patterns, !c->root.empty(), &c->compile_per_request,
                                           "--compile-per-request");
      if (!s.ok()) cv.Report("compile-per-request", s.message());
    }
  }
  if (const OptionValue* v = cv.Get("allow-from")) {
    PeerAllowList list{AddressFilter(), "--allow-from"};
    Status s = AddressFilter::Parse(v->text, &list.filter);
    if (s.ok()) c->allowed_peers = std::move(list);
    else cv.Fail(*v, "allow-from", v->text + ": " + s.message());
  } else if (std::string addrs = env.Value("FCGI_WEB_SERVER_ADDRS"); !addrs.empty()) {
    PeerAllowList list{AddressFilter(), "FCGI_WEB_SERVER_ADDRS"};
    Status s = AddressFilter::Parse(addrs, &list.filter);
    if (s.ok()) c->allowed_peers = std::move(list);
    else cv.Report("", "FCGI_WEB_SERVER_ADDRS (from the environment) " + addrs + ": " + s.message());
  }

  if (const OptionValue* v = cv.Get("status-allow")) {
    AddressFilter filter;
    Status s = AddressFilter::Parse(v->text, &filter);
    if (s.ok()) c->status_allow = std::move(filter);
    else cv.Fail(*v, "status-allow", v->text + ": " + s.message());
  }
  {
    std::string format = kDefaultAccessFormat;
    if (const OptionValue* v = cv.Get("access-format")) format = v->text;
    Status s = AccessFormat::Parse(format, &c->access_format);
    if (!s.ok()) cv.Fail("access-format", "'" + format + "': " + s.message());
  }
  cv.DurationValue("slow-threshold", &c->slow_threshold);

  // LISTEN_FDS counts only when LISTEN_PID names this process (sd_listen_fds(3)).
  const std::string pid = env.Value("LISTEN_PID"), fds = env.Value("LISTEN_FDS");
  uint64_t listen_pid = 0, listen_fds = 0;
  if (ParseCount(pid, INT_MAX, &listen_pid).ok() && static_cast<pid_t>(listen_pid) == env.pid() &&
      ParseCount(fds, 1024, &listen_fds).ok()) {
    c->systemd_fds = static_cast<int>(listen_fds);
  }
}

}  // namespace

ParseResult ParseConfig(const std::vector<std::string>& args, const Environment& env) {
  ParseResult result;
  Config& c = result.config;
  std::vector<std::string>& errors = result.errors;
  po::options_description desc = MakeDescription(&c);
  CommandLine cl;
  SplitCommandLine(args, desc, &cl, &errors);
  if (cl.help) {
    std::ostringstream out;
    out << desc << kHelpEpilogue;
    result.output = out.str();
    result.errors.clear();
    result.outcome = ParseOutcome::kExitSuccess;
    return result;
  }
  if (cl.version) {
    result.output = std::string("fcgi-run ") + FCGI_RUN_VERSION + "\n";
    result.errors.clear();
    result.outcome = ParseOutcome::kExitSuccess;
    return result;
  }
  const size_t command_line_errors = errors.size();

  // The config file: --config, else FCGI_RUN_CONFIG.
  OptionValues values = cl.values;
  ConfigCommand file_command;
  std::string path = env.Value(kConfigEnvVar);
  if (auto it = values.find("config"); it != values.end()) path = it->second.back().text;
  if (!path.empty()) {
    std::string text;
    Status s = ReadConfigFile(path, &text);
    if (!s.ok()) {
      errors.push_back(s.message());
    } else {
      std::vector<ConfigEntry> entries;
      ParseConfigText(text, path, &entries, &errors);
      MergeConfigFile(path, entries, desc, &values, &file_command, &errors);
    }
  }

  StoreBound(desc, values, &errors);
  c.config_file = path;
  Converter cv(values, &errors);
  Convert(cv, env, &c);

  // Options that need another.
  if (!c.status_path.empty() && c.status_path[0] != '/') {
    cv.Fail("status-path", c.status_path + ": expected a path starting with '/'");
  }
  if (!c.ping_path.empty() && c.ping_path[0] != '/') {
    cv.Fail("ping-path", c.ping_path + ": expected a path starting with '/'");
  }
  if (!c.status_path.empty() && c.status_path == c.ping_path) {
    cv.Fail("ping-path", "and --status-path must differ");
  }
  if (c.slow_backtrace && c.slow_threshold <= Duration(0))
    cv.Fail("slow-backtrace", "needs --slow-threshold SECONDS");
  // PROGRAM [ARGS]: the command line's, else the config file's `command` and `arg` lines.
  std::vector<std::string> program_and_args = cl.program_and_args;
  if (program_and_args.empty() && !file_command.program.empty()) {
    program_and_args.push_back(file_command.program);
    program_and_args.insert(program_and_args.end(), file_command.args.begin(), file_command.args.end());
  }
  const bool dispatcher_options =
      !c.root.empty() || c.allow_any_path || !c.allow_ext.empty() || !c.allowed_programs.empty();
  // After an unknown option its value may have been taken for PROGRAM: say nothing more about PROGRAM.
  if (command_line_errors == 0) {
    if (!cv.All("persistent").empty()) {  // dispatcher mode only (core/persistent_patterns.h)
      if (!program_and_args.empty()) {
        cv.Fail("persistent", "selects programs in dispatcher mode (--root DIR, no PROGRAM); to run " +
                                  program_and_args.front() + " in persistent mode use --mode persistent");
      } else if (c.mode == RunMode::kPersistent) {
        cv.Fail("persistent",
                "with --mode persistent: every program already runs in persistent mode; give --mode fork or "
                "exec for the programs that do not match");
      }
    }
    if (program_and_args.empty()) {
      if (!dispatcher_options) {
        errors.push_back(
            "no PROGRAM given: usage is fcgi-run [OPTIONS] PROGRAM [ARGS...], or fcgi-run --root DIR "
            "[OPTIONS] to run the program each request names (dispatcher mode)");
      } else if (c.root.empty() && c.allowed_programs.empty() && !c.allow_any_path) {
        errors.push_back(
            "dispatcher mode without --root would run any file a request names: give --root DIR "
            "(or --program PATH, or --allow-any-path if that is really meant)");
      }
    } else if (dispatcher_options) {
      errors.push_back(
          "--root, --allow-any-path, --allow-ext and --program are for dispatcher mode, "
          "which has no PROGRAM (got " +
          program_and_args.front() + ")");
    }
  }
  if (!cl.misplaced.empty()) {
    std::string names;
    for (const std::string& m : cl.misplaced) {
      if (names.find("'" + m + "'") == std::string::npos) names += (names.empty() ? "'" : ", '") + m + "'";
    }
    if (c.check) {
      errors.push_back("--check: " + names + " after PROGRAM would be passed to PROGRAM as " +
                       (cl.misplaced.size() > 1 ? "arguments" : "an argument") +
                       ", and the check would not use it: put fcgi-run's options before PROGRAM (fcgi-run "
                       "--check --request FILE PROGRAM), or write '--' before PROGRAM if PROGRAM itself "
                       "takes " +
                       names);
    } else {
      result.warnings.push_back(names + " after PROGRAM " + (cl.misplaced.size() > 1 ? "are" : "is") +
                                " passed to PROGRAM as " +
                                (cl.misplaced.size() > 1 ? "arguments" : "an argument") +
                                ", not read by fcgi-run: fcgi-run's options go before PROGRAM (write '--' "
                                "before PROGRAM to pass them on without this warning)");
    }
  }
  // Also with errors (for --check-config, which checks what it can), unless a
  // malformed command line may have taken an option's value for PROGRAM.
  if (!program_and_args.empty() && command_line_errors == 0) {
    c.program = program_and_args.front();
    c.args.assign(program_and_args.begin() + 1, program_and_args.end());
  }
  if (!errors.empty()) return result;
  for (const auto& [key, list] : values) {
    for (const OptionValue& v : list) result.given[key].push_back(v.text);
  }
  result.given["command"] = program_and_args;
  result.outcome = ParseOutcome::kRun;
  return result;
}

}  // namespace fcgi
