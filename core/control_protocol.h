// The control protocol between the launcher and libcompat's fork mode.
//
// Shared, byte for byte, by the shim (libcompat/: C++ without exceptions;
// whatever it uses of libstdc++ is linked statically, its symbols kept local)
// and the launcher (launcher/compat_channel.*). Only <cstdint>/<cstddef> and
// constexpr values here: nothing that needs a runtime. The overview for
// readers: docs/protocol.md "The control protocol between fcgi-run and its shim".
//
// Transport: one AF_UNIX SOCK_SEQPACKET socket (one end of a socketpair). The
// launcher hands the shim its end as an inherited fd whose number is in the
// environment variable FCGI_RUN_COMPAT_FD. SEQPACKET keeps message boundaries:
// one sendmsg() = one message; a message never exceeds kMaxMessageBytes.
// Both peers run on the same host, so integers are in native byte order. Every
// message starts with a uint32_t type; its fixed part is the struct below
// (no padding: see the static_asserts), a RUN message has variable data after.
//
// Life of a parked program:
//   launcher: socketpair, spawn the program with LD_PRELOAD=libfcgi-run-compat.so,
//             LD_BIND_NOW=1, FCGI_RUN_COMPAT_FD=<n>, stdin on /dev/null.
//   shim   -> HELLO                   parked; ready for RUN (or REFUSED, then exit)
//   launcher -> RUN (+3 fds)          one per request
//   shim   -> STARTED | FAILED        exactly one per RUN, in RUN order; the
//                                     child begins main() only once its
//                                     STARTED is on the socket (see STARTED)
//   shim   -> EXITED                  exactly one per STARTED, when the child is reaped
//   launcher -> SIGNAL                optional: signal a running child's process group
//   launcher -> SHUTDOWN              drain: no more RUN; the shim waits for all
//                                     running children, sends their EXITED, then
//                                     BYE, and exits with status 0
//   EOF on the socket (launcher gone or closed its end): hard stop: the shim
//   SIGKILLs every running child's process group, reaps them, exits status 0.
//
// Persistent mode (FCGI_RUN_COMPAT_MODE=persistent at spawn; one request at a
// time; libcompat/persistent_server.h): the same messages, but the "child" is
// the parked process itself, which calls main() again for every RUN:
//   shim   -> HELLO (flags kHelloPersistent, maybe kHelloLibStdCxx)
//   launcher -> RUN (+0 to 3 fds)     only while no request is running
//   shim   -> STARTED{pid = its own pid} | FAILED   (no STARTED with kRunNoStarted)
//   shim   -> REPORT                  what the shim repaired / observed (below)
//   shim   -> EXITED{wait_status = W_EXITCODE(code, 0)}   main returned or
//                                     exit()/_exit()/_Exit() was intercepted
//   launcher -> SHUTDOWN              between requests: BYE, exit status 0
// Resident output (persistent mode's fast path): a RUN with kRunResidentOutput
// carries stdout and stderr pipes that the worker keeps on fds 1 and 2 after
// the request instead of putting /dev/null back, and later RUNs with
// kRunKeepOutput carry no output fds: the request writes to the same pipes.
// The launcher then cannot wait for EOF; a request's output is what the pipes
// hold once EXITED arrived (the worker writes all of it before sending
// EXITED). The worker gives the pipes up (REPORT flag kReportOutputReleased,
// fds 1 and 2 back on /dev/null) when a process the request started still
// runs (it may hold them and write later) or when fd 1 or 2 no longer is the
// pipe it was given; the launcher's next RUN then brings new pipes.
// kRunStdinNull: no stdin fd; the request's stdin is /dev/null (no body).
// SIGNAL is not served while main() runs: the launcher stops a request by
// signalling the worker's process group and replaces the worker. A crash
// ends the worker: the launcher reports the worker's wait status instead.
// A request may close the worker's own fds (a daemon-style close of every fd
// from 3 up): the worker checks them after main(). Without its control socket
// it cannot report: it flushes the request's output and exits with the
// request's exit status, which the launcher takes as the request's (as after
// a crash). Without what it needs to put itself back in order (the fd of its
// parked directory; a /dev/null or standard stream it cannot reopen) it
// reports kReportWorkerRetires, answers every later RUN with
// FAILED(ESHUTDOWN) and waits for SHUTDOWN. A standard stream the request
// closed (fclose: gnulib's close_stdout) is reopened on its fd
// (kReportStdioReopened).
//
// Script park (FCGI_RUN_COMPAT_PARK=perl|python at spawn; libcompat/script_park.h):
// the fork server starts after the script's compilation instead of at main().
// The launcher starts the interpreter itself (perl -M<module>, python3
// <bootstrap>, see launcher/shim/script_park.h) with stdin on a file holding one
// byte (kCompileStdinProbe: a read during compilation moves its offset) and
// stdout and stderr on files (memfds) it can read. The shim scrubs the
// launch variables and lets main() run; the module or bootstrap calls the
// exported fcgi_run_park_script() once the script is compiled, which checks
// the process (one thread; stdin neither read nor replaced; stdout and stderr
// still the launcher's files), keeps what compilation wrote to stdout and
// stderr, and enters the same fork server loop:
//   shim   -> HELLO (flags kHelloScript) | REFUSED (kRefuseThreads,
//             kRefuseStdinRead, kRefuseStdioReplaced, kRefuseCompileOutput)
//   then RUN / STARTED / EXITED / SIGNAL / SHUTDOWN exactly as above.
// A process that exits or does not say HELLO within the deadline never
// parked: the script did not compile, exited while compiling, or compiled
// too slowly. In each child the shim installs the RUN's stdio, cwd and
// environment as for main() (environ malloc'd: interpreters may free it),
// writes what compilation wrote to stdout and stderr to the request's stdout
// and stderr, gives every file opened read-only during compilation its own
// offset again (reopened through /proc/self/fd at the offset it had when the
// script parked: the __DATA__ handle, files read at compile time), publishes
// the RUN's env block in fcgi_run_script_request, and returns from
// fcgi_run_park_script(): the script's run-time part runs in the child.
//
// What a child inherits (document this for users): everything the program did
// before main() (constructors, PRNG seeds, address layout, anything read from
// the start-up environment) is shared by all children. argv is the parked
// process's argv. The child gets: its own process group (setpgid(0,0)), the
// signal mask and SIGCHLD disposition the program had when it reached main()
// (the shim's own changes undone; other dispositions are what the program's
// constructors left, exactly as in exec mode), PR_SET_PDEATHSIG=SIGKILL unless
// kRunNoParentDeathSignal (and until its STARTED is sent in any case),
// stdin/stdout/stderr from the RUN fds, environ = the RUN env block and
// nothing else, cwd from the RUN message if given. It then runs
// main(argc, argv, environ) and exit()s with main's result.
#ifndef FCGI_RUN_CORE_CONTROL_PROTOCOL_H_
#define FCGI_RUN_CORE_CONTROL_PROTOCOL_H_

