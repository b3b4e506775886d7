// Exec mode's ProgramRunner: one fork+exec (through a Spawner, Boost.Process's
// vfork launcher) per request, ChildWatcher (pidfd) for its exit. Also the
// fallback of fork and persistent modes when a program cannot be parked.
#ifndef FCGI_RUN_LAUNCHER_RUN_EXEC_RUNNER_H_
#define FCGI_RUN_LAUNCHER_RUN_EXEC_RUNNER_H_

#include <boost/asio/io_context.hpp>
#include <memory>

#include "launcher/run/program_runner.h"
#include "launcher/run/spawner.h"

namespace fcgi {

// `io` and `spawner` must outlive the runner.
std::unique_ptr<ProgramRunner> MakeExecRunner(boost::asio::io_context& io, Spawner& spawner);

}  // namespace fcgi

#endif  // FCGI_RUN_LAUNCHER_RUN_EXEC_RUNNER_H_
