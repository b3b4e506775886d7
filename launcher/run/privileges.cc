#include "launcher/run/privileges.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <utility>

#include "core/strings.h"
#include "launcher/log/log.h"

namespace fcgi {

namespace {

// Sets what a program's process may hold: the --program-user ids (when
// `credentials` is set) and whether execve may grant more (set-id programs,
// --allow-setid-programs).
class PrivilegeSpawner : public Spawner {
 public:
  PrivilegeSpawner(std::unique_ptr<Spawner> inner, std::optional<Credentials> c, bool allow_setid)
      : inner_(std::move(inner)), c_(std::move(c)), allow_setid_(allow_setid) {}
  Status Spawn(const SpawnSpec& spec, pid_t* pid) override {
    SpawnSpec s = spec;
    if (c_) {
      s.credentials.set = true;
      s.credentials.uid = c_->uid;
      s.credentials.gid = c_->gid;
      s.credentials.groups = c_->groups;
    }
    if (allow_setid_) s.no_new_privs = false;
    Status st = inner_->Spawn(s, pid);
    // execve(2) EACCES: the file is fcgi-run's to run, not necessarily the programs' user's.
    return c_ ? st.Annotated(" (running as " + c_->name + ")") : st;
  }

 private:
  std::unique_ptr<Spawner> inner_;
  std::optional<Credentials> c_;
  bool allow_setid_;
};

bool HasRootGroup(const Credentials& c) {
  return c.gid == 0 || std::find(c.groups.begin(), c.groups.end(), 0) != c.groups.end();
}

std::string RootGroupRefusal(const char* option, const std::string& spec, const Credentials& c) {
  return std::string(option) + " " + spec + ": " +
         (c.gid == 0 ? "group 0 (root)" : "a member of group 0 (root)") +
         ": programs would run with root's group, which owns and may write much of the system (as user 0 "
         "would own it); name another group (USER:GROUP), or give --allow-root if that is really meant";
}

}  // namespace

std::string UserName(uid_t uid) {
  struct passwd* pw = getpwuid(uid);
  return pw != nullptr ? pw->pw_name : std::to_string(uid);
}

std::string GroupName(gid_t gid) {
  struct group* gr = getgrgid(gid);
  return gr != nullptr ? gr->gr_name : std::to_string(gid);
}

Status CheckExecutableBy(const Credentials& who, const char* option, const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) return Status::FromErrno("stat(2)", path, errno);
  mode_t bit = S_IXOTH;
  if (who.uid == 0) bit = S_IXUSR | S_IXGRP | S_IXOTH;
  else if (st.st_uid == who.uid) bit = S_IXUSR;
  else if (st.st_gid == who.gid ||
           std::find(who.groups.begin(), who.groups.end(), st.st_gid) != who.groups.end())
    bit = S_IXGRP;
  if ((st.st_mode & bit) != 0) return Status::Ok();
  char mode[8];
  std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
  return Status::Denied("PROGRAM " + path + ": " + UserName(who.uid) + " (" + option +
                        ") may not execute it (mode " + mode + ", owner " + UserName(st.st_uid) + ":" +
                        GroupName(st.st_gid) +
                        "), so every request would fail with execve(2) EACCES; "
                        "give it execute permission for that user (chmod o+x, or its group), or run the "
                        "programs as its owner");
}

Status LookUpCredentials(const std::string& spec, Credentials* out) {
  const size_t colon = spec.find(':');
  const std::string user = spec.substr(0, colon);
  const std::string group = colon == std::string::npos ? "" : spec.substr(colon + 1);
  if (user.empty()) return Status::Invalid("\"" + spec + "\": expected USER or USER:GROUP");
  Credentials c;
  std::vector<char> buf(16384);
  struct passwd pw, *pwp = nullptr;
  int err = getpwnam_r(user.c_str(), &pw, buf.data(), buf.size(), &pwp);
  if (pwp == nullptr && IsAllDigits(user)) {
    err = getpwuid_r(static_cast<uid_t>(std::strtoul(user.c_str(), nullptr, 10)), &pw, buf.data(), buf.size(),
                     &pwp);
  }
  if (pwp == nullptr) {
    return err != 0 ? Status::FromErrno("getpwnam_r(3)", user, err)
                    : Status::NotFound("no such user: " + user);
  }
  c.uid = pw.pw_uid;
  c.gid = pw.pw_gid;
  const std::string user_name = pw.pw_name;
  if (!group.empty()) {
    std::vector<char> gbuf(16384);
    struct group gr, *grp = nullptr;
    err = getgrnam_r(group.c_str(), &gr, gbuf.data(), gbuf.size(), &grp);
    if (grp == nullptr && IsAllDigits(group)) {
      err = getgrgid_r(static_cast<gid_t>(std::strtoul(group.c_str(), nullptr, 10)), &gr, gbuf.data(),
                       gbuf.size(), &grp);
    }
    if (grp == nullptr) {
      return err != 0 ? Status::FromErrno("getgrnam_r(3)", group, err)
                      : Status::NotFound("no such group: " + group);
    }
    c.gid = gr.gr_gid;
  }
  int n = 64;
  c.groups.resize(n);
  while (getgrouplist(user_name.c_str(), c.gid, c.groups.data(), &n) < 0) {
    if (n <= static_cast<int>(c.groups.size())) n = static_cast<int>(c.groups.size()) * 2;
    c.groups.resize(n);
  }
  c.groups.resize(n);
  c.name = user_name + ":" + std::to_string(c.gid);
  *out = std::move(c);
  return Status::Ok();
}

