// The parked loop: see fork_server.h. State lives in one static Server.
#include "libcompat/fork_server.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>

#include "core/control_protocol.h"
#include "libcompat/child_start.h"
#include "libcompat/control_receive.h"
#include "libcompat/run_message.h"

namespace fcgi_compat {
namespace {

namespace proto = fcgi::compat;

struct Child {
  pid_t pid;  // 0: free slot
  uint64_t request_id;
};

// Every reply is small and fixed-size; a queue slot holds the largest.
struct OutMessage {
  uint32_t length;
  pid_t go;  // STARTED: the child to send the go once it is sent (0: none)
  alignas(8) unsigned char bytes[24];
};
constexpr uint32_t kQueueSlots = proto::kMaxChildren * 2 + 8;
// Commands are read in batches of at most this many per poll() wake-up.
constexpr int kCommandsPerWakeup = 32;

struct Server {
  int control_fd;
  int signal_fd;
  ParkedProgram program;
  ChildContext context;
  Child children[proto::kMaxChildren];
  uint32_t live;
  OutMessage queue[kQueueSlots];
  uint32_t head;
  uint32_t count;
  bool draining;
  bool bye_queued;
  alignas(8) unsigned char buffer[proto::kMaxMessageBytes];
  RunView run;  // the RUN being served, decoded from buffer
  char* envp[proto::kMaxEnvEntries + 1];
};

Server g_server;

[[noreturn]] void HardStop(Server& s);

void Enqueue(Server& s, const void* message, uint32_t length, pid_t go = 0) {
  if (s.count == kQueueSlots) HardStop(s);  // cannot happen: reads are gated on room
  OutMessage& slot = s.queue[(s.head + s.count) % kQueueSlots];
  memcpy(slot.bytes, message, length);
  slot.length = length;
  slot.go = go;
  ++s.count;
}

void Flush(Server& s) {
  while (s.count > 0) {
    const OutMessage& m = s.queue[s.head];
    ssize_t n = send(s.control_fd, m.bytes, m.length, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS)) return;
    if (n < 0) HardStop(s);  // EPIPE, ECONNRESET: the launcher is gone
    // STARTED is on the socket: the launcher will know the child started,
    // even if this process dies now, so the child may run main().
    if (m.go != 0) kill(m.go, GoSignal());
    s.head = (s.head + 1) % kQueueSlots;
    --s.count;
  }
}

void Fail(Server& s, uint64_t request_id, int error) {
  proto::FailedMessage m{proto::kFailed, static_cast<uint32_t>(error), request_id};
  Enqueue(s, &m, sizeof m);
}

void Reap(Server& s) {
  signalfd_siginfo info[8];
  while (read(s.signal_fd, info, sizeof info) > 0) {
  }
  for (;;) {
    int status = 0;
    pid_t pid = waitpid(-1, &status, WNOHANG);
    if (pid <= 0) return;  // 0: none ready; -1 ECHILD: no children
    // A child that died waiting for its go (a SIGNAL for its request came
    // before its STARTED went out): its pid may be reused, so no go for it.
    for (uint32_t i = 0; i < s.count; ++i) {
      OutMessage& queued = s.queue[(s.head + i) % kQueueSlots];
      if (queued.go == pid) queued.go = 0;
    }
    for (Child& c : s.children) {
      if (c.pid != pid) continue;
      proto::ExitedMessage m{proto::kExited, static_cast<uint32_t>(pid), c.request_id, status, 0};
      Enqueue(s, &m, sizeof m);
      c.pid = 0;
      --s.live;
      break;
    }  // a pid we did not start (forked by a constructor) is reaped and ignored
  }
}

// The envp array for a RUN's entries: s.envp, or for an env memfd with more
// entries than it holds an anonymous mapping of *mapped_bytes (munmap it
// once the child is forked). nullptr with errno set when that fails.
char** EnvpFor(Server& s, const RunView& run, size_t* mapped_bytes) {
  *mapped_bytes = 0;
  if (run.env_entries <= proto::kMaxEnvEntries) return s.envp;
  const size_t bytes = (static_cast<size_t>(run.env_entries) + 1) * sizeof(char*);
  void* array = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (array == MAP_FAILED) return nullptr;
  *mapped_bytes = bytes;
  return static_cast<char**>(array);
}

void HandleRun(Server& s, const ReceivedMessage& m) {
  RunView& run = s.run;
  int error = DecodeRun(m, s.buffer, RunLoop::kFork, &run);
  if (error == 0 && s.draining) error = ESHUTDOWN;
  if (error == 0 && s.live == proto::kMaxChildren) error = EAGAIN;
  size_t envp_mapped_bytes = 0;
  char** envp = nullptr;
  if (error == 0 && (envp = EnvpFor(s, run, &envp_mapped_bytes)) == nullptr) error = errno;
  int dir_fd = -1;
  if (error == 0 && run.cwd[0] != '\0') {
    dir_fd = OpenDirectory(run.cwd);
    if (dir_fd < 0) error = errno;
  }
  if (error != 0) {
    if (envp_mapped_bytes > 0) munmap(envp, envp_mapped_bytes);
    ReleaseRunEnv(&run);
    CloseFds(m.fds, run.fd_count);
    return Fail(s, run.request_id, error);
  }
  SplitEnvBlock(run, run.env, envp);
  int fds[proto::kRunFdCount];
  memcpy(fds, m.fds, sizeof fds);
  pid_t pid = fork();
  if (pid == 0) {
    ChildRequest request{fds,           dir_fd,
                         envp,          run.env,
                         run.env_bytes, (run.flags & proto::kRunNoParentDeathSignal) == 0};
    int keep_closed[2] = {s.control_fd, s.signal_fd};
    StartChild(s.context, request, keep_closed, 2, s.program);
  }
  int fork_error = errno;
  if (envp_mapped_bytes > 0) munmap(envp, envp_mapped_bytes);
  ReleaseRunEnv(&run);  // the child has its own copy
  CloseFds(fds, proto::kRunFdCount);
  if (dir_fd >= 0) close(dir_fd);
  if (pid < 0) return Fail(s, run.request_id, fork_error);
  // The child does the same first thing; doing it here too means the group
  // exists before STARTED goes out, whichever of the two runs first.
  setpgid(pid, pid);
  for (Child& c : s.children) {
    if (c.pid != 0) continue;
    c.pid = pid;
    c.request_id = run.request_id;
    break;
  }
  ++s.live;
  proto::StartedMessage started{proto::kStarted, static_cast<uint32_t>(pid), run.request_id};
  Enqueue(s, &started, sizeof started, pid);
  Flush(s);  // now: the child waits for its go
}

void HandleSignal(Server& s, size_t length) {
  proto::SignalMessage m;
  if (length != sizeof m) return;
  memcpy(&m, s.buffer, sizeof m);
  if (m.signo <= 0 || m.signo >= NSIG) return;
  for (const Child& c : s.children) {
    if (c.pid == 0 || c.request_id != m.request_id) continue;
    if (killpg(c.pid, m.signo) != 0) kill(c.pid, m.signo);
    return;
  }
}

bool RoomToRead(const Server& s) { return !s.bye_queued && kQueueSlots - s.count >= s.live + 2; }

// Reads queued commands without blocking.
void ReadCommands(Server& s) {
  for (int i = 0; i < kCommandsPerWakeup && RoomToRead(s); ++i) {
    ReceivedMessage m;
    ssize_t n = ReceiveControlMessage(s.control_fd, s.buffer, sizeof s.buffer, MSG_DONTWAIT, &m);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    if (n <= 0) HardStop(s);  // EOF or a broken socket
    if (m.type == proto::kRun) {
      HandleRun(s, m);
      continue;
    }
    CloseFds(m.fds, m.nfds);  // only RUN carries fds
    if (m.type == proto::kSignal) {
      HandleSignal(s, m.length);
    } else if (m.type == proto::kShutdown) {
      s.draining = true;
    }  // unknown types are ignored (no reply is expected for them)
  }
}

[[noreturn]] void HardStop(Server& s) {
  for (const Child& c : s.children) {
    if (c.pid != 0 && killpg(c.pid, SIGKILL) != 0) kill(c.pid, SIGKILL);
  }
  for (Child& c : s.children) {
    if (c.pid == 0) continue;
    int status;
    while (waitpid(c.pid, &status, 0) < 0 && errno == EINTR) {
    }
    c.pid = 0;
  }
  _exit(0);
}

}  // namespace

