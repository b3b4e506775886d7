#include "core/status.h"

#include <cerrno>
#include <cstring>

namespace fcgi {

Status Status::FromErrno(std::string_view syscall, std::string_view object, int err) {
  std::string msg(syscall);
  if (!object.empty()) {
    msg += ' ';
    msg += object;
  }
  msg += ": ";
  msg += std::strerror(err);
  Code code = Code::kSystemError;
  if (err == ENOENT) code = Code::kNotFound;
  if (err == EACCES || err == EPERM) code = Code::kPermissionDenied;
  if (err == EAGAIN || err == EMFILE || err == ENFILE || err == ENOMEM) code = Code::kUnavailable;
  return Status(code, std::move(msg));
}

}  // namespace fcgi
