// What a raw wait status (waitpid(2)) means for a log line and for FastCGI's
// END_REQUEST appStatus. Pure.
#ifndef FCGI_RUN_CORE_WAIT_STATUS_H_
#define FCGI_RUN_CORE_WAIT_STATUS_H_

#include <cstdint>
#include <string>

namespace fcgi {

// "exit code 3", "killed by SIGSEGV (core dumped)".
std::string DescribeWaitStatus(int raw_status);
// FastCGI appStatus for a wait status: the exit code, or 128 + signal number.
uint32_t AppStatusFromWaitStatus(int raw_status);

}  // namespace fcgi

#endif  // FCGI_RUN_CORE_WAIT_STATUS_H_
