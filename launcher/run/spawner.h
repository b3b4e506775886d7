// Spawner: starts a CGI program for one request. Abstract so that
// privileges.cc can wrap the real one (process_spawner.cc) with what a
// program's process may hold (--program-user, no new privileges). The request
// machinery is driven without processes one level up, through a fake
// ProgramRunner (program_runner.h; tests/launcher/run/fake_program_runner.h).
//
// The spawned process is the leader of its own process group (pgid == pid), so
// that the launcher can signal the program together with its children; it dies
// with the launcher (PR_SET_PDEATHSIG); its signal dispositions and mask are the
// defaults (SIGPIPE included); it inherits exactly fds 0, 1, 2 (and extra_fds);
// it cannot gain privileges through execve (no_new_privs, unless cleared).
#ifndef FCGI_RUN_LAUNCHER_RUN_SPAWNER_H_
#define FCGI_RUN_LAUNCHER_RUN_SPAWNER_H_

#include <sys/resource.h>
#include <sys/types.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/status.h"

namespace fcgi {

struct SpawnSpec {
  std::string path;               // the program to execute
  std::vector<std::string> args;  // argv[1..]; argv[0] is `path`
  std::vector<std::string> env;   // "NAME=VALUE", the whole environment
  std::string cwd;                // working directory ("" = inherit)
  int stdin_fd = -1;              // child's ends, dup'ed to 0/1/2; the caller
  int stdout_fd = -1;             // keeps ownership and closes them after Spawn
  int stderr_fd = -1;
  std::vector<std::pair<int, rlim_t>> rlimits;  // setrlimit(resource, {v, v}) in the child
  // More fds the child inherits: {number in the child, fd in the launcher}.
  // The launcher's fd stays the caller's. Numbers must be >= 3.
  std::vector<std::pair<int, int>> extra_fds;
  // --program-user: the child switches to these ids (setgroups, setresgid,
  // setresuid, in that order, after the rlimits) before execve; a failure
  // fails the spawn with that errno. Unset = the launcher's ids.
  struct Credentials {
    bool set = false;
    uid_t uid = 0;
    gid_t gid = 0;
    std::vector<gid_t> groups;  // supplementary groups
  } credentials;
  // PR_SET_NO_NEW_PRIVS in the child before execve: a set-uid, set-gid or
  // file-capability program (and anything the program runs) starts with the
  // child's ids and no more. Cleared only by --allow-setid-programs.
  bool no_new_privs = true;
};

class Spawner {
 public:
  virtual ~Spawner() = default;
  // Starts the program; on success *pid is its pid (and pgid). The caller owns
  // the child: it must reap it (see ChildWatcher).
  virtual Status Spawn(const SpawnSpec& spec, pid_t* pid) = 0;
};

}  // namespace fcgi

#endif  // FCGI_RUN_LAUNCHER_RUN_SPAWNER_H_
