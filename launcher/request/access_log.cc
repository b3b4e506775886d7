#include "launcher/request/access_log.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <ctime>

namespace fcgi {

AccessLog::~AccessLog() {
  if (fd_ > STDERR_FILENO) ::close(fd_);
}

Status AccessLog::Open(const std::string& path, const AccessFormat& format) {
  format_ = format;
  path_ = path;
  return Reopen();
}

Status AccessLog::Reopen() {
  if (path_ == "-") {
    fd_ = STDOUT_FILENO;
    return Status::Ok();
  }
  int fd = ::open(path_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
  if (fd < 0) return Status::FromErrno("open(2)", path_, errno);
  if (fd_ > STDERR_FILENO) ::close(fd_);
  fd_ = fd;
  return Status::Ok();
}

void AccessLog::Write(AccessRecord record) {
  if (fd_ < 0) return;
  const time_t now = ::time(nullptr);
  struct tm tm;
  localtime_r(&now, &tm);
  record.end_unix = now;
  record.utc_offset_seconds = static_cast<int>(tm.tm_gmtoff);
  std::string line = format_.Render(record);
  line += '\n';
  ssize_t w = ::write(fd_, line.data(), line.size());  // O_APPEND: one write, one line
  (void)w;
}

}  // namespace fcgi
