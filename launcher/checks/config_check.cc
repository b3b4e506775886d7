#include "launcher/checks/config_check.h"

#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

#include "core/address_filter.h"
#include "core/listen_address.h"
#include "launcher/front/listener.h"
#include "launcher/request/dispatcher_source.h"
#include "launcher/run/privileges.h"
#include "launcher/shim/fork_runner.h"

namespace fcgi {

namespace {

// Server::ResolveProgram's checks.
void CheckProgram(const std::string& program, std::vector<std::string>* errors) {
  char resolved[PATH_MAX];
  if (realpath(program.c_str(), resolved) == nullptr) {
    errors->push_back(Status::FromErrno("realpath(3) PROGRAM", program, errno).message());
    return;
  }
  struct stat st;
  if (stat(resolved, &st) != 0) {
    errors->push_back(Status::FromErrno("stat(2) PROGRAM", resolved, errno).message());
  } else if (!S_ISREG(st.st_mode)) {
    errors->push_back(std::string("PROGRAM ") + resolved + ": not a regular file");
  } else if (access(resolved, X_OK) != 0) {
    errors->push_back(Status::FromErrno("access(2) X_OK PROGRAM", resolved, errno).message());
  }
}

void CheckAddress(const std::string& option, const std::string& text, std::vector<std::string>* errors) {
  ListenAddress a;
  Status s = ParseListenAddress(text, &a);
  if (!s.ok()) {
    errors->push_back(option + " " + text + ": " + s.message());
    return;
  }
  if (a.kind != ListenAddress::Kind::kUnix) return;
  std::string dir = a.path.find('/') == std::string::npos ? "." : a.path.substr(0, a.path.rfind('/'));
  if (dir.empty()) dir = "/";
  struct stat st;
  if (stat(dir.c_str(), &st) != 0) {
    errors->push_back(option + " " + text + ": " + Status::FromErrno("stat(2)", dir, errno).message());
  } else if (!S_ISDIR(st.st_mode)) {
    errors->push_back(option + " " + text + ": " + dir + " is not a directory");
  }
}

void CheckLogFile(const std::string& path, std::vector<std::string>* errors) {
  if (access(path.c_str(), F_OK) == 0) {
    if (access(path.c_str(), W_OK) != 0)
      errors->push_back(Status::FromErrno("--log access(2) W_OK", path, errno).message());
    return;
  }
  std::string dir = path.find('/') == std::string::npos ? "." : path.substr(0, path.rfind('/'));
  if (dir.empty()) dir = "/";
  if (access(dir.c_str(), W_OK) != 0) {
    errors->push_back("--log " + path +
                      ": cannot be created: " + Status::FromErrno("access(2) W_OK", dir, errno).message());
  }
}

}  // namespace

ConfigCheckResult CheckConfig(const Config& config) {
  ConfigCheckResult r;
  if (config.dispatcher()) {
    std::unique_ptr<FileSystem> fs = MakeRealFileSystem();
    ScriptPolicy policy;
    Status s = MakeScriptPolicy(config, *fs, &policy);
    if (!s.ok()) r.errors.push_back(s.message());
  } else {
    CheckProgram(config.program, &r.errors);
  }
  for (const std::string& l : config.listen) CheckAddress("--listen", l, &r.errors);
  for (const std::string& h : config.http) {
    CheckAddress("--http", h.rfind("tcp:", 0) == 0 ? h : "tcp:" + h, &r.errors);
  }
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
  }
  if (config.allow_from.empty()) {
    const char* env = std::getenv("FCGI_WEB_SERVER_ADDRS");
    AddressFilter filter;
    if (env != nullptr && *env != '\0' && !(s = AddressFilter::Parse(env, &filter)).ok()) {
      r.errors.push_back("FCGI_WEB_SERVER_ADDRS: " + s.message());
    }
  }
  if (!config.log_file.empty()) CheckLogFile(config.log_file, &r.errors);
  if (config.mode != "exec" && FindCompatLibrary(config.compat_library).empty()) {
    r.warnings.push_back(
        "--mode " + config.mode +
        ": libfcgi-run-compat.so not found (give --compat-library); programs will run in exec mode");
  }
  struct stat st;
  if (config.syslog && (stat(config.syslog_socket.c_str(), &st) != 0 || !S_ISSOCK(st.st_mode))) {
    r.warnings.push_back("--syslog-socket " + config.syslog_socket +
                         ": no socket there now; log lines are dropped until one exists");
  }
  return r;
}

int RunConfigCheck(const Config& config, std::ostream& out, std::ostream& err) {
  ConfigCheckResult r = CheckConfig(config);
  for (const std::string& w : r.warnings) out << "warning: " << w << "\n";
  if (r.errors.empty()) {
    out << "configuration OK" << (config.config_file.empty() ? "" : " (" + config.config_file + ")") << "\n";
    return 0;
  }
  for (const std::string& e : r.errors) err << "error: " << e << "\n";
  return 2;
}

}  // namespace fcgi