bool IsControlSocket(int fd) {
  int type = 0;
  socklen_t len = sizeof type;
  return getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == 0 && type == SOCK_SEQPACKET;
}

[[noreturn]] void RefuseAndExit(int control_fd, unsigned reason, unsigned error) {
  proto::RefusedMessage m{proto::kRefused, reason, error, static_cast<uint32_t>(getpid())};
  pollfd p{control_fd, POLLOUT, 0};
  if (poll(&p, 1, 1000) > 0) send(control_fd, &m, sizeof m, MSG_DONTWAIT | MSG_NOSIGNAL);
  _exit(proto::kRefusedExitStatus);
}

[[noreturn]] void RunForkServer(int control_fd, const ParkedProgram& program) {
  Server& s = g_server;
  s.control_fd = control_fd;
  s.program = program;
  int error = SaveChildContext(&s.context);
  if (error != 0) RefuseAndExit(control_fd, proto::kRefuseSetup, error);
  sigset_t chld;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  s.signal_fd = signalfd(-1, &chld, SFD_NONBLOCK | SFD_CLOEXEC);
  if (s.signal_fd < 0) RefuseAndExit(control_fd, proto::kRefuseSetup, errno);
  // Processes that request children leave behind (`cmd &`, or a group killed
  // at a timeout) are re-parented to us rather than to init, and Reap()'s
  // waitpid(-1) collects them: no zombies where init does not reap.
  prctl(PR_SET_CHILD_SUBREAPER, 1UL, 0UL, 0UL, 0UL);

  proto::HelloMessage hello{
      proto::kHello,
      proto::kProtocolVersion,
      static_cast<uint32_t>(getpid()),
      (program.bind_now ? proto::kHelloBindNow : 0u) | (program.resume != nullptr ? proto::kHelloScript : 0u),
      proto::kMaxChildren,
      static_cast<uint32_t>(proto::kMaxMessageBytes)};
  Enqueue(s, &hello, sizeof hello);
  for (;;) {
    if (s.draining && s.live == 0 && !s.bye_queued) {
      proto::ByeMessage bye{proto::kBye, static_cast<uint32_t>(getpid())};
      Enqueue(s, &bye, sizeof bye);
      s.bye_queued = true;
    }
    Flush(s);
    if (s.bye_queued && s.count == 0) _exit(0);
    short events = static_cast<short>((RoomToRead(s) ? POLLIN : 0) | (s.count > 0 ? POLLOUT : 0));
    pollfd p[2] = {{s.control_fd, events, 0}, {s.signal_fd, POLLIN, 0}};
    if (poll(p, 2, -1) < 0) {
      if (errno == EINTR) continue;
      HardStop(s);
    }
    if (p[1].revents != 0) Reap(s);
    if (p[0].revents & POLLIN) {
      ReadCommands(s);
    } else if (p[0].revents & (POLLHUP | POLLERR | POLLNVAL)) {
      HardStop(s);
    }
  }
}

}  // namespace fcgi_compat
