// AccessLog (--access-log FILE, --access-format FMT): one line per finished
// request, appended to FILE (opened O_APPEND, so logrotate's copytruncate
// works too); Reopen() on SIGUSR1, with the error log, for rotation by rename.
// The format comes parsed (Config::access_format; core/access_format.h lists
// the tokens); a SIGHUP reload may replace it.
// Owned by Server; requests reach it through ServerContext::access_log.
#ifndef FCGI_RUN_LAUNCHER_REQUEST_ACCESS_LOG_H_
#define FCGI_RUN_LAUNCHER_REQUEST_ACCESS_LOG_H_

#include <string>

#include "core/access_format.h"
#include "core/status.h"

namespace fcgi {

class AccessLog {
 public:
  AccessLog() = default;
  AccessLog(const AccessLog&) = delete;
  AccessLog& operator=(const AccessLog&) = delete;
  ~AccessLog();

  // Opens `path` ("-" = stdout); lines are written in `format`.
  Status Open(const std::string& path, const AccessFormat& format);
  void SetFormat(const AccessFormat& format) { format_ = format; }
  Status Reopen();
  const AccessFormat& format() const { return format_; }
  // Fills the record's end time (now, local zone) and writes the line. A failed
  // write (disk full) is dropped: the launcher keeps serving.
  void Write(AccessRecord record);

 private:
  std::string path_;
  AccessFormat format_;
  int fd_ = -1;
};

}  // namespace fcgi

#endif  // FCGI_RUN_LAUNCHER_REQUEST_ACCESS_LOG_H_