#include <cstddef>
#include <cstdint>

namespace fcgi::compat {

inline constexpr uint32_t kProtocolVersion = 1;

// Environment variable naming the control socket's fd number (decimal).
inline constexpr char kControlFdEnv[] = "FCGI_RUN_COMPAT_FD";
// The shim removes these from its own environment before main() runs, so that
// programs started by the CGI program (system(), popen()) never load the shim.
inline constexpr char kLaunchVarPrefix[] = "FCGI_RUN_";  // every FCGI_RUN_* variable
// (LD_PRELOAD and LD_BIND_NOW are removed as well.)
// Which loop the shim runs: unset or "fork" = fork mode, "persistent" = main()
// runs again and again in the parked process (one request at a time).
inline constexpr char kModeEnv[] = "FCGI_RUN_COMPAT_MODE";
inline constexpr char kModePersistent[] = "persistent";
// Script park: the shim lets main() run and parks when the script's module or
// bootstrap calls fcgi_run_park_script(). The value names the language.
inline constexpr char kParkEnv[] = "FCGI_RUN_COMPAT_PARK";
inline constexpr char kParkPerl[] = "perl";
inline constexpr char kParkPython[] = "python";
// What a script-park process has on stdin while it compiles (one byte).
inline constexpr char kCompileStdinProbe[] = "\n";
// Most bytes of compile-time stdout + stderr the shim keeps for its children.
inline constexpr uint32_t kMaxCompileOutputBytes = 64 * 1024;

// Largest message either side sends or accepts (a RUN with its env block).
inline constexpr size_t kMaxMessageBytes = 128 * 1024;
// Most children one parked process runs at once; RUN beyond -> FAILED(EAGAIN).
inline constexpr uint32_t kMaxChildren = 1024;
// Most entries in a RUN env block sent in the message itself (NAME=VALUE
// strings); a larger environment travels in a memfd (kRunEnvMemfd).
inline constexpr uint32_t kMaxEnvEntries = 4096;
// This many fds travel with a RUN: stdin, stdout, stderr, in that order (fewer
// in persistent mode with kRunStdinNull / kRunKeepOutput).
inline constexpr int kRunFdCount = 3;
// Exit status of a program whose shim refused to park (after REFUSED, or when
// the control fd is unusable so not even REFUSED could be sent). main() never ran.
inline constexpr int kRefusedExitStatus = 125;

enum MessageType : uint32_t {
  // shim -> launcher
  kHello = 1,
  kRefused = 2,
  kStarted = 3,
  kFailed = 4,
  kExited = 5,
  kBye = 6,
  kReport = 7,  // persistent mode only
  // launcher -> shim
  kRun = 101,
  kSignal = 102,
  kShutdown = 103,
};

// HELLO (shim -> launcher, first message): the program reached main(), is
// single-threaded and is parked. The launcher must not trust a program as
// parked until HELLO arrives (static and set-id binaries never send it).
enum HelloFlags : uint32_t {
  kHelloBindNow = 1u << 0,     // LD_BIND_NOW was set: symbols bound before the park
  kHelloPersistent = 1u << 1,  // the persistent loop runs (not the fork server)
  kHelloLibStdCxx = 1u << 2,   // libstdc++ is loaded: an intercepted exit() may
                               // have skipped destructors (locks left held)
  kHelloScript = 1u << 3,      // script park: parked after the script's compilation
};
struct HelloMessage {
  uint32_t type;               // kHello
  uint32_t version;            // kProtocolVersion
  uint32_t pid;                // the parked process
  uint32_t flags;              // HelloFlags
  uint32_t max_children;       // the shim's kMaxChildren
  uint32_t max_message_bytes;  // the shim's kMaxMessageBytes
};

// REFUSED (shim -> launcher, instead of HELLO): the shim will not park; the
// process then exits with kRefusedExitStatus without running main().
enum RefuseReason : uint32_t {
  kRefuseThreads = 1,  // more than one thread at main(): fork would lose them
  kRefuseSetup = 2,    // a syscall the parked loop needs failed (see error)
  // Script park only:
  kRefuseStdinRead = 3,      // the script read stdin while compiling
  kRefuseStdioReplaced = 4,  // fd `error` (0, 1 or 2) was closed or replaced while compiling
  kRefuseCompileOutput = 5,  // `error` bytes of output while compiling: more than
                             // kMaxCompileOutputBytes, or any stdout from Python
};
struct RefusedMessage {
  uint32_t type;    // kRefused
  uint32_t reason;  // RefuseReason
  uint32_t error;   // errno for kRefuseSetup, the thread count for kRefuseThreads, ...
  uint32_t pid;
};

// RUN (launcher -> shim), with kRunFdCount fds in one SCM_RIGHTS message.
// Followed by env_bytes of env block (each entry "NAME=VALUE\0"; the block
// ends right after the last entry's NUL, env_bytes may be 0) and then
// cwd_bytes of directory path (no NUL; cwd_bytes == 0: keep the parked cwd).
// The fds present travel in the order stdin, stdout, stderr; kRunStdinNull
// leaves stdin out, kRunKeepOutput stdout and stderr (persistent mode only).
// kRunEnvMemfd: the env block is not in the message but in a sealed memfd,
// one more fd after the others, whose first env_bytes bytes it is (the
// launcher uses it when the block would take the message past
// kMaxMessageBytes or has more than kMaxEnvEntries entries): so the
// environment's size is bounded by the launcher's --max-params alone, in
// every mode.
enum RunFlags : uint32_t {
  kRunNoParentDeathSignal = 1u << 0,  // do not set PR_SET_PDEATHSIG(SIGKILL)
  kRunStdinNull = 1u << 1,            // persistent: no stdin fd, /dev/null instead
  kRunResidentOutput = 1u << 2,       // persistent: keep this RUN's stdout/stderr after it
  kRunKeepOutput = 1u << 3,           // persistent: no output fds, the resident ones
  kRunNoStarted = 1u << 4,            // persistent: no STARTED (FAILED still comes)
  kRunEnvMemfd = 1u << 5,             // the env block is in a memfd (the last fd)
};
struct RunHeader {
  uint32_t type;        // kRun
  uint32_t flags;       // RunFlags
  uint64_t request_id;  // chosen by the launcher, echoed in the replies
  uint32_t env_bytes;
  uint32_t cwd_bytes;
};

// STARTED (shim -> launcher): the child for request_id was forked. Its pid is
// also its process group id. Fork mode: the child waits (before main(), with
// PR_SET_PDEATHSIG(SIGKILL)) until the parked process has put its STARTED on
// the socket, so a RUN the launcher never got a STARTED for never ran main(),
// even if the parked process died after the fork: the launcher may run that
// request again elsewhere.
struct StartedMessage {
  uint32_t type;  // kStarted
  uint32_t pid;
  uint64_t request_id;
};

// FAILED (shim -> launcher): no child was started for request_id. error is an
// errno value: EAGAIN (fork failed or kMaxChildren running), EPROTO (malformed
// RUN, or an env memfd shorter than env_bytes; request_id is 0 if not even
// the header was readable), EBADMSG (not as many fds as the flags say), E2BIG
// (more than kMaxEnvEntries in the message itself), ESHUTDOWN (RUN after
// SHUTDOWN; persistent mode: after a REPORT with kReportWorkerRetires), EBADF
// (persistent: kRunKeepOutput without resident output), ENAMETOOLONG (cwd),
// fstat(2)'s or mmap(2)'s errno for an env memfd, or open(2)'s errno for the cwd.
struct FailedMessage {
  uint32_t type;  // kFailed
  uint32_t error;
  uint64_t request_id;
};

// EXITED (shim -> launcher): the child of request_id ended; wait_status is the
// raw waitpid() status (WIFEXITED/WEXITSTATUS/WIFSIGNALED/WTERMSIG apply).
struct ExitedMessage {
  uint32_t type;  // kExited
  uint32_t pid;
  uint64_t request_id;
  int32_t wait_status;
  uint32_t reserved;  // 0
};

// REPORT (shim -> launcher, persistent mode): sent right before each EXITED,
// after the shim restored the process. Flags say what the request did that
// the shim repaired; the counts are what the launcher recycles on.
enum ReportFlags : uint32_t {
  kReportExitIntercepted = 1u << 0,   // exit()/_exit()/_Exit() instead of return
  kReportOutputDiscarded = 1u << 1,   // it was _exit()/_Exit(): stdio buffers purged
  kReportEnvironChanged = 1u << 2,    // setenv/putenv/environ changed during the request
  kReportSignalsRestored = 1u << 3,   // a signal disposition differed from the snapshot
  kReportMaskRestored = 1u << 4,      // the signal mask differed
  kReportTimerCancelled = 1u << 5,    // alarm()/setitimer() still armed
  kReportCwdRestored = 1u << 6,       // chdir() during the request
  kReportUmaskRestored = 1u << 7,     // umask() during the request
  kReportStdinUnread = 1u << 8,       // stdin buffer held unread bytes (purged)
  kReportSignalsDiscarded = 1u << 9,  // signals were pending after the request (dropped)
  kReportOutputReleased = 1u << 10,   // resident stdout/stderr given up (see above)
  kReportChildrenLeft = 1u << 11,     // a process the request started still runs
  kReportStdioReopened = 1u << 12,    // a standard stream closed (fclose) or pointed
                                      // elsewhere by the request was reopened on its fd
  kReportWorkerRetires = 1u << 13,    // the worker cannot serve again (see above):
                                      // replace it
};
struct ReportMessage {
  uint32_t type;   // kReport
  uint32_t flags;  // ReportFlags
  uint64_t request_id;
  uint32_t atexit_handlers;  // atexit() handlers registered and run by this request
  uint32_t zombies_reaped;   // children left behind and reaped after the request
  uint32_t threads;          // threads after the request (1 = only the worker's own)
  uint32_t open_fds;         // open fds after the request
  uint32_t baseline_fds;     // open fds before the first request
  uint32_t rss_kib;          // resident set size after the request
  uint32_t requests;         // requests this worker served, this one included
  uint32_t reserved;         // 0
};

// SIGNAL (launcher -> shim): send signo to the process group of request_id's
// child if it has not been reaped yet (no pid-reuse race: only the parent
// reaps). Unknown or finished request ids are ignored; there is no reply.
struct SignalMessage {
  uint32_t type;  // kSignal
  int32_t signo;
  uint64_t request_id;
};

// SHUTDOWN (launcher -> shim): graceful stop, see the life cycle above.
// BYE (shim -> launcher): the last message; the process exits right after.
struct ShutdownMessage {
  uint32_t type;      // kShutdown
  uint32_t reserved;  // 0
};
struct ByeMessage {
  uint32_t type;  // kBye
  uint32_t pid;
};

static_assert(sizeof(HelloMessage) == 24);
static_assert(sizeof(RefusedMessage) == 16);
static_assert(sizeof(RunHeader) == 24);
static_assert(sizeof(StartedMessage) == 16);
static_assert(sizeof(FailedMessage) == 16);
static_assert(sizeof(ExitedMessage) == 24);
static_assert(sizeof(SignalMessage) == 16);
static_assert(sizeof(ShutdownMessage) == 8);
static_assert(sizeof(ByeMessage) == 8);
static_assert(sizeof(ReportMessage) == 48);

}  // namespace fcgi::compat

#endif  // FCGI_RUN_CORE_CONTROL_PROTOCOL_H_
