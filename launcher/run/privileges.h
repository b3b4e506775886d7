// Privileges: --user (fcgi-run drops to a user after binding), --program-user
// (programs run as a user; fcgi-run stays), --allow-root (programs may run as
// root or with group root), --allow-setid-programs (execve may grant a program
// more privileges than fcgi-run gave it: set-id bits, file capabilities).
// Looked up and checked at start-up; errors are start-up errors.
#ifndef FCGI_RUN_LAUNCHER_RUN_PRIVILEGES_H_
#define FCGI_RUN_LAUNCHER_RUN_PRIVILEGES_H_

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "core/status.h"
#include "launcher/config/options.h"
#include "launcher/run/spawner.h"

namespace fcgi {

struct Credentials {
  std::string name;  // "nobody:nogroup", for logs
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups;  // supplementary groups (getgrouplist; includes gid)
};

// "USER" (primary group from the passwd entry) or "USER:GROUP"; names or
// numeric ids. Supplementary groups are USER's from the group database
// (initgroups semantics). Errors: kNotFound for an unknown user or group.
Status LookUpCredentials(const std::string& spec, Credentials* out);

// setgroups, setgid, setuid (real, effective and saved ids), then checks that
// root cannot be regained (setuid(0) must fail). REQUIRES: privileges to
// change ids (started as root) unless `c` is already the current user.
Status DropPrivileges(const Credentials& c);

// A Spawner whose children switch to `*c` before execve (SpawnSpec::credentials;
// null: they keep fcgi-run's ids) and, with `allow_setid_programs`, may gain
// privileges through execve (SpawnSpec::no_new_privs cleared).
std::unique_ptr<Spawner> MakePrivilegeSpawner(std::unique_ptr<Spawner> inner, const Credentials* c,
                                              bool allow_setid_programs);

// The checks of ApplyPrivileges without their effects (also --check-config):
// looks up --user and --program-user into *launcher and *program and refuses
// what ApplyPrivileges refuses, with the same messages.
Status CheckPrivileges(const Config& config, Credentials* launcher, Credentials* program);

// The user's / group's name (getpwuid(3), getgrgid(3)), else the number.
std::string UserName(uid_t uid);
std::string GroupName(gid_t gid);

// Whether the programs' user `who` (named by `option`: --user or
// --program-user) may execute the file `path` by its mode bits (owner, group,
// other; root needs one x bit). An error names the user, the option, the mode
// and the owner. The directories on the way are not looked at.
Status CheckExecutableBy(const Credentials& who, const char* option, const std::string& path);

// What the server does at start-up, after binding: refuses to run programs as
// root or with group root (--user/--program-user naming group 0) without
// --allow-root (with the reason), then drops fcgi-run to --user, and wraps
// *spawner so programs run as --program-user (and, with
// --allow-setid-programs, without PR_SET_NO_NEW_PRIVS).
Status ApplyPrivileges(const Config& config, std::unique_ptr<Spawner>* spawner);

}  // namespace fcgi

#endif  // FCGI_RUN_LAUNCHER_RUN_PRIVILEGES_H_
