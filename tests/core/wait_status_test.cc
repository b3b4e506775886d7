#include "core/wait_status.h"

#include <signal.h>
#include <sys/wait.h>
#include <catch2/catch.hpp>

namespace fcgi {
namespace {

TEST_CASE("wait status: exit codes and signals, for log lines and appStatus", "[unit]") {
  CHECK(DescribeWaitStatus(W_EXITCODE(0, 0)) == "exit code 0");
  CHECK(DescribeWaitStatus(W_EXITCODE(3, 0)) == "exit code 3");
  CHECK(DescribeWaitStatus(W_EXITCODE(0, SIGSEGV)) == "killed by SIGSEGV");
  CHECK(DescribeWaitStatus(W_EXITCODE(0, SIGKILL)) == "killed by SIGKILL");
  CHECK(DescribeWaitStatus(W_EXITCODE(0, SIGABRT) | WCOREFLAG) == "killed by SIGABRT (core dumped)");
  CHECK(DescribeWaitStatus(W_STOPCODE(SIGSTOP)) == "wait status " + std::to_string(W_STOPCODE(SIGSTOP)));

  CHECK(AppStatusFromWaitStatus(W_EXITCODE(0, 0)) == 0);
  CHECK(AppStatusFromWaitStatus(W_EXITCODE(3, 0)) == 3);
  CHECK(AppStatusFromWaitStatus(W_EXITCODE(255, 0)) == 255);
  CHECK(AppStatusFromWaitStatus(W_EXITCODE(0, SIGSEGV)) == 128 + SIGSEGV);
  CHECK(AppStatusFromWaitStatus(W_STOPCODE(SIGSTOP)) == 255);
}

}  // namespace
}  // namespace fcgi
