// Real web servers in front of a FastCGI application, for the end-to-end tests:
// nginx (fastcgi_pass) and Apache httpd (mod_proxy_fcgi; mod_fcgid via
// extra_config). Each instance has its own temp dir (config, logs, pid file,
// temp paths), listens on a free port of 127.0.0.1 and is stopped on
// destruction.
//
// Both pass SCRIPT_FILENAME = options.script_filename, so the same setup works
// with fcgi-run (one program per instance) and with fcgiwrap (which picks the
// program from SCRIPT_FILENAME).
#ifndef FCGI_RUN_TESTS_SUPPORT_WEB_SERVERS_H_
#define FCGI_RUN_TESTS_SUPPORT_WEB_SERVERS_H_

#include <memory>
#include <string>
#include <vector>

#include "tests/support/process.h"
#include "tests/support/server_start.h"
#include "tests/support/temp_dir.h"

namespace fcgi::test {

struct NginxOptions {
  std::string fcgi_address;       // "unix:/p" or "tcp:127.0.0.1:N" (fcgi-run's address)
  std::string script_filename;    // value of the SCRIPT_FILENAME param
  bool keep_conn = false;         // fastcgi_keep_conn on + upstream keepalive
  bool buffering = true;          // fastcgi_buffering
  bool request_buffering = true;  // fastcgi_request_buffering
  std::string extra_location;     // more directives inside `location /`
  std::string extra_http;         // more directives inside `http`
  // More servers of the `fcgi_backend` upstream (--listen syntax), after
  // fcgi_address: nginx balances requests over them (round robin).
  std::vector<std::string> more_fcgi_addresses;
  // When set: the server block's locations, verbatim, instead of the default
  // `location /` (fcgi_address is then only the upstream `fcgi_backend`;
  // script_filename, keep_conn, buffering and extra_location are unused).
  std::string locations;
  // The workers' user (`user` directive). Another than root, as packaged
  // nginx runs (www-data): the temp dirs are given to that user, and the
  // FastCGI socket must be reachable by it.
  std::string user = "root";
};

class Nginx {
 public:
  // Writes the config, starts `nginx -c conf -p dir`, waits (10 s) until the
  // port accepts. Throws std::runtime_error with the error log if it cannot.
  explicit Nginx(NginxOptions options);
  ~Nginx();
  Nginx(const Nginx&) = delete;
  Nginx& operator=(const Nginx&) = delete;

  int port() const { return server_.port; }
  // "http://127.0.0.1:<port><path>"
  std::string Url(const std::string& path) const;
  std::string ErrorLog() const { return ReadFile(dir_.File("error.log")); }
  // Polls the error log until it contains `needle` (nginx writes it
  // asynchronously to the response). False after `timeout`.
  bool WaitForErrorLog(const std::string& needle, Seconds timeout = Seconds(5)) const;
  const std::string& config() const { return server_.config; }

 private:
  NginxOptions options_;
  TempDir dir_;
  StartedServer server_;  // port, config, process
};

struct ApacheOptions {
  std::string fcgi_address;  // proxied to with mod_proxy_fcgi (empty: no ProxyPass)
  std::string
      script_filename;  // SCRIPT_FILENAME sent (ProxyFCGISetEnvIf); "" = Apache's own (proxy:fcgi://...)
  std::string path_prefix = "/app/";
  bool enable_reuse = false;  // ProxyPass ... enablereuse=on
  // Appended to httpd.conf (e.g. LoadModule fcgid_module ...). httpd.conf
  // denies every directory, as Debian's apache2.conf does (`<Directory />`
  // with `Require all denied`): what is served must be granted.
  std::string extra_config;
  std::string log_level = "info";
};

class Apache {
 public:
  // Writes httpd.conf, starts `apache2 -f conf -k start -DFOREGROUND` (children
  // run as www-data), waits (15 s) until the port accepts.
  explicit Apache(ApacheOptions options);
  ~Apache();
  Apache(const Apache&) = delete;
  Apache& operator=(const Apache&) = delete;

  int port() const { return server_.port; }
  std::string Url(const std::string& path) const;
  std::string ErrorLog() const { return ReadFile(dir_.File("error.log")); }
  bool WaitForErrorLog(const std::string& needle, Seconds timeout = Seconds(5)) const;
  const std::string& config() const { return server_.config; }
  const TempDir& dir() const { return dir_; }

 private:
  ApacheOptions options_;
  TempDir dir_;
  StartedServer server_;  // port, config, process
};

}  // namespace fcgi::test

#endif  // FCGI_RUN_TESTS_SUPPORT_WEB_SERVERS_H_
