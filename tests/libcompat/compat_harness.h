// Test harness for libcompat's fork mode: plays the launcher's part.
//
// ParkedProgram spawns a program the way the launcher will (LD_PRELOAD of the
// built shim, LD_BIND_NOW=1, FCGI_RUN_COMPAT_FD, stdin on /dev/null, a neutral
// environment) and talks to it with launcher/shim/compat_channel.h. Every wait is
// bounded by a timeout so that a broken shim fails a test instead of hanging.
#ifndef FCGI_RUN_TESTS_LIBCOMPAT_COMPAT_HARNESS_H_
#define FCGI_RUN_TESTS_LIBCOMPAT_COMPAT_HARNESS_H_

#include <sys/types.h>

#include <chrono>
#include <deque>
#include <optional>
#include <string>
#include <vector>

#include "launcher/shim/compat_channel.h"

namespace fcgi::test {

// FCGI_COMPAT_TEST_VALGRIND=DIR and FCGI_COMPAT_TEST_MEMCHECK=TOOL in the
// environment (tests/libcompat/valgrind_check.sh sets both): how to run every
// ParkedProgram under valgrind memcheck, logging to DIR/memcheck.PID.log.
// TOOL is memcheck's own (static) binary, started as valgrind's launcher
// starts it (VALGRIND_LIB, VALGRIND_LAUNCHER): the launcher itself is a
// dynamic program (Debian's valgrind a shell script in front of it), so with
// the shim's LD_PRELOAD and FCGI_RUN_COMPAT_FD in its environment the shim
// would park the launcher, and the program would run without the shim.
// Empty without them.
struct ValgrindRun {
  std::vector<std::string> argv;  // goes before the program's argv
  std::vector<std::string> env;   // added to the program's environment
};
ValgrindRun Valgrind();
// Under valgrind: records that process `pid` said HELLO (an empty file
// DIR/parked.PID), so that valgrind_check.sh can require its memcheck log:
// the shim ran under memcheck. ParkedProgram::Next calls it.
void NoteParked(pid_t pid);

// Built test programs and the shim (paths set by tests/libcompat/CMakeLists.txt).
std::string CompatLibraryPath();
std::string CompatTestProgram(const std::string& name);

// A request's pipes, as the launcher would create them: the child's ends are
// sent with RUN, the test keeps the others.
class RequestPipes {
 public:
  explicit RequestPipes(const std::string& stdin_data);
  ~RequestPipes();
  RequestPipes(const RequestPipes&) = delete;
  RequestPipes& operator=(const RequestPipes&) = delete;

  const int* child_fds() const { return child_; }  // stdin read, stdout write, stderr write
  void CloseChildEnds();
  // Reads stdout and stderr to EOF (bounded by `timeout`); false on timeout.
  bool ReadAll(std::chrono::milliseconds timeout);
  const std::string& out() const { return out_; }
  const std::string& err() const { return err_; }

 private:
  int child_[3] = {-1, -1, -1};
  int out_read_ = -1;
  int err_read_ = -1;
  std::string out_;
  std::string err_;
};

class ParkedProgram {
 public:
  // Spawns argv[0] with argv. `with_channel` false: no FCGI_RUN_COMPAT_FD (the
  // shim must then be transparent). extra_env entries are added to the neutral
  // environment (PATH=/usr/bin:/bin).
  explicit ParkedProgram(const std::vector<std::string>& argv, bool with_channel = true,
                         const std::vector<std::string>& extra_env = {});
  ~ParkedProgram();  // SIGKILLs and reaps the process if still there
  ParkedProgram(const ParkedProgram&) = delete;
  ParkedProgram& operator=(const ParkedProgram&) = delete;

  pid_t pid() const { return pid_; }
  int fd() const { return fd_; }

  // Waits up to `timeout` for one message. nullopt on timeout or EOF (closed()
  // tells which); a message that does not decode fails the calling test.
  std::optional<CompatMessage> Next(std::chrono::milliseconds timeout);
  bool closed() const { return closed_; }

  // Sends one message, waiting (bounded) for writability on kWouldBlock.
  bool Send(const std::string& message, const int* fds = nullptr, int nfds = 0);
  bool SendRun(const CompatRunRequest& run, const int* fds);
  void CloseChannel();

  // Reaps the process (bounded); returns the raw wait status or -1 on timeout.
  int Wait(std::chrono::milliseconds timeout);
  // Reads the process's own stdout (it was a pipe) after it exited.
  std::string Output();

 private:
  pid_t pid_ = -1;
  int fd_ = -1;
  int output_ = -1;
  bool closed_ = false;
  bool eof_ = false;                  // the channel reached EOF (after received_)
  std::deque<std::string> received_;  // received, not yet returned by Next
  bool reaped_ = false;
};

struct RunOutcome {
  bool started = false;
  pid_t pid = 0;
  int failed_errno = 0;
  bool exited = false;
  int wait_status = 0;
  std::string out;
  std::string err;
};

// One complete request: RUN, STARTED/FAILED, read output to EOF, EXITED.
RunOutcome RunOnce(ParkedProgram& parked, uint64_t id, const std::vector<std::string>& env,
                   const std::string& stdin_data, const std::string& cwd = "");

// A neutral request environment plus `extra`.
std::vector<std::string> RequestEnv(std::initializer_list<std::string> extra);

}  // namespace fcgi::test

#endif  // FCGI_RUN_TESTS_LIBCOMPAT_COMPAT_HARNESS_H_
