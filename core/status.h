// Status: the error value of fcgi-run's core and I/O layers.
//
// Modelled on leveldb::Status: a cheap value that is either OK or carries a
// code and a human-readable message. Messages name the operation and the
// object ("bind(2) /run/app.sock: Address already in use"); errno is turned
// into a Status in exactly one place (Status::FromErrno) so that every system
// error reads the same way. No exceptions cross a Status-returning function.
#ifndef FCGI_RUN_CORE_STATUS_H_
#define FCGI_RUN_CORE_STATUS_H_

#include <string>
#include <string_view>
#include <utility>

namespace fcgi {

class Status {
 public:
  enum class Code {
    kOk = 0,
    kProtocolError,    // peer sent bytes that violate FastCGI 1.0
    kLimitExceeded,    // a configured size or count limit was hit
    kInvalidArgument,  // bad configuration or command-line value
    kNotFound,         // file, user, address did not exist
    kPermissionDenied,
    kSystemError,     // a syscall failed (see FromErrno)
    kUnavailable,     // temporary: overloaded, try again later
    kOutOfResources,  // no fds or memory for what it needs (a program run's pipes)
  };

  Status() = default;  // OK

  static Status Ok() { return Status(); }
  static Status Protocol(std::string msg) { return Status(Code::kProtocolError, std::move(msg)); }
  static Status Limit(std::string msg) { return Status(Code::kLimitExceeded, std::move(msg)); }
  static Status Invalid(std::string msg) { return Status(Code::kInvalidArgument, std::move(msg)); }
  static Status NotFound(std::string msg) { return Status(Code::kNotFound, std::move(msg)); }
  static Status Denied(std::string msg) { return Status(Code::kPermissionDenied, std::move(msg)); }
  static Status Unavailable(std::string msg) { return Status(Code::kUnavailable, std::move(msg)); }
  // The same message, as kOutOfResources.
  static Status OutOfResources(const Status& cause) { return Status(Code::kOutOfResources, cause.message()); }
  // "<syscall> <object>: <strerror(err)>", e.g. FromErrno("bind(2)", "/run/a.sock", EADDRINUSE).
  // Maps ENOENT to kNotFound and EACCES/EPERM to kPermissionDenied.
  static Status FromErrno(std::string_view syscall, std::string_view object, int err);

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }
  std::string ToString() const { return ok() ? "OK" : message_; }
  // The same error with `more` appended to its message (OK stays OK).
  Status Annotated(std::string_view more) const {
    return ok() ? *this : Status(code_, message_ + std::string(more));
  }

 private:
  Status(Code code, std::string msg) : code_(code), message_(std::move(msg)) {}
  Code code_ = Code::kOk;
  std::string message_;
};

}  // namespace fcgi

#endif  // FCGI_RUN_CORE_STATUS_H_
