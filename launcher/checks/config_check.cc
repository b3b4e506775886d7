#include "launcher/checks/config_check.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "launcher/front/listener.h"
#include "launcher/request/dispatcher_source.h"
#include "launcher/request/program_target.h"
#include "launcher/run/privileges.h"
#include "launcher/shim/fork_runner.h"

namespace fcgi {

namespace {

// A file fcgi-run appends to ("-" = stdout): writable, or creatable in its directory.
void CheckAppendable(const std::string& option, const std::string& path, std::vector<std::string>* errors) {
  if (path == "-") return;
  if (access(path.c_str(), F_OK) == 0) {
    if (access(path.c_str(), W_OK) != 0) {
      errors->push_back(Status::FromErrno(option + " access(2) W_OK", path, errno).message());
    }
    return;
  }
  std::string dir = path.find('/') == std::string::npos ? "." : path.substr(0, path.rfind('/'));
  if (dir.empty()) dir = "/";
  if (access(dir.c_str(), W_OK) != 0) {
    errors->push_back(option + " " + path +
                      ": cannot be created: " + Status::FromErrno("access(2) W_OK", dir, errno).message());
  }
}

void CheckListeners(const Config& config, ConfigCheckResult* r) {
  for (const ListenAddress& a : config.listen) {
    Status s = CheckListenAddress(a);
    if (!s.ok()) r->errors.push_back("--listen " + a.ToString() + ": " + s.message());
  }
  for (const ListenAddress& a : config.http) {
    Status s = CheckListenAddress(a);
    if (!s.ok()) r->errors.push_back("--http " + a.ToString().substr(4) + ": " + s.message());
  }
  // --http without --listen serves HTTP only: nothing is inherited.
  if (!config.listen.empty() || !config.http.empty()) return;
  std::vector<ListeningSocket> inherited;
  Status s = FindInheritedListeners(config, &inherited);
  if (s.code() == Status::Code::kNotFound) {
    r->warnings.push_back(s.message() +
                          " (start-up fails unless a web server that spawns fcgi-run hands it one)");
  } else if (!s.ok()) {
    r->errors.push_back(s.message());
  }
}

}  // namespace

void CheckPrograms(const Config& config, std::vector<std::string>* errors) {
  if (config.dispatcher()) {
    std::unique_ptr<FileSystem> fs = MakeRealFileSystem();
    ScriptPolicy policy;
    Status s = MakeScriptPolicy(config, *fs, &policy);
    if (!s.ok()) errors->push_back(s.message());
  } else {
    ProgramTarget target;
    Status s = ResolveProgramTarget(config, &target);
    if (!s.ok()) errors->push_back(s.message());
  }
}

namespace {

// The programs run as --program-user, else as --user: that user must be able
// to execute PROGRAM (or each --program), not only fcgi-run (access(2) in
// CheckPrograms judges fcgi-run's own ids).
void CheckProgramsRunnableBy(const Config& config, const Credentials& launcher, const Credentials& program,
                             std::vector<std::string>* errors) {
  const bool program_user = !config.program_user.empty();
  if (!program_user && config.user.empty()) return;
  const Credentials& who = program_user ? program : launcher;
  if (who.uid == geteuid()) return;
  const char* option = program_user ? "--program-user" : "--user";
  std::vector<std::string> paths = config.allowed_programs;
  ProgramTarget target;
  if (!config.dispatcher() && ResolveProgramTarget(config, &target).ok()) paths = {target.path};
  for (const std::string& path : paths) {
    if (Status s = CheckExecutableBy(who, option, path); !s.ok() && s.code() != Status::Code::kNotFound)
      errors->push_back(s.message());
  }
}

}  // namespace

ConfigCheckResult CheckConfig(const Config& config) {
  ConfigCheckResult r;
  CheckPrograms(config, &r.errors);
  CheckListeners(config, &r);
  if (Status s = CheckListenWithSystemd(config); !s.ok()) r.errors.push_back(s.message());
  if (Status owner = CheckSocketOwner(config); !owner.ok()) r.errors.push_back(owner.message());
  Credentials launcher, program;
  Status s = CheckPrivileges(config, &launcher, &program);
  if (!s.ok()) {
    // The check judges the user running it: a systemd unit's User= is not it.
    const bool as_root = geteuid() == 0 && s.code() == Status::Code::kPermissionDenied;
    r.errors.push_back(s.message() +
                       (as_root ? ". This check runs as root; for a service that runs as another user "
                                  "(systemd's User=), run it as that user: runuser -u www-data -- "
                                  "fcgi-run --config FILE --check-config"
                                : ""));
  } else {
    CheckProgramsRunnableBy(config, launcher, program, &r.errors);
  }
  if (!config.log_file.empty()) CheckAppendable("--log", config.log_file, &r.errors);
  if (!config.access_log.empty()) CheckAppendable("--access-log", config.access_log, &r.errors);
  if (config.slow_threshold > Duration(0) && !config.slow_log.empty()) {
    CheckAppendable("--slow-log", config.slow_log, &r.errors);
  }
  if (config.parent_pipe_fd >= 0 && fcntl(config.parent_pipe_fd, F_GETFD) < 0) {
    r.errors.push_back(
        Status::FromErrno("fcntl(2) --parent-pipe-fd", std::to_string(config.parent_pipe_fd), errno)
            .message());
  }
  if (config.mode != RunMode::kExec && FindCompatLibrary(config.compat_library).empty()) {
    r.warnings.push_back(std::string("--mode ") + RunModeName(config.mode) +
                         ": libfcgi-run-compat.so not found (give --compat-library); programs will run in "
                         "exec mode");
  }
  struct stat st;
  if (config.syslog && (stat(config.syslog_socket.c_str(), &st) != 0 || !S_ISSOCK(st.st_mode))) {
    r.warnings.push_back("--syslog-socket " + config.syslog_socket +
                         ": no socket there now; log lines are dropped until one exists");
  }
  return r;
}

int RunConfigCheck(const ParseResult& parsed, std::ostream& out, std::ostream& err) {
  const Config& config = parsed.config;
  ConfigCheckResult r = CheckConfig(config);
  for (const std::string& w : parsed.warnings) out << "warning: " << w << "\n";
  for (const std::string& w : r.warnings) out << "warning: " << w << "\n";
  if (parsed.errors.empty() && r.errors.empty()) {
    out << "configuration OK" << (config.config_file.empty() ? "" : " (" + config.config_file + ")") << "\n";
    return 0;
  }
  for (const std::string& e : parsed.errors) err << "error: " << e << "\n";
  for (const std::string& e : r.errors) err << "error: " << e << "\n";
  return 2;
}

}  // namespace fcgi
