#include "launcher/run/program_runner.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <utility>

namespace fcgi {

std::unique_ptr<ProgramRun> ProgramRunner::Start(const SpawnSpec& spec, StartedCallback on_started,
                                                 ExitCallback on_exit) {
  if (spec.stdout_fd >= 0 || LendsOutput()) return StartRun(spec, std::move(on_started), std::move(on_exit));
  // New pipes for this run (and /dev/null for a stdin left to the runner:
  // a request that asked a lending runner, which then fell back to exec).
  SpawnSpec full = spec;
  std::shared_ptr<ProgramOutput> output;
  Status s = ProgramOutput::Create(io_, spec.path, &output, &full.stdout_fd, &full.stderr_fd);
  int devnull = -1;
  if (s.ok() && full.stdin_fd < 0) {
    devnull = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (devnull < 0) s = Status::FromErrno("open(2)", "/dev/null", errno);
    full.stdin_fd = devnull;
  }
  std::unique_ptr<ProgramRun> run;
  if (!s.ok()) {
    on_started(Status::OutOfResources(s), -1, nullptr);
  } else {
    run = StartRun(
        full,
        [output, on_started = std::move(on_started)](const Status& st, pid_t pid,
                                                     std::shared_ptr<ProgramOutput>) {
          on_started(st, pid, st.ok() ? output : nullptr);
        },
        std::move(on_exit));
  }
  for (int fd : {full.stdout_fd, full.stderr_fd, devnull}) {  // the runner has its copies
    if (fd >= 0) ::close(fd);
  }
  return run;
}

}  // namespace fcgi
