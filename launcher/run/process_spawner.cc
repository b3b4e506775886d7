// The only translation unit that includes Boost.Process (v2, with separate
// compilation: it also includes <boost/process/v2/src.hpp>).
//
// Boost 1.81's vfork launcher calls notify_fork() on the execution context of
// the executor it is given, inside the vfork child, whose memory is the
// parent's: on a context with a live reactor that would rebuild the parent's
// epoll state from the child. So each spawn gets a fresh, never-run io_context
// that has no reactor at that moment; the returned process object is detached
// at once and the pid is watched from the main reactor (ChildWatcher).
#include "launcher/run/process_spawner.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/process/v2.hpp>
#include <boost/process/v2/posix/vfork_launcher.hpp>
#include <boost/process/v2/src.hpp>
#include <cerrno>
#include <optional>

#include "launcher/run/spawner.h"

namespace fcgi {

namespace bp = boost::process::v2;

namespace {

// Signals whose disposition is SIG_IGN in the launcher, read once (fcgi-run
// ignores SIGPIPE before serving and never ignores anything else later).
const std::vector<int>& IgnoredSignals() {
  static const std::vector<int> ignored = [] {
    std::vector<int> v;
    for (int sig = 1; sig < NSIG; ++sig) {
      struct sigaction sa;
      if (sig == SIGPIPE ||  // the launcher ignores it (maybe not yet at the first spawn)
          (sig != SIGKILL && sig != SIGSTOP && sigaction(sig, nullptr, &sa) == 0 &&
           sa.sa_handler == SIG_IGN)) {
        v.push_back(sig);
      }
    }
    return v;
  }();
  return ignored;
}

// Child-side set-up, run between vfork and execve: only async-signal-safe calls.
struct ChildSetup {
  const SpawnSpec* spec;
  pid_t parent;
  const std::vector<int>* ignored_signals;

  bp::error_code on_setup(bp::posix::default_launcher& launcher, const bp::filesystem::path&,
                          const char* const*) {
    for (const auto& [target, source] : spec->extra_fds) {
      (void)source;
      launcher.fd_whitelist.push_back(target);
    }
    return {};
  }

  bp::error_code on_exec_setup(bp::posix::default_launcher&, const bp::filesystem::path&,
                               const char* const*) {
    setpgid(0, 0);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);  // the launcher died before we got here
    // Handled signals return to their defaults by themselves at execve; only
    // ignored ones (SIGPIPE, and whatever fcgi-run inherited as ignored) stay
    // ignored across it. Resetting just those keeps the launcher, suspended
    // by vfork meanwhile, waiting for a few syscalls instead of 64.
    for (int sig : *ignored_signals) signal(sig, SIG_DFL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    for (const auto& [target, source] : spec->extra_fds) {
      if (target == source) {
        fcntl(target, F_SETFD, 0);
      } else if (dup2(source, target) < 0) {
        _exit(127);
      }
    }
    for (const auto& [resource, value] : spec->rlimits) {
      struct rlimit rl = {value, value};
      setrlimit(resource, &rl);
    }
    // Raw syscalls: glibc's setuid() family broadcasts to every thread of the
    // process, and the thread list in this vfork child is the launcher's.
    if (const SpawnSpec::Credentials& c = spec->credentials; c.set) {
      if (syscall(SYS_setgroups, c.groups.size(), c.groups.data()) != 0 ||
          syscall(SYS_setresgid, c.gid, c.gid, c.gid) != 0 ||
          syscall(SYS_setresuid, c.uid, c.uid, c.uid) != 0) {
        return bp::error_code(errno, bp::system_category());
      }
    }
    if (spec->no_new_privs && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
      return bp::error_code(errno, bp::system_category());
    }
    return {};
  }
  // Boost's vfork child calls ::exit() after this, which would run the
  // launcher's atexit handlers and static destructors in shared memory (it
  // freed the parent's heap: a crash at a later request): leave with _exit
  // instead. The errno is already stored in the parent's error_code.
  // Variadic on purpose: Boost 1.81 detects this hook with a five-argument
  // expression (launcher, ec, path, argv, ec) but calls it with four, so a
  // hook with the documented four parameters is never called.
  template <typename... Args>
  void on_exec_error(Args&&...) {
    _exit(127);
  }
};

class ProcessSpawner : public Spawner {
 public:
  Status Spawn(const SpawnSpec& spec, pid_t* pid) override {
    // Boost needs four descriptors after the vfork (pidfd_open, then the
    // launch context's epoll, eventfd and timerfd). When only the pidfd can be
    // had, Boost throws with that pidfd open and owned by no one: a leak per
    // failed spawn under EMFILE. So check first that four are free (this
    // process is single-threaded: they stay free until the spawn).
    int probe[4];
    int got = 0;
    int probe_errno = 0;
    for (; got < 4; ++got) {
      probe[got] = open("/dev/null", O_RDONLY | O_CLOEXEC);
      if (probe[got] < 0) {
        probe_errno = errno;
        break;
      }
    }
    for (int i = 0; i < got; ++i) close(probe[i]);
    if (probe_errno != 0)
      return Status::FromErrno("spawn (descriptors for the child's pidfd)", spec.path, probe_errno);
    boost::asio::io_context launch_context;
    bp::posix::vfork_launcher launcher;
    bp::error_code ec;
    ChildSetup setup{&spec, getpid(), &IgnoredSignals()};
    bp::process_stdio stdio{spec.stdin_fd, spec.stdout_fd, spec.stderr_fd};
    bp::process_environment env(spec.env);
    // The executor overload: Boost 1.81's (context, error_code&, ...) overload
    // forwards to the throwing one, so a failed execve would terminate fcgi-run.
    auto run = [&](auto&&... extra) {
      return launcher(launch_context.get_executor(), ec, bp::filesystem::path(spec.path), spec.args, stdio,
                      env, setup, extra...);
    };
    std::optional<bp::process> proc;
    try {
      proc.emplace(spec.cwd.empty() ? run() : run(bp::process_start_dir(spec.cwd)));
    } catch (const boost::system::system_error& e) {
      // Boost throws after the vfork when the parent runs out of descriptors
      // (epoll_create1 for the fresh io_context, or pidfd_open: EMFILE). The
      // child exists but cannot be watched: kill and reap it, fail the spawn.
      if (launcher.pid > 0) {
        kill(launcher.pid, SIGKILL);
        int status;
        while (waitpid(launcher.pid, &status, 0) < 0 && errno == EINTR) {
        }
      }
      return Status::FromErrno("spawn (epoll_create1/pidfd_open)", spec.path, e.code().value());
    }
    if (ec) {
      // The vfork child has already _exit()ed; Boost does not reap it on error.
      if (launcher.pid > 0) {
        int status;
        while (waitpid(launcher.pid, &status, 0) < 0 && errno == EINTR) {
        }
      }
      return Status::FromErrno("execve(2)", spec.path, ec.value());
    }
    *pid = proc->id();
    proc->detach();
    return Status::Ok();
  }
};

}  // namespace

std::unique_ptr<Spawner> MakeProcessSpawner() { return std::make_unique<ProcessSpawner>(); }

}  // namespace fcgi
