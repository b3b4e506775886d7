#include "launcher/run/privileges.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include <cstdlib>
#include <utility>

#include "core/strings.h"
#include "launcher/log/log.h"

namespace fcgi {

namespace {

class CredentialSpawner : public Spawner {
 public:
  CredentialSpawner(std::unique_ptr<Spawner> inner, Credentials c)
      : inner_(std::move(inner)), c_(std::move(c)) {}
  Status Spawn(const SpawnSpec& spec, pid_t* pid) override {
    SpawnSpec s = spec;
    s.credentials.set = true;
    s.credentials.uid = c_.uid;
    s.credentials.gid = c_.gid;
    s.credentials.groups = c_.groups;
    return inner_->Spawn(s, pid);
  }

 private:
  std::unique_ptr<Spawner> inner_;
  Credentials c_;
};

}  // namespace

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

std::unique_ptr<Spawner> MakeCredentialSpawner(std::unique_ptr<Spawner> inner, const Credentials& c) {
  return std::make_unique<CredentialSpawner>(std::move(inner), c);
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
  if (have_program_user && !have_user) {
    *spawner = MakeCredentialSpawner(std::move(*spawner), program);
    LogInfo("programs run as " + config.program_user + " (uid " + std::to_string(program.uid) + ", gid " +
            std::to_string(program.gid) + ")");
  }
  if (have_user && euid == 0) {
    Status s = DropPrivileges(launcher);
    if (!s.ok()) return Status::Invalid("--user " + config.user + ": " + s.message());
    LogInfo("dropped privileges to " + config.user + " (uid " + std::to_string(launcher.uid) + ", gid " +
            std::to_string(launcher.gid) + ")");
  }
  if (program_uid == 0) LogWarning("programs run as root (--allow-root)");
  return Status::Ok();
}

}  // namespace fcgi
