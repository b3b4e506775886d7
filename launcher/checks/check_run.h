// One sample request run to completion through a ProgramRunner, outside the
// FastCGI machinery: for `fcgi-run --check` (safety_check.h). The body is
// written to the program's stdin (then EOF) while stdout and stderr are read;
// the run ends when the program exited and both pipes reached EOF, or at the
// deadline (the program is then killed).
#ifndef FCGI_RUN_LAUNCHER_CHECKS_CHECK_RUN_H_
#define FCGI_RUN_LAUNCHER_CHECKS_CHECK_RUN_H_

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <string>
#include <vector>

#include "core/status.h"
#include "launcher/run/program_runner.h"

namespace fcgi {

struct CheckOutcome {
  Status status;       // could not start, or timed out
  std::string out;     // stdout bytes
  std::string err;     // stderr bytes
  int raw_status = 0;  // wait status (valid when status is OK)
};

// Runs the io_context until the request is done. REQUIRES: `io` is not
// running elsewhere (the check drives it from this call only).
CheckOutcome RunCheckRequest(boost::asio::io_context& io, ProgramRunner& runner, const std::string& program,
                             const std::vector<std::string>& args, const std::string& cwd,
                             const std::vector<std::string>& env, const std::string& body,
                             std::chrono::milliseconds deadline);

}  // namespace fcgi

#endif  // FCGI_RUN_LAUNCHER_CHECKS_CHECK_RUN_H_
