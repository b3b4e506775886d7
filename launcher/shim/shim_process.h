// ShimProcess: a copy of a CGI program started with libcompat preloaded, the
// control channel to it, and the handshake: what ParkedProgram (fork mode)
// and PersistentWorker (persistent mode) share.
//
// Start() spawns the program (control socket at fd 3, stdin/stdout on
// /dev/null, stderr on fcgi-run's own; for a script park, spec.script set,
// stdin is a one-byte probe file and stdout and stderr are memfds, and what
// the script wrote to stderr while compiling is read with
// TakeCompileOutput()), watches the process (ChildWatcher),
// keeps the HELLO deadline and reads the channel: HELLO and REFUSED are
// handled here (protocol version, the mode's HELLO flags, what a refusal
// means, in one log-ready sentence); every other message goes to the owner,
// which speaks the rest of the protocol (core/control_protocol.h) and sends
// over channel().
//
// Ownership: a member of its owner, which implements ShimProcess::Owner and
// gives Start() a weak reference to itself; the owner is called only while
// it lives, on the reactor thread. Destroying a ShimProcess kills and reaps
// the process if it still runs (ChildWatcher) and closes the channel.
#ifndef FCGI_RUN_LAUNCHER_SHIM_SHIM_PROCESS_H_
#define FCGI_RUN_LAUNCHER_SHIM_SHIM_PROCESS_H_

#include <sys/types.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
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

// What the shim runs: the fork server (parked at main(), a child per RUN) or
// the persistent loop (main() again per RUN).
enum class ShimMode { kFork, kPersistent };

class ShimProcess {
 public:
  // What the process tells its owner. Each call may destroy the owner's last
  // other reference: the owner keeps itself alive across what follows.
  class Owner {
   public:
    virtual ~Owner() = default;
    // HELLO of this launcher's protocol in the mode asked for: the shim is
    // ready (the HELLO deadline is off).
    virtual void OnShimHello(const CompatHello& hello) = 0;
    // The process is unusable: no HELLO in time, REFUSED, a HELLO of another
    // protocol or mode, an undecodable message, a channel error. `why`: a
    // log-ready sentence. Channel errors end the reading; the process may
    // still run (the owner kills it).
    virtual void OnShimFailed(const std::string& why) = 0;
    // Every other message, in order. Reading goes on while the channel is
    // open (CloseChannel stops it).
    virtual void OnShimMessage(const CompatMessage& message) = 0;
    // The messages of one readable event were handed over (the channel is
    // read again after this unless it was closed meanwhile).
    virtual void OnShimMessagesRead() {}
    // The shim closed its end: the process is ending (OnShimExit follows).
    virtual void OnShimChannelClosed() {}
    // The process ended (raw wait status).
    virtual void OnShimExit(int raw_status) = 0;
  };

  ShimProcess(boost::asio::io_context& io, Spawner& spawner, ParkSpec spec, ShimMode mode);
  ~ShimProcess();
  ShimProcess(const ShimProcess&) = delete;
  ShimProcess& operator=(const ShimProcess&) = delete;

  // Starts spec.program with LD_PRELOAD=spec.compat_library, LD_BIND_NOW=1,
  // the control fd variable and the mode's, and reads its channel for
  // `owner`. Errors name the syscall (socketpair, open /dev/null, the spawn,
  // epoll_ctl for the channel, pidfd_open); then no Owner call follows.
  Status Start(std::weak_ptr<Owner> owner);

  // Script park: what the process wrote to stderr since the last call (while
  // compiling, then the shim's own complaints); "" otherwise.
  std::string TakeCompileOutput();
  // Hands over, now, the messages the shim has sent so far (nothing while a
  // batch is being handed over, or once the channel is closed): what a
  // process found gone had said before it went.
  void ReadQueued();
  // The process is given up: no HELLO deadline, channel closed (no more
  // Owner calls but OnShimExit).
  void CloseChannel();

  const ParkSpec& spec() const { return spec_; }
  const std::string& program() const { return spec_.program; }
  bool hello_received() const { return hello_received_; }
  // The shim refused to start because the program runs threads at main():
  // every restart would be refused the same way.
  bool refused_threads() const { return refused_threads_; }
  // Handing a batch of messages to the owner right now.
  bool reading() const { return reading_; }

  boost::asio::posix::stream_descriptor& channel() { return channel_; }
  ChildWatcher& watcher() { return watcher_; }
  pid_t pid() const { return watcher_.pid(); }

 private:
  void WaitReadable();
  // Receives and hands over what is queued. False when the channel was
  // closed or failed (no more waiting).
  bool Read(Owner& owner);
  // HELLO and REFUSED; true for a message that is the owner's.
  bool Handshake(Owner& owner, const CompatMessage& message);

  Spawner& spawner_;
  const ParkSpec spec_;
  const ShimMode mode_;
  ChildWatcher watcher_;
  boost::asio::posix::stream_descriptor channel_;
  boost::asio::steady_timer hello_timer_;
  std::weak_ptr<Owner> owner_;
  bool hello_received_ = false;
  bool refused_threads_ = false;
  bool reading_ = false;
  int compile_stderr_fd_ = -1;  // script park: our copy of the process's stderr memfd
  uint64_t compile_stderr_read_ = 0;
};

}  // namespace fcgi

#endif  // FCGI_RUN_LAUNCHER_SHIM_SHIM_PROCESS_H_
