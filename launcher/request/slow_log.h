// SlowLog (--slow-threshold, --slow-log, --slow-backtrace): one line for each
// request still running when it crosses the threshold (program, mode, pid,
// method, URI, elapsed), written to --slow-log FILE or, without it, to the
// error log as a warning. With --slow-backtrace the program's stacks follow:
// `gdb -nx -batch -p PID -ex "thread apply all bt"` runs through the Spawner,
// asynchronously (the reactor never waits for it), with its output read from a
// pipe and written as lines "[pid PID] ..."; gdb is killed after
// kBacktraceTimeout, and at most kMaxConcurrentTraces run at once.
//
// Owned by Server, which outlives the requests that report to it; the gdb
// runs in flight are killed and reaped when it is destroyed.
#ifndef FCGI_RUN_LAUNCHER_REQUEST_SLOW_LOG_H_
#define FCGI_RUN_LAUNCHER_REQUEST_SLOW_LOG_H_

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <list>
#include <memory>
#include <string>
#include <string_view>

#include "core/status.h"
#include "launcher/run/spawner.h"

namespace fcgi {

struct SlowRequestInfo {
  int pid = -1;
  std::string program, mode, method, uri;
  double elapsed_seconds = 0;
};

class SlowLog {
 public:
  static constexpr std::chrono::seconds kBacktraceTimeout{10};
  static constexpr size_t kMaxConcurrentTraces = 2;
  static constexpr size_t kMaxTraceBytes = 64 * 1024;

  SlowLog(boost::asio::io_context& io, Spawner& spawner);
  SlowLog(const SlowLog&) = delete;
  SlowLog& operator=(const SlowLog&) = delete;
  ~SlowLog();

  // `path` "" = the error log. `backtrace`: gdb must be found in $PATH (or
  // /usr/bin), else a warning is logged and backtraces stay off.
  Status Open(const std::string& path, bool backtrace);
  Status Reopen();
  // Writes the line and, with --slow-backtrace and a pid, starts gdb.
  void Report(const SlowRequestInfo& info);

 private:
  struct Trace;
  void WriteLine(std::string_view line);
  void StartBacktrace(int pid);
  void ReadTrace(const std::shared_ptr<Trace>& trace);
  void MaybeEndTrace(const std::shared_ptr<Trace>& trace);

  boost::asio::io_context& io_;
  Spawner& spawner_;
  std::string path_;
  int fd_ = -1;      // -1: the error log
  std::string gdb_;  // "" = no backtraces
  std::list<std::shared_ptr<Trace>> traces_;
};

}  // namespace fcgi

#endif  // FCGI_RUN_LAUNCHER_REQUEST_SLOW_LOG_H_
