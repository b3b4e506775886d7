// Script park: see script_park.h. State lives in one static ScriptPark.
#include "libcompat/script_park.h"

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "libcompat/child_start.h"
#include "core/control_protocol.h"
#include "libcompat/fork_server.h"
#include "libcompat/persistent_state.h"

extern char** environ;

extern "C" {
__attribute__((visibility("default"))) FcgiRunScriptRequest fcgi_run_script_request = {nullptr, 0};
}

namespace fcgi_compat {
namespace {

namespace proto = fcgi::compat;

// Exit status of a child whose set-up failed before the script resumed (as
// child_start.cc's).
constexpr int kSetupFailedStatus = 126;
// Files opened read-only during compilation that each child reopens.
constexpr int kMaxReopenedFiles = 64;

struct FileId {
  dev_t dev = 0;
  ino_t ino = 0;
};

// A regular file open read-only when the script parked.
struct ReadOnlyFile {
  int fd;
  int status_flags;  // F_GETFL
  bool cloexec;
  off_t offset;
};

struct ScriptPark {
  int control_fd = -1;
  ScriptLanguage language = ScriptLanguage::kNone;
  bool bind_now = false;
  bool parked = false;  // fcgi_run_park_script() ran (in this process or its parent)
  FileId stdio[3];      // what fds 0, 1 and 2 were at main()
  // What compilation wrote to stdout, then to stderr.
  char output[proto::kMaxCompileOutputBytes];
  uint32_t stdout_bytes = 0;
  uint32_t stderr_bytes = 0;
  ReadOnlyFile files[kMaxReopenedFiles];
  int file_count = 0;
  jmp_buf resume_point;
};

ScriptPark g_park;

FileId IdOf(int fd) {
  struct stat st;
  if (fstat(fd, &st) != 0) return FileId{};
  return FileId{st.st_dev, st.st_ino};
}

bool SameFile(const FileId& a, const FileId& b) { return a.ino != 0 && a.dev == b.dev && a.ino == b.ino; }

// Why the process cannot be parked as it is, as REFUSED's reason and error;
// 0 when it can.
unsigned CheckStdio(const ScriptPark& p, unsigned* error) {
  for (int fd = 0; fd < 3; ++fd) {
    if (!SameFile(IdOf(fd), p.stdio[fd])) {
      *error = static_cast<unsigned>(fd);
      return proto::kRefuseStdioReplaced;
    }
  }
  if (lseek(STDIN_FILENO, 0, SEEK_CUR) > 0) {
    *error = 0;
    return proto::kRefuseStdinRead;
  }
  return 0;
}

// Reads the file on `fd` (from offset 0) into out[0..room); returns its size
// (which may exceed room: then nothing is read), or 0 when it cannot be read.
uint32_t ReadWhole(int fd, char* out, uint32_t room) {
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size <= 0) return 0;
  const uint64_t size = static_cast<uint64_t>(st.st_size);
  if (size > room) return static_cast<uint32_t>(size > UINT32_MAX ? UINT32_MAX : size);
  uint64_t done = 0;
  while (done < size) {
    ssize_t n = pread(fd, out + done, size - done, static_cast<off_t>(done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    done += static_cast<uint64_t>(n);
  }
  return static_cast<uint32_t>(done);
}

// Keeps compile-time stdout and stderr; returns 0 or a REFUSED reason.
unsigned CaptureOutput(ScriptPark& p, unsigned* error) {
  const uint32_t room = proto::kMaxCompileOutputBytes;
  p.stdout_bytes = ReadWhole(STDOUT_FILENO, p.output, room);
  if (p.language == ScriptLanguage::kPython && p.stdout_bytes > 0) {
    *error = p.stdout_bytes;
    return proto::kRefuseCompileOutput;
  }
  if (p.stdout_bytes <= room)
    p.stderr_bytes = ReadWhole(STDERR_FILENO, p.output + p.stdout_bytes, room - p.stdout_bytes);
  const uint64_t total = static_cast<uint64_t>(p.stdout_bytes) + p.stderr_bytes;
  if (total > room) {
    *error = static_cast<unsigned>(total > UINT32_MAX ? UINT32_MAX : total);
    return proto::kRefuseCompileOutput;
  }
  return 0;
}

int ParseFdName(const char* name) {
  int fd = 0;
  for (const char* c = name; *c != '\0'; ++c) {
    if (*c < '0' || *c > '9' || fd > 1000000) return -1;
    fd = fd * 10 + (*c - '0');
  }
  return fd;
}

void NoteReadOnlyFile(const char* name, void* arg) {
  ScriptPark& p = *static_cast<ScriptPark*>(arg);
  const int fd = ParseFdName(name);
  if (fd < 3 || fd == p.control_fd || p.file_count == kMaxReopenedFiles) return;
  const int status_flags = fcntl(fd, F_GETFL);
  const int fd_flags = fcntl(fd, F_GETFD);
  struct stat st;
  if (status_flags < 0 || fd_flags < 0 || (status_flags & O_ACCMODE) != O_RDONLY) return;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) return;  // the directory being listed is one
  const off_t offset = lseek(fd, 0, SEEK_CUR);
  if (offset < 0) return;
  p.files[p.file_count++] = ReadOnlyFile{fd, status_flags, (fd_flags & FD_CLOEXEC) != 0, offset};
}

void WriteAll(int fd, const char* data, uint32_t size) {
  while (size > 0) {
    ssize_t n = write(fd, data, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // the request's reader is gone: the script will see it too
    data += n;
    size -= static_cast<uint32_t>(n);
  }
}

// Gives `file` an open file description (and so an offset) of its own: the
// same file, opened again through /proc/self/fd, at the offset it had when the
// script parked. Left shared when that fails (a file no longer readable).
void Reopen(const ReadOnlyFile& file) {
  char path[40];
  snprintf(path, sizeof path, "/proc/self/fd/%d", file.fd);
  const int kept_flags = O_NONBLOCK | O_DIRECT | O_LARGEFILE;
  int fd = open(path, O_RDONLY | O_CLOEXEC | (file.status_flags & kept_flags));
  if (fd < 0) return;
  if (lseek(fd, file.offset, SEEK_SET) == file.offset) dup3(fd, file.fd, file.cloexec ? O_CLOEXEC : 0);
  close(fd);
}

// environ as a malloc'd copy: Perl frees the entries of an environ that is
// not the one it started with.
char** CopyEnvironment(char* const* envp) {
  size_t n = 0;
  while (envp[n] != nullptr) ++n;
  char** copy = static_cast<char**>(malloc((n + 1) * sizeof(char*)));
  if (copy == nullptr) return nullptr;
  for (size_t i = 0; i < n; ++i) {
    copy[i] = strdup(envp[i]);
    if (copy[i] == nullptr) return nullptr;
  }
  copy[n] = nullptr;
  return copy;
}

[[noreturn]] void ResumeScript(const ChildRequest& request) {
  ScriptPark& p = g_park;
  WriteAll(STDOUT_FILENO, p.output, p.stdout_bytes);
  WriteAll(STDERR_FILENO, p.output + p.stdout_bytes, p.stderr_bytes);
  for (int i = 0; i < p.file_count; ++i) Reopen(p.files[i]);
  char** env = CopyEnvironment(request.envp);
  if (env == nullptr) _exit(kSetupFailedStatus);
  environ = env;
  fcgi_run_script_request.env_block = request.env_block;
  fcgi_run_script_request.env_bytes = request.env_bytes;
  _longjmp(p.resume_point, 1);
}

}  // namespace

ScriptLanguage ScriptParkRequested() {
  const char* value = getenv(proto::kParkEnv);
  if (value == nullptr) return ScriptLanguage::kNone;
  if (strcmp(value, proto::kParkPerl) == 0) return ScriptLanguage::kPerl;
  if (strcmp(value, proto::kParkPython) == 0) return ScriptLanguage::kPython;
  return ScriptLanguage::kNone;
}

void PrepareScriptPark(int control_fd, ScriptLanguage language, bool bind_now) {
  ScriptPark& p = g_park;
  p.control_fd = control_fd;
  p.language = language;
  p.bind_now = bind_now;
  for (int fd = 0; fd < 3; ++fd) p.stdio[fd] = IdOf(fd);
}

}  // namespace fcgi_compat

extern "C" __attribute__((visibility("default"))) void fcgi_run_park_script(void*, void*) {
  using namespace fcgi_compat;
  ScriptPark& p = g_park;
  if (p.control_fd < 0 || p.parked) return;
  p.parked = true;
  if (!IsControlSocket(p.control_fd)) {  // the script closed or replaced it while compiling
    static const char kText[] =
        "fcgi-run-compat: the control socket was closed while compiling; not parking\n";
    ssize_t ignored = write(STDERR_FILENO, kText, sizeof kText - 1);
    (void)ignored;
    _exit(proto::kRefusedExitStatus);
  }
  int threads = CountDirectoryEntries("/proc/self/task");
  if (threads < 0) RefuseAndExit(p.control_fd, proto::kRefuseSetup, static_cast<unsigned>(-threads));
  if (threads != 1) RefuseAndExit(p.control_fd, proto::kRefuseThreads, static_cast<unsigned>(threads));
  fflush(nullptr);  // what C stdio still buffers is compile-time output too
  unsigned error = 0;
  unsigned reason = CheckStdio(p, &error);
  if (reason == 0) reason = CaptureOutput(p, &error);
  if (reason != 0) RefuseAndExit(p.control_fd, reason, error);
  VisitDirectoryEntries("/proc/self/fd", NoteReadOnlyFile, &p);
  // The parked process reads nothing and writes nothing more of its own on
  // stdin and stdout; stderr stays the launcher's file (the shim's complaints).
  int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
  if (devnull < 0) RefuseAndExit(p.control_fd, proto::kRefuseSetup, static_cast<unsigned>(errno));
  dup2(devnull, STDIN_FILENO);
  dup2(devnull, STDOUT_FILENO);
  close(devnull);
  if (_setjmp(p.resume_point) != 0) return;  // a request's child (ResumeScript)
  ParkedProgram program;
  program.bind_now = p.bind_now;
  program.resume = ResumeScript;
  RunForkServer(p.control_fd, program);
}
