// The program's standard streams between persistent-mode requests: saved at
// the park, put back after each request.
//
// A request may close them: gnulib's close_stdout (registered with atexit by
// GNU-style programs, run at the end of the request) calls fclose(stdout) and
// fclose(stderr); others fclose(stdin) or assign the stdio variables. glibc's
// stdin/stdout/stderr FILE objects are static, so fclose() leaves them in
// place, closed (fileno -1, unlinked from the list of open streams); left so,
// every later request's output would be lost (printf fails, and
// close_stdout turns that into exit status 1). RepairStdStreams points the
// variables back at the saved objects and reopens a closed one on its own fd
// (0, 1, 2), with its buffering mode of the park.
//
// libc only (glibc's FILE layout: _fileno and _flags are part of its ABI);
// nothing allocates beyond what freopen(3) itself takes.
#ifndef FCGI_RUN_LIBCOMPAT_PERSISTENT_STDIO_H_
#define FCGI_RUN_LIBCOMPAT_PERSISTENT_STDIO_H_

#include <stdio.h>

#include <cstdint>

namespace fcgi_compat {

struct StdStream {
  FILE** variable = nullptr;  // &stdin, &stdout or &stderr
  FILE* file = nullptr;       // what it pointed to at the park
  int fd = -1;                // 0, 1 or 2
  const char* mode = "r";     // for freopen(3)
  int buffering = -1;         // _IONBF, _IOLBF, or -1: stdio chooses
};
struct StdStreams {
  StdStream streams[3];
};

// Records stdin, stdout and stderr as they are now (at the park).
void SaveStdStreams(StdStreams* saved);

// Puts back every standard stream the request closed or pointed elsewhere.
// REQUIRES: fds 0, 1 and 2 are open on what the streams should use (the
// caller put them back first). Returns fcgi::compat::kReportStdioReopened
// when one was repaired, else 0; *failed is set when one could not be
// reopened (no fd left): the worker must not serve again.
uint32_t RepairStdStreams(const StdStreams& saved, bool* failed);

// Empties the three streams' buffers (unread input, unwritten output) and
// clears their error and EOF flags.
void PurgeStdio();

}  // namespace fcgi_compat

#endif  // FCGI_RUN_LIBCOMPAT_PERSISTENT_STDIO_H_
