// Standard streams between persistent-mode requests: see persistent_stdio.h.
#include "libcompat/persistent_stdio.h"

#include <stdio_ext.h>
#include <unistd.h>

#include "core/control_protocol.h"

namespace fcgi_compat {
namespace {

namespace proto = fcgi::compat;

// glibc's _IO_UNBUFFERED bit of FILE::_flags (libio.h; unchanged since
// glibc 2.0): stderr has it from the start, setvbuf(_IONBF) sets it.
constexpr int kGlibcUnbuffered = 0x0002;

int BufferingOf(FILE* file) {
  if ((file->_flags & kGlibcUnbuffered) != 0) return _IONBF;
  if (__flbf(file) != 0) return _IOLBF;
  return -1;
}

StdStream Save(FILE** variable, int fd, const char* mode) {
  return StdStream{variable, *variable, fd, mode, BufferingOf(*variable)};
}

// Reopens s.file, which is closed or on another fd than s.fd, on s.fd.
bool Reopen(const StdStream& s) {
  // freopen() opens and relinks the object; it opens /dev/null on the
  // lowest free fd, which is then swapped for the stream's own.
  FILE* file = freopen("/dev/null", s.mode, s.file);
  if (file == nullptr) return false;
  int opened = fileno(file);
  if (opened != s.fd) {
    file->_fileno = s.fd;
    close(opened);
  }
  if (s.buffering >= 0) setvbuf(file, nullptr, s.buffering, 0);
  return true;
}

}  // namespace

void SaveStdStreams(StdStreams* saved) {
  saved->streams[0] = Save(&stdin, 0, "r");
  saved->streams[1] = Save(&stdout, 1, "w");
  saved->streams[2] = Save(&stderr, 2, "w");
}

uint32_t RepairStdStreams(const StdStreams& saved, bool* failed) {
  uint32_t flags = 0;
  for (const StdStream& s : saved.streams) {
    if (*s.variable != s.file) {
      *s.variable = s.file;
      flags = proto::kReportStdioReopened;
    }
    if (fileno(s.file) == s.fd) continue;  // open, on its own fd
    flags = proto::kReportStdioReopened;
    if (!Reopen(s)) *failed = true;
  }
  return flags;
}

void PurgeStdio() {
  __fpurge(stdin);
  __fpurge(stdout);
  __fpurge(stderr);
  clearerr(stdin);
  clearerr(stdout);
  clearerr(stderr);
}

}  // namespace fcgi_compat
