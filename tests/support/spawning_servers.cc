#include "tests/support/spawning_servers.h"

#include <dirent.h>
#include <fcntl.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <stdexcept>
#include <thread>
#include <utility>

#include "tests/support/net_util.h"
#include "tests/support/server_start.h"

namespace fcgi::test {
namespace {

constexpr const char* kServerUser = "www-data";

std::string Quoted(const std::string& s) { return "\"" + s + "\""; }

std::string LighttpdConfig(const LighttpdOptions& o, const std::string& state, int port) {
  std::string c;
  c += "server.document-root = " + Quoted(o.document_root) + "\n";
  c += "server.bind = \"127.0.0.1\"\n";
  c += "server.port = " + std::to_string(port) + "\n";
  c += "server.username = \"www-data\"\nserver.groupname = \"www-data\"\n";
  c += "server.errorlog = " + Quoted(state + "/error.log") + "\n";
  c += "server.pid-file = " + Quoted(state + "/lighttpd.pid") + "\n";
  c += "server.upload-dirs = ( " + Quoted(state) + " )\n";
  if (!o.fastcgi_config.empty()) return c + o.fastcgi_config;
  c += "server.max-request-size = 65536\n";  // KiB: room for the 5 MiB POST
  c += "server.stream-response-body = 2\n";  // pass output on as it comes
  c += "server.modules += ( \"mod_fastcgi\" )\n";
  c += "fastcgi.server = ( " + Quoted(o.key) + " => ( (\n";
  c += "  \"socket\" => " + Quoted(state + "/fcgi-run.sock") + ",\n";
  c += "  \"bin-path\" => " + Quoted(o.bin_path) + ",\n";
  c += "  \"max-procs\" => " + std::to_string(o.max_procs) + ",\n";
  if (!o.check_local) c += "  \"check-local\" => \"disable\",\n";
  c += ") ) )\n";
  return c;
}

std::string H2oConfig(const H2oOptions& o, const std::string& state, int port) {
  std::string c;
  c += "listen:\n  host: 127.0.0.1\n  port: " + std::to_string(port) + "\n";
  c += "user: www-data\n";
  c += "pid-file: " + state + "/h2o.pid\n";
  c += "error-log: " + state + "/error.log\n";
  if (!o.hosts_config.empty()) return c + o.hosts_config;
  c += "hosts:\n  default:\n    paths:\n      \"/\":\n";
  c += "        file.dir: " + o.document_root + "\n";
  c += "        file.custom-handler:\n";
  c += "          extension: " + o.extension + "\n";
  c += "          fastcgi.spawn: " + Quoted(o.spawn_command) + "\n";
  c += "          fastcgi.timeout.io: 30000\n";
  return c;
}

// Whole content of a /proc file with plain read(2): a process that exits
// while it is read gives a short or empty result, never an exception (an
// ifstream throws from underflow() on ESRCH).
std::string ReadProcFile(const std::string& path) {
  std::string content;
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return content;
  char buf[4096];
  ssize_t n;
  while ((n = read(fd, buf, sizeof buf)) > 0) content.append(buf, static_cast<size_t>(n));
  close(fd);
  return content;
}

std::string ReadCmdline(const std::string& pid) {
  std::string s = ReadProcFile("/proc/" + pid + "/cmdline");
  for (char& ch : s) {
    if (ch == '\0') ch = ' ';
  }
  return s;
}

// Zombies, and processes gone while we look, do not count.
bool IsZombieOrGone(const std::string& pid) {
  std::string line = ReadProcFile("/proc/" + pid + "/stat");
  auto paren = line.rfind(')');
  return paren == std::string::npos || paren + 2 >= line.size() || line[paren + 2] == 'Z';
}

}  // namespace

std::string MakeServerStateDir(const TempDir& dir) {
  std::string state = dir.MakeDir("state");
  if (passwd* pw = getpwnam(kServerUser)) {
    if (chown(state.c_str(), pw->pw_uid, pw->pw_gid) != 0) {
      throw std::runtime_error("chown(2) " + state + " failed");
    }
  }
  return state;
}

DocumentRoot::DocumentRoot(const std::vector<std::string>& programs) : dir_("fcgi-run-docroot") {
  for (const std::string& program : programs) {
    std::string name = program.substr(program.rfind('/') + 1);
    std::string path = dir_.WriteFile(name, ReadFile(program));
    chmod(path.c_str(), 0755);
  }
}

std::vector<std::string> ProcessesMatching(const std::string& needle) {
  std::vector<std::string> found;
  DIR* proc = opendir("/proc");
  if (proc == nullptr) return found;
  const std::string self = std::to_string(getpid());
  while (dirent* e = readdir(proc)) {
    std::string pid = e->d_name;
    if (pid.empty() || pid.find_first_not_of("0123456789") != std::string::npos || pid == self) continue;
    if (IsZombieOrGone(pid)) continue;
    char exe[4096];
    ssize_t n = readlink(("/proc/" + pid + "/exe").c_str(), exe, sizeof exe - 1);
    std::string exe_path = n > 0 ? std::string(exe, static_cast<size_t>(n)) : "";
    std::string cmdline = ReadCmdline(pid);
    if (exe_path.find(needle) != std::string::npos || cmdline.find(needle) != std::string::npos) {
      found.push_back(pid + ": " + cmdline);
    }
  }
  closedir(proc);
  return found;
}

Lighttpd::Lighttpd(LighttpdOptions options) : options_(std::move(options)), dir_("fcgi-run-lighttpd") {
  state_ = MakeServerStateDir(dir_);
  server_ =
      StartOnFreePort(dir_, {.name = "lighttpd",
                             .config_name = "lighttpd.conf",
                             .make_config = [&](int port) { return LighttpdConfig(options_, state_, port); },
                             .argv = [&](const std::string& conf) -> std::vector<std::string> {
                               return {"/usr/sbin/lighttpd", "-D", "-f", conf};
                             },
                             .timeout = Seconds(15),
                             .log = [this] { return ErrorLog(); }});
}

Lighttpd::~Lighttpd() {
  if (server_.process) server_.process->Stop(Seconds(8));
}

std::string Lighttpd::Url(const std::string& path) const { return server_.Url(path); }

std::string Lighttpd::ErrorLog() const { return ReadFile(state_ + "/error.log"); }

H2o::H2o(H2oOptions options) : options_(std::move(options)), dir_("fcgi-run-h2o") {
  state_ = MakeServerStateDir(dir_);
  server_ = StartOnFreePort(dir_, {.name = "h2o",
                                   .config_name = "h2o.conf",
                                   .make_config = [&](int port) { return H2oConfig(options_, state_, port); },
                                   .argv = [&](const std::string& conf) -> std::vector<std::string> {
                                     return {"/usr/bin/h2o", "-c", conf};
                                   },
                                   .timeout = Seconds(15),
                                   .log = [this] { return ErrorLog(); }});
}

H2o::~H2o() {
  if (server_.process) server_.process->Stop(Seconds(8));
}

std::string H2o::Url(const std::string& path) const { return server_.Url(path); }

std::string H2o::ErrorLog() const {
  return ReadFile(state_ + "/error.log") + ReadFile(dir_.File("stderr.log"));
}

std::string FcgidConfig(const FcgidOptions& o, const std::string& state_dir) {
  const std::string ipc = "FcgidIPCDir " + Quoted(state_dir) + "\nFcgidProcessTableFile " +
                          Quoted(state_dir + "/fcgid_shm") + "\n";
  std::string initial_env;
  for (const std::string& e : o.initial_env) initial_env += "FcgidInitialEnv " + e + "\n";
  if (!o.config.empty()) return o.config + ipc + initial_env;
  std::string c;
  c += "LoadModule fcgid_module /usr/lib/apache2/modules/mod_fcgid.so\n";
  c += ipc;
  c += "FcgidMaxRequestLen 67108864\n";  // the default, 128 KiB, refuses larger bodies
  c += "FcgidIOTimeout 60\n";
  c += "FcgidOutputBufferSize 0\n";  // pass output on as it comes (streaming)
  c += initial_env;
  c += "DocumentRoot " + Quoted(o.document_root) + "\n";
  if (!o.is_virtual) {
    c += "<Directory " + Quoted(o.document_root) + ">\n";
    c += "  Require all granted\n";
    c += "  Options +ExecCGI\n";
    c += "  AddHandler fcgid-script .cgi\n";
    c += "  FcgidWrapper " + Quoted(o.wrapper) + " .cgi\n";
    c += "</Directory>\n";
  } else {
    c += "<Location /app>\n";
    c += "  Require all granted\n";
    c += "  SetHandler fcgid-script\n";
    c += "  Options +ExecCGI\n";
    c += "  FcgidWrapper " + Quoted(o.wrapper) + " virtual\n";
    c += "</Location>\n";
  }
  return c;
}

FcgidApache::FcgidApache(FcgidOptions options) : state_dir_("fcgi-run-fcgid") {
  std::string state = MakeServerStateDir(state_dir_);
  fcgid_config_ = FcgidConfig(options, state);
  ApacheOptions a;
  a.extra_config = fcgid_config_;
  apache_ = std::make_unique<Apache>(a);
}

CommandResult FcgidApache::Control(const std::string& verb) {
  return RunCommand({"/usr/sbin/apache2", "-f", apache_->dir().File("httpd.conf"), "-k", verb}, "",
                    Seconds(30));
}

}  // namespace fcgi::test
