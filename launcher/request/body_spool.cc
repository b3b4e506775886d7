#include "launcher/request/body_spool.h"

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

namespace fcgi {

BodySpool::~BodySpool() {
  if (fd_ >= 0) ::close(fd_);
}

Status BodySpool::OpenFile() {
  fd_ = ::open(tmp_dir_.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (fd_ >= 0) return Status::Ok();
  // Filesystems without O_TMPFILE: a named file, unlinked at once.
  std::string path = tmp_dir_ + "/fcgi-run-body.XXXXXX";
  fd_ = mkostemp(path.data(), O_CLOEXEC);
  if (fd_ < 0) return Status::FromErrno("open(2) O_TMPFILE", tmp_dir_, errno);
  ::unlink(path.c_str());
  return Status::Ok();
}

Status BodySpool::Append(std::string_view data) {
  if (data.empty()) return Status::Ok();
  const size_t in_memory = memory_.size() - memory_head_;
  if (file_bytes() == 0 && in_memory + data.size() <= memory_limit_) {
    if (memory_head_ > 0 && memory_head_ == memory_.size()) {
      memory_.clear();
      memory_head_ = 0;
    }
    memory_.append(data);
    return Status::Ok();
  }
  if (fd_ < 0) {
    Status s = OpenFile();
    if (!s.ok()) return s;
  }
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::pwrite(fd_, data.data() + done, data.size() - done, static_cast<off_t>(file_end_ + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::FromErrno("write(2)", "request body spool file in " + tmp_dir_, errno);
    }
    done += static_cast<size_t>(n);
  }
  file_end_ += data.size();
  file_high_water_ = std::max(file_high_water_, file_end_ - file_head_);
  return Status::Ok();
}

Status BodySpool::Take(size_t max, std::string* out) {
  const size_t in_memory = memory_.size() - memory_head_;
  if (in_memory > 0) {
    const size_t n = std::min(max, in_memory);
    out->append(memory_, memory_head_, n);
    memory_head_ += n;
    if (memory_head_ == memory_.size()) {
      memory_.clear();
      memory_head_ = 0;
    }
    return Status::Ok();
  }
  if (file_bytes() == 0) return Status::Ok();
  const size_t n = static_cast<size_t>(std::min<uint64_t>(max, file_bytes()));
  const size_t old = out->size();
  out->resize(old + n);
  size_t done = 0;
  while (done < n) {
    ssize_t r = ::pread(fd_, out->data() + old + done, n - done, static_cast<off_t>(file_head_ + done));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) {
      out->resize(old);
      return Status::FromErrno("read(2)", "request body spool file in " + tmp_dir_, r < 0 ? errno : EIO);
    }
    done += static_cast<size_t>(r);
  }
  file_head_ += n;
  if (file_head_ == file_end_) {  // drained: reuse the file from its start
    file_head_ = file_end_ = 0;
    if (::ftruncate(fd_, 0) != 0) {
      // Harmless: the space is reused by the next writes anyway.
    }
  }
  return Status::Ok();
}

void BodySpool::Clear() {
  memory_.clear();
  memory_.shrink_to_fit();
  memory_head_ = 0;
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
  }
  file_head_ = file_end_ = 0;
}

}  // namespace fcgi
