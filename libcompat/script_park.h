// Script park: a Perl or Python script parked after its compilation instead
// of its interpreter at main() (control_protocol.h, "Script park").
//
// The launcher starts the interpreter with FCGI_RUN_COMPAT_PARK=perl|python,
// a Perl module (-M) or Python bootstrap that calls fcgi_run_park_script()
// once the script is compiled (Perl: at INIT, bound with DynaLoader; Python:
// through ctypes, after the script's top-level imports), stdin on a one-byte
// probe file and stdout/stderr on files it reads. The shim's ParkingMain
// only remembers the control fd (PrepareScriptPark) and lets main() run.
//
// fcgi_run_park_script() checks that the process can be parked (one thread;
// stdin neither read nor replaced; stdout and stderr still the launcher's
// files; compile-time output within kMaxCompileOutputBytes, none on stdout
// for Python) and refuses (REFUSED, exit) otherwise; it keeps what
// compilation wrote to stdout and stderr and the read-only files then open,
// and runs the fork server (fork_server.h). In each request's child it
// returns, after writing the compile-time output to the request's stdout and
// stderr, reopening each of those files at the offset it had at the park
// (so the children do not share one file offset: the __DATA__ handle), and
// publishing the request's environment block in fcgi_run_script_request
// (environ is already the request's, malloc'd). The module or bootstrap then
// rebuilds %ENV / os.environ from that block and the script's run-time part
// runs. Called again (in a child, or without FCGI_RUN_COMPAT_PARK), it
// returns at once.
//
// Constraints as for the fork server: libc only, static storage, no signal
// handlers; the children may allocate (their environ).
#ifndef FCGI_RUN_LIBCOMPAT_SCRIPT_PARK_H_
#define FCGI_RUN_LIBCOMPAT_SCRIPT_PARK_H_

#include <cstdint>

namespace fcgi_compat {

enum class ScriptLanguage { kNone, kPerl, kPython };

// FCGI_RUN_COMPAT_PARK's language (read before the launch variables are scrubbed).
ScriptLanguage ScriptParkRequested();

// Remembers what fcgi_run_park_script() needs: the control fd (validated and
// close-on-exec), the language, whether LD_BIND_NOW was set, and which files
// fds 0, 1 and 2 are (to see them replaced while the script compiles).
void PrepareScriptPark(int control_fd, ScriptLanguage language, bool bind_now);

}  // namespace fcgi_compat

extern "C" {

// The request of a script child, for the module or bootstrap: its RUN's
// environment block ("NAME=VALUE\0" entries, env_bytes long). Null in the
// parked process.
struct FcgiRunScriptRequest {
  const char* env_block;
  uint64_t env_bytes;
};
extern FcgiRunScriptRequest fcgi_run_script_request;

// The park point. Perl binds it as an XSUB (my_perl and cv are ignored);
// Python calls it through ctypes with no arguments. Returns in each request's
// child; in the parked process it never returns.
void fcgi_run_park_script(void* ignored_interpreter, void* ignored_cv);
}

#endif  // FCGI_RUN_LIBCOMPAT_SCRIPT_PARK_H_
