#include "launcher/log.h"

#include <fcntl.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <ctime>

namespace fcgi {

namespace {
int g_fd = STDERR_FILENO;
std::string g_path;
LogLevel g_min = LogLevel::kInfo;

const char* LevelName(LogLevel l) {
  switch (l) {
    case LogLevel::kDebug: return "debug";
    case LogLevel::kInfo: return "info";
    case LogLevel::kWarning: return "warning";
    case LogLevel::kError: return "error";
  }
  return "?";
}
}  // namespace

Status Log::Open(const std::string& path, LogLevel min_level) {
  g_min = min_level;
  g_path = path;
  return Reopen();
}

Status Log::Reopen() {
  if (g_path.empty()) return Status::Ok();
  int fd = ::open(g_path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
  if (fd < 0) return Status::FromErrno("open(2)", g_path, errno);
  if (g_fd != STDERR_FILENO) ::close(g_fd);
  g_fd = fd;
  return Status::Ok();
}

void Log::SetLevel(LogLevel level) { g_min = level; }
bool Log::Enabled(LogLevel level) { return level >= g_min; }

void Log::Write(LogLevel level, std::string_view message) {
  if (level < g_min) return;
  struct timeval tv;
  gettimeofday(&tv, nullptr);
  struct tm tm;
  localtime_r(&tv.tv_sec, &tm);
  char prefix[96];
  int n = std::snprintf(prefix, sizeof prefix, "%04d-%02d-%02d %02d:%02d:%02d.%03d fcgi-run[%d]: %s: ",
                        tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                        static_cast<int>(tv.tv_usec / 1000), static_cast<int>(getpid()), LevelName(level));
  std::string line(prefix, n > 0 ? static_cast<size_t>(n) : 0);
  for (char c : message) line += (c == '\n' || c == '\r') ? ' ' : c;  // one line per event
  line += '\n';
  // A failed log write (disk full) must never stop the launcher: drop the line.
  ssize_t w = ::write(g_fd, line.data(), line.size());
  (void)w;
}

}  // namespace fcgi
