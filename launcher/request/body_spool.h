// BodySpool: a FIFO of request-body bytes that the program has not read yet:
// in memory up to `memory_limit`, the rest in an unlinked temporary file.
//
// Why: nginx stops sending a request body once it has received the response
// header. A program that answers before reading all of its body would then
// wait for bytes that never come, unless fcgi-run keeps reading the body from
// the web server whatever the program does. Spooling to a file keeps that
// deadlock away with bounded memory.
//
// Order is preserved: while the file holds unread bytes, new bytes go to the
// file too. Take() serves memory first, then the file. The file is created on
// first need (O_TMPFILE in `tmp_dir`) and closed by the destructor. Not
// thread-safe.
#ifndef FCGI_RUN_LAUNCHER_REQUEST_BODY_SPOOL_H_
#define FCGI_RUN_LAUNCHER_REQUEST_BODY_SPOOL_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/status.h"

namespace fcgi {

class BodySpool {
 public:
  BodySpool(size_t memory_limit, std::string tmp_dir)
      : memory_limit_(memory_limit), tmp_dir_(std::move(tmp_dir)) {}
  BodySpool(const BodySpool&) = delete;
  BodySpool& operator=(const BodySpool&) = delete;
  ~BodySpool();

  // Queues `data` at the back. Errors name the file operation that failed
  // (open(2) O_TMPFILE in DIR, write(2), ...); nothing is queued then.
  Status Append(std::string_view data);
  // Moves up to `max` bytes from the front to the end of *out.
  Status Take(size_t max, std::string* out);
  // Drops everything queued.
  void Clear();

  uint64_t size() const { return (memory_.size() - memory_head_) + (file_end_ - file_head_); }
  bool empty() const { return size() == 0; }
  uint64_t file_bytes() const { return file_end_ - file_head_; }
  // Largest number of bytes the file ever held (for logs and tests).
  uint64_t file_high_water() const { return file_high_water_; }

 private:
  Status OpenFile();

  size_t memory_limit_;
  std::string tmp_dir_;
  std::string memory_;
  size_t memory_head_ = 0;
  int fd_ = -1;
  uint64_t file_head_ = 0;  // next byte to read
  uint64_t file_end_ = 0;   // next byte to write
  uint64_t file_high_water_ = 0;
};

}  // namespace fcgi

#endif  // FCGI_RUN_LAUNCHER_REQUEST_BODY_SPOOL_H_
