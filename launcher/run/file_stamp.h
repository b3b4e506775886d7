// FileStamp: the identity of a program file as last seen, to notice that it
// was replaced, rebuilt, chmod'ed or chown'ed (another inode, size, mtime or
// ctime). Fork and persistent modes replace their long-lived processes when
// the stamp of the program changes. A file that cannot be stat'ed has the
// all-zero stamp.
#ifndef FCGI_RUN_LAUNCHER_RUN_FILE_STAMP_H_
#define FCGI_RUN_LAUNCHER_RUN_FILE_STAMP_H_

#include <sys/stat.h>

#include <ctime>
#include <string>

namespace fcgi {

struct FileStamp {
  ino_t ino = 0;
  off_t size = 0;
  timespec mtime{};
  timespec ctime{};

  static FileStamp Of(const std::string& path) {
    FileStamp f;
    struct stat st;
    if (stat(path.c_str(), &st) == 0) f = FileStamp{st.st_ino, st.st_size, st.st_mtim, st.st_ctim};
    return f;
  }
  bool operator==(const FileStamp& o) const {
    return ino == o.ino && size == o.size && mtime.tv_sec == o.mtime.tv_sec &&
           mtime.tv_nsec == o.mtime.tv_nsec && ctime.tv_sec == o.ctime.tv_sec &&
           ctime.tv_nsec == o.ctime.tv_nsec;
  }
};

}  // namespace fcgi

#endif  // FCGI_RUN_LAUNCHER_RUN_FILE_STAMP_H_
