// ShimProcess: a copy of a CGI program started with libcompat preloaded and
// the control channel to it: what ParkedProgram (fork mode) and
// PersistentWorker (persistent mode) share. It spawns the program (control
// socket at fd 3, stdin/stdout on /dev/null, stderr on fcgi-run's own),
// watches the process (ChildWatcher) and keeps the HELLO deadline; the owner
// speaks the protocol (core/control_protocol.h) over channel(). For a
// script park (spec.script set) stdin is a one-byte probe file and stdout and
// stderr are memfds; what the script wrote to stderr while compiling is read
// with TakeCompileOutput().
//
// Ownership: a member of its owner; destroying it kills and reaps the
// process if it still runs (ChildWatcher) and closes the channel. Callbacks
// run on the reactor thread and must hold only weak references to the owner.
#ifndef FCGI_RUN_LAUNCHER_SHIM_SHIM_PROCESS_H_
#define FCGI_RUN_LAUNCHER_SHIM_SHIM_PROCESS_H_

#include <sys/types.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/status.h"
#include "launcher/run/child_watcher.h"
#include "launcher/run/spawner.h"
#include "launcher/shim/compat_channel.h"

namespace fcgi {

// How to start a program under the shim.
struct ParkSpec {
  std::string program;  // absolute path (what is started)
  std::vector<std::string> args;
  std::string cwd;
  std::vector<std::string> env;  // neutral environment (PATH, --env)
  std::vector<std::pair<int, rlim_t>> rlimits;
  std::string compat_library;  // path of libfcgi-run-compat.so
  std::chrono::milliseconds hello_timeout{2000};
  // Script park (launcher/shim/script_park.h): `program` is the interpreter, which
  // parks after compiling `script` ("perl" or "python": FCGI_RUN_COMPAT_PARK).
  // Empty: the program is parked at main().
  std::string script;
  std::string script_language;

  // What log lines call it: the script, or the program.
  const std::string& name() const { return script.empty() ? program : script; }
};

class ShimProcess {
 public:
  using ExitCallback = std::function<void(int raw_status)>;
  using NoHelloCallback = std::function<void(const std::string& why)>;

  explicit ShimProcess(boost::asio::io_context& io);
  ~ShimProcess();
  ShimProcess(const ShimProcess&) = delete;
  ShimProcess& operator=(const ShimProcess&) = delete;

  // Starts spec.program with LD_PRELOAD=spec.compat_library, LD_BIND_NOW=1 and
  // the control fd variable, plus `extra_env`. Then on_exit(raw wait status)
  // runs once the process ends, and on_no_hello(why) once spec.hello_timeout
  // passed without HelloReceived(). Errors name the syscall (socketpair,
  // open /dev/null, the spawn, epoll_ctl for the channel, pidfd_open).
  Status Spawn(Spawner& spawner, const ParkSpec& spec, const std::vector<std::string>& extra_env,
               ExitCallback on_exit, NoHelloCallback on_no_hello);
  // The shim said HELLO: the deadline is off.
  void HelloReceived() { hello_timer_.cancel(); }
  // Script park: what the process wrote to stderr since the last call (while
  // compiling, then the shim's own complaints); "" otherwise.
  std::string TakeCompileOutput();
  // The process is given up: no HELLO deadline, channel closed.
  void CloseChannel();

  // Watches the control channel for `owner` (the worker object that owns
  // this ShimProcess; only a weak reference is kept): whenever it is
  // readable and active() is true, every message is decoded and passed to
  // dispatch (false: stop); an undecodable message or an I/O error calls
  // fail("control channel: ..."); the shim closing its end ends the watch
  // (the process's exit tells the rest).
  void WatchMessages(std::weak_ptr<void> owner, std::function<bool()> active,
                     std::function<bool(const CompatMessage&)> dispatch,
                     std::function<void(const std::string&)> fail);

  boost::asio::posix::stream_descriptor& channel() { return channel_; }
  ChildWatcher& watcher() { return watcher_; }
  pid_t pid() const { return watcher_.pid(); }

 private:
  ChildWatcher watcher_;
  boost::asio::posix::stream_descriptor channel_;
  boost::asio::steady_timer hello_timer_;
  int compile_stderr_fd_ = -1;  // script park: our copy of the process's stderr memfd
  uint64_t compile_stderr_read_ = 0;
};

}  // namespace fcgi

#endif  // FCGI_RUN_LAUNCHER_SHIM_SHIM_PROCESS_H_