Status DropPrivileges(const Credentials& c) {
  if (setgroups(c.groups.size(), c.groups.data()) != 0)
    return Status::FromErrno("setgroups(2)", c.name, errno);
  if (setresgid(c.gid, c.gid, c.gid) != 0) return Status::FromErrno("setresgid(2)", c.name, errno);
  if (setresuid(c.uid, c.uid, c.uid) != 0) return Status::FromErrno("setresuid(2)", c.name, errno);
  if (c.uid != 0 && (setuid(0) == 0 || seteuid(0) == 0)) {
    return Status::Denied("dropped to " + c.name + " but root could be regained: refusing to run");
  }
  if (getuid() != c.uid || geteuid() != c.uid || getgid() != c.gid || getegid() != c.gid) {
    return Status::Denied("dropping to " + c.name + " did not change every id: refusing to run");
  }
  return Status::Ok();
}

std::unique_ptr<Spawner> MakePrivilegeSpawner(std::unique_ptr<Spawner> inner, const Credentials* c,
                                              bool allow_setid_programs) {
  return std::make_unique<PrivilegeSpawner>(
      std::move(inner), c != nullptr ? std::optional<Credentials>(*c) : std::nullopt, allow_setid_programs);
}

Status CheckPrivileges(const Config& config, Credentials* launcher_out, Credentials* program_out) {
  Credentials& launcher = *launcher_out;
  Credentials& program = *program_out;
  const bool have_user = !config.user.empty(), have_program_user = !config.program_user.empty();
  if (have_user) {
    Status s = LookUpCredentials(config.user, &launcher);
    if (!s.ok()) return Status::Invalid("--user " + config.user + ": " + s.message());
  }
  if (have_program_user) {
    Status s = LookUpCredentials(config.program_user, &program);
    if (!s.ok()) return Status::Invalid("--program-user " + config.program_user + ": " + s.message());
  }
  if (!config.allow_root) {
    if (have_user && HasRootGroup(launcher)) {
      return Status::Denied(RootGroupRefusal("--user", config.user, launcher));
    }
    if (have_program_user && HasRootGroup(program)) {
      return Status::Denied(RootGroupRefusal("--program-user", config.program_user, program));
    }
  }
  const uid_t euid = geteuid();
  uid_t program_uid = have_program_user ? program.uid : have_user ? launcher.uid : euid;
  if (program_uid == 0 && !config.allow_root) {
    return Status::Denied(
        "programs would run as root: fcgi-run runs as root and neither --user nor --program-user names "
        "another "
        "user, so any flaw in a program (or, in dispatcher mode, any file a request can name) would own the "
        "machine. Give --user USER (fcgi-run drops to USER after binding) or --program-user USER (programs "
        "run "
        "as USER), or --allow-root if the programs really must run as root");
  }
  if (have_program_user && euid != 0 && program.uid != euid) {
    return Status::Invalid("--program-user " + config.program_user +
                           ": switching programs to another user needs fcgi-run to start as root");
  }
  if (have_user && have_program_user && launcher.uid != program.uid) {
    return Status::Invalid(
        "--user and --program-user name different users: once fcgi-run dropped to --user " + config.user +
        " it can no longer start programs as " + config.program_user);
  }
  if (have_user && euid != 0 && launcher.uid != euid) {
    return Status::Invalid("--user " + config.user + ": changing user needs fcgi-run to start as root");
  }
  return Status::Ok();
}

Status ApplyPrivileges(const Config& config, std::unique_ptr<Spawner>* spawner) {
  Credentials launcher, program;
  Status checked = CheckPrivileges(config, &launcher, &program);
  if (!checked.ok()) return checked;
  const bool have_user = !config.user.empty(), have_program_user = !config.program_user.empty();
  const uid_t euid = geteuid();
  const uid_t program_uid = have_program_user ? program.uid : have_user ? launcher.uid : euid;
  const bool switch_programs = have_program_user && !have_user;
  if (switch_programs || config.allow_setid_programs) {
    *spawner = MakePrivilegeSpawner(std::move(*spawner), switch_programs ? &program : nullptr,
                                    config.allow_setid_programs);
  }
  if (switch_programs) {
    LogInfo("programs run as " + config.program_user + " (uid " + std::to_string(program.uid) + ", gid " +
            std::to_string(program.gid) + ")");
  }
  if (config.allow_setid_programs) {
    LogWarning(
        "set-uid, set-gid and file-capability programs gain their privileges (--allow-setid-programs)");
  }
  if (have_user && euid == 0) {
    Status s = DropPrivileges(launcher);
    if (!s.ok()) return Status::Invalid("--user " + config.user + ": " + s.message());
    LogInfo("dropped privileges to " + config.user + " (uid " + std::to_string(launcher.uid) + ", gid " +
            std::to_string(launcher.gid) + ")");
  }
  if (program_uid == 0) LogWarning("programs run as root (--allow-root)");
  if (program_uid != 0 && !have_user && !have_program_user) {
    // fcgi-run was started without root and with group root (a container
    // running an arbitrary uid with gid 0, say): it cannot change that.
    std::vector<gid_t> groups(static_cast<size_t>(std::max(getgroups(0, nullptr), 0)));
    groups.resize(
        static_cast<size_t>(std::max(getgroups(static_cast<int>(groups.size()), groups.data()), 0)));
    if (getegid() == 0 || std::find(groups.begin(), groups.end(), 0) != groups.end()) {
      LogWarning(
          "programs run with group root (gid 0), fcgi-run's own group: start fcgi-run with another group");
    }
  }
  return Status::Ok();
}

}  // namespace fcgi
