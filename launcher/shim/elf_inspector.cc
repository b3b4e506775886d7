// Fork-mode pre-flight of a program's files: see elf_inspector.h.
#include "launcher/shim/elf_inspector.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "core/status.h"

namespace fcgi {
namespace {

constexpr int kMaxInterpreterDepth = 4;  // the kernel's BINPRM_MAX_RECURSION
constexpr size_t kHeadBytes = 4096;      // covers the #! line and usual phdrs
constexpr uint64_t kMaxProgramHeaderTable = 1 << 20;

class FileDescriptor {
 public:
  explicit FileDescriptor(int fd) : fd_(fd) {}
  ~FileDescriptor() {
    if (fd_ >= 0) close(fd_);
  }
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

// Reads up to `size` bytes at `offset` into *out (short only at end of file).
Status ReadAt(int fd, const std::string& path, uint64_t offset, size_t size, std::string* out) {
  out->resize(size);
  size_t done = 0;
  while (done < size) {
    ssize_t n = pread(fd, out->data() + done, size - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Status::FromErrno("pread(2)", path, errno);
    if (n == 0) break;
    done += static_cast<size_t>(n);
  }
  out->resize(done);
  return Status::Ok();
}

// Checks what the file system says about `path` and reads its first bytes into
// *head. Returns "" when it may be parked as far as the metadata goes, else why not.
std::string CheckFile(const std::string& path, FileDescriptor* fd, std::string* head) {
  if (fd->get() < 0) return Status::FromErrno("open(2)", path, errno).message();
  struct stat st;
  if (fstat(fd->get(), &st) != 0) return Status::FromErrno("fstat(2)", path, errno).message();
  if (!S_ISREG(st.st_mode)) return path + ": not a regular file";
  if (st.st_mode & S_ISUID) return path + ": set-uid";
  // S_ISGID without group execute is mandatory locking, not set-gid execution.
  if ((st.st_mode & S_ISGID) && (st.st_mode & S_IXGRP)) return path + ": set-gid";
  if (access(path.c_str(), X_OK) != 0) return Status::FromErrno("access(2) X_OK", path, errno).message();
  if (fgetxattr(fd->get(), "security.capability", nullptr, 0) >= 0 || errno == ERANGE) {
    return path + ": file capabilities";
  }
  Status status = ReadAt(fd->get(), path, 0, kHeadBytes, head);
  return status.ok() ? "" : status.message();
}

// Why the ELF in `head` (of file fd) cannot be parked, or "" if it can.
std::string CheckElf(const std::string& path, int fd, const std::string& head) {
  ElfSummary summary;
  Status status = ParseElfPrefix(head, &summary);
  if (status.code() == Status::Code::kLimitExceeded) {
    ElfHeader header;
    status = ParseElfHeader(head, &header);
    if (status.ok() && header.ProgramHeaderTableSize() > kMaxProgramHeaderTable) {
      return path + ": ELF program header table too large";
    }
    std::string table;
    if (status.ok()) {
      status = ReadAt(fd, path, header.program_header_offset, header.ProgramHeaderTableSize(), &table);
    }
    if (status.ok()) status = ParseElfProgramHeaders(header, table, &summary);
  }
  if (!status.ok()) return path + ": " + status.message();
  if (!summary.has_interp) return path + ": static binary (no PT_INTERP)";
  return "";
}

// NAME as `env` would find it: itself if it has a '/', else the first
// executable regular file in the search path. "" if none.
std::string ResolveInPath(const std::string& name, std::string_view search_path) {
  if (name.find('/') != std::string::npos) return name;
  for (const std::string& dir : SplitSearchPath(search_path)) {
    std::string candidate = dir + "/" + name;
    struct stat st;
    if (stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode) && access(candidate.c_str(), X_OK) == 0) {
      return candidate;
    }
  }
  return "";
}

ParkCheck Refuse(ParkCheck check, std::string reason) {
  check.can_park = false;
  check.reason = std::move(reason);
  return check;
}

}  // namespace

ParkCheck InspectForForkMode(const std::string& program, std::string_view search_path) {
  ParkCheck check;
  std::string path = program;
  std::optional<std::string> env_argument;  // set while following "#!.../env ARGS"
  for (int depth = 0;; ++depth) {
    check.chain.push_back(path);
    FileDescriptor fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
    std::string head;
    std::string reason = CheckFile(path, &fd, &head);
    if (!reason.empty()) return Refuse(std::move(check), std::move(reason));
    std::optional<Shebang> shebang;
    Status status = ParseShebang(head, &shebang);
    if (!status.ok()) return Refuse(std::move(check), path + ": " + status.message());
    if (shebang) {
      if (depth == 0) check.shebang = shebang;
      if (depth >= kMaxInterpreterDepth) {
        return Refuse(std::move(check), path + ": too many levels of \"#!\" interpreters");
      }
      if (BaseName(shebang->interpreter) == "env") env_argument = shebang->argument;
      path = shebang->interpreter;
      continue;
    }
    if (!LooksLikeElf(head)) return Refuse(std::move(check), path + ": not an ELF file or script");
    reason = CheckElf(path, fd.get(), head);
    if (!reason.empty()) return Refuse(std::move(check), std::move(reason));
    if (!env_argument) break;
    std::string name = EnvCommandName(*env_argument);
    env_argument.reset();
    if (name.empty()) return Refuse(std::move(check), path + ": \"#!\" env without a command");
    std::string resolved = ResolveInPath(name, search_path);
    if (resolved.empty()) return Refuse(std::move(check), name + ": not found in PATH");
    path = resolved;
  }
  check.can_park = true;
  return check;
}

}  // namespace fcgi
