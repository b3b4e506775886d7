// Web servers that spawn the FastCGI application themselves, for the
// end-to-end tests of tests/e2e/spawned_*_test.cc: lighttpd (fastcgi.server
// with bin-path), h2o (fastcgi.spawn) and Apache httpd with mod_fcgid
// (FcgidWrapper), each configured in its own temp dir, listening on a free
// port of 127.0.0.1, started in the foreground as a child of the test, and
// stopped on destruction. The servers drop to www-data (as packaged servers
// do), so everything they write (error log, pid file, sockets) is in a
// subdirectory owned by www-data and the spawned fcgi-run runs as www-data.
//
// Also: a document root holding copies of test programs (dispatcher mode's
// --root), and a /proc scan for processes left behind.
#ifndef FCGI_RUN_TESTS_SUPPORT_SPAWNING_SERVERS_H_
#define FCGI_RUN_TESTS_SUPPORT_SPAWNING_SERVERS_H_

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "tests/support/process.h"
#include "tests/support/server_start.h"
#include "tests/support/temp_dir.h"
#include "tests/support/web_servers.h"

namespace fcgi::test {

// A temp dir "root" (mode 0755) with copies (mode 0755) of the given programs,
// under their own file names. REQUIRES: every path names a readable file.
class DocumentRoot {
 public:
  explicit DocumentRoot(const std::vector<std::string>& programs);
  const std::string& path() const { return dir_.path(); }
  std::string File(const std::string& name) const { return dir_.File(name); }

 private:
  TempDir dir_;
};

// Processes (not zombies) whose executable or any argv word contains
// `needle` (a temp dir path: unique to one test), other than the caller.
// One "pid: cmdline" line each.
std::vector<std::string> ProcessesMatching(const std::string& needle);

// dir/state, owned by www-data: where a server that dropped to www-data may
// write (error log, pid file, sockets). Throws if it cannot be made.
std::string MakeServerStateDir(const TempDir& dir);

struct LighttpdOptions {
  std::string document_root;
  std::string bin_path;      // "bin-path": the command lighttpd runs (fcgi-run ...)
  std::string key = ".cgi";  // fastcgi.server key: an extension or a path prefix ("/app")
  int max_procs = 1;
  bool check_local = true;  // false: requests need not name a file (one program at a prefix)
  // When set: these lines (the docs' lighttpd block), verbatim, instead of the
  // generated module, limit and fastcgi.server lines (bin_path, key,
  // max_procs and check_local are then unused).
  std::string fastcgi_config;
};

class Lighttpd {
 public:
  // Writes lighttpd.conf, starts `lighttpd -D -f conf`, waits (15 s) until the
  // port accepts. Throws std::runtime_error with the error log if it cannot.
  explicit Lighttpd(LighttpdOptions options);
  ~Lighttpd();
  Lighttpd(const Lighttpd&) = delete;
  Lighttpd& operator=(const Lighttpd&) = delete;

  int port() const { return server_.port; }
  std::string Url(const std::string& path) const;
  std::string ErrorLog() const;
  const std::string& config() const { return server_.config; }
  Process& process() { return *server_.process; }

 private:
  LighttpdOptions options_;
  TempDir dir_;
  std::string state_;     // www-data's subdirectory
  StartedServer server_;  // port, config, process
};

struct H2oOptions {
  std::string document_root;
  std::string spawn_command;       // fastcgi.spawn (h2o runs it with /bin/sh -c)
  std::string extension = ".cgi";  // file.custom-handler extension for the programs under document_root
  // When set: the `hosts:` block (the docs' h2o block), verbatim, instead of
  // the generated one (document_root, spawn_command and extension unused).
  std::string hosts_config;
};

class H2o {
 public:
  // Writes h2o.conf, starts `h2o -c conf`, waits (15 s) until the port accepts.
  explicit H2o(H2oOptions options);
  ~H2o();
  H2o(const H2o&) = delete;
  H2o& operator=(const H2o&) = delete;

  int port() const { return server_.port; }
  std::string Url(const std::string& path) const;
  std::string ErrorLog() const;
  const std::string& config() const { return server_.config; }
  Process& process() { return *server_.process; }

 private:
  H2oOptions options_;
  TempDir dir_;
  std::string state_;
  StartedServer server_;  // port, config, process
};

struct FcgidOptions {
  std::string document_root;
  std::string wrapper;  // the FcgidWrapper command line (fcgi-run ...)
  // false: `AddHandler fcgid-script .cgi` + `FcgidWrapper "<wrapper>" .cgi` on
  // the document root (every .cgi runs through one fcgi-run, dispatcher mode).
  // true: `<Location /app>` + `SetHandler fcgid-script` + `FcgidWrapper
  // "<wrapper>" virtual` (one program, whatever the path below /app).
  bool is_virtual = false;
  std::vector<std::string> initial_env;  // FcgidInitialEnv lines: "NAME VALUE"
  // When set: the mod_fcgid lines (the docs' blocks), verbatim, instead of the
  // generated ones; only FcgidIPCDir and FcgidProcessTableFile (the temp
  // dir's) and the initial_env lines follow them.
  std::string config;
};

// Apache httpd with mod_fcgid spawning fcgi-run (the Apache class of
// web_servers.h with the mod_fcgid lines of FcgidConfig() appended).
class FcgidApache {
 public:
  explicit FcgidApache(FcgidOptions options);
  ~FcgidApache() = default;
  FcgidApache(const FcgidApache&) = delete;
  FcgidApache& operator=(const FcgidApache&) = delete;

  Apache& apache() { return *apache_; }
  std::string Url(const std::string& path) const { return apache_->Url(path); }
  std::string ErrorLog() const { return apache_->ErrorLog(); }
  // The mod_fcgid lines of httpd.conf (what docs/guide/web-servers.md "Apache mod_fcgid" shows).
  const std::string& fcgid_config() const { return fcgid_config_; }
  // Runs `apache2 -f <conf> -k <verb>` (graceful, stop) and returns its result.
  CommandResult Control(const std::string& verb);

 private:
  TempDir state_dir_;  // FcgidIPCDir, owned by www-data
  std::string fcgid_config_;
  std::unique_ptr<Apache> apache_;
};

// The mod_fcgid lines for `o` (LoadModule, limits, handler, wrapper, or
// o.config); `state_dir` is the FcgidIPCDir (writable by the server's user).
std::string FcgidConfig(const FcgidOptions& o, const std::string& state_dir);

}  // namespace fcgi::test

#endif  // FCGI_RUN_TESTS_SUPPORT_SPAWNING_SERVERS_H_
