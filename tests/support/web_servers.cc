#include "tests/support/web_servers.h"

#include <pwd.h>
#include <unistd.h>

#include <chrono>
#include <stdexcept>
#include <thread>
#include <utility>

#include "tests/support/net_util.h"
#include "tests/support/server_start.h"

namespace fcgi::test {
namespace {

// Polls `read` until its result contains `needle` or `timeout` passes.
template <typename ReadFn>
bool PollFor(ReadFn read, const std::string& needle, Seconds timeout) {
  auto deadline = std::chrono::steady_clock::now() +
                  std::chrono::duration_cast<std::chrono::steady_clock::duration>(timeout);
  while (true) {
    if (read().find(needle) != std::string::npos) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

std::string NginxConfig(const NginxOptions& o, const TempDir& dir, int port) {
  std::string d = dir.path();
  std::string upstream = o.fcgi_address.empty() ? "" : NginxFastcgiPass(o.fcgi_address);
  std::string conf;
  conf += "daemon off;\nmaster_process on;\nworker_processes 1;\nuser " + o.user + ";\n";
  conf += "pid " + d + "/nginx.pid;\n";
  conf += "error_log " + d + "/error.log info;\n";
  conf += "events { worker_connections 512; }\n";
  conf += "http {\n";
  conf += "  access_log " + d + "/access.log;\n";
  conf += "  client_body_temp_path " + d + "/client_body;\n";
  conf += "  fastcgi_temp_path " + d + "/fastcgi_temp;\n";
  conf += "  proxy_temp_path " + d + "/proxy_temp;\n";
  conf += "  uwsgi_temp_path " + d + "/uwsgi_temp;\n";
  conf += "  scgi_temp_path " + d + "/scgi_temp;\n";
  conf += "  client_max_body_size 0;\n";
  conf += "  fastcgi_read_timeout 60s;\n";
  conf += "  fastcgi_send_timeout 60s;\n";
  if (!upstream.empty()) {  // none when the locations name their fastcgi_pass themselves
    conf += "  upstream fcgi_backend {\n    server " + upstream + ";\n";
    for (const std::string& more : o.more_fcgi_addresses)
      conf += "    server " + NginxFastcgiPass(more) + ";\n";
    if (o.keep_conn) conf += "    keepalive 8;\n";
    conf += "  }\n";
  }
  conf += o.extra_http;
  conf += "  server {\n    listen 127.0.0.1:" + std::to_string(port) + ";\n";
  conf += "    server_name localhost;\n";
  if (!o.locations.empty()) return conf + o.locations + "  }\n}\n";
  conf += "    location / {\n";
  conf += "      include /etc/nginx/fastcgi_params;\n";
  conf += "      fastcgi_param SCRIPT_FILENAME " + o.script_filename + ";\n";
  conf += "      fastcgi_pass fcgi_backend;\n";
  conf += std::string("      fastcgi_keep_conn ") + (o.keep_conn ? "on" : "off") + ";\n";
  conf += std::string("      fastcgi_buffering ") + (o.buffering ? "on" : "off") + ";\n";
  conf += std::string("      fastcgi_request_buffering ") + (o.request_buffering ? "on" : "off") + ";\n";
  conf += o.extra_location;
  conf += "    }\n  }\n}\n";
  return conf;
}

std::string ApacheConfig(const ApacheOptions& o, const TempDir& dir, int port) {
  std::string d = dir.path();
  std::string m = "/usr/lib/apache2/modules/";
  std::string conf;
  conf += "ServerRoot \"" + d + "\"\n";
  conf += "DefaultRuntimeDir \"" + d + "\"\n";
  conf += "PidFile \"" + d + "/apache2.pid\"\n";
  conf += "Mutex file:" + d + " default\n";
  conf += "Listen 127.0.0.1:" + std::to_string(port) + "\n";
  conf += "ServerName localhost\n";
  conf += "LoadModule mpm_event_module " + m + "mod_mpm_event.so\n";
  conf += "LoadModule authz_core_module " + m + "mod_authz_core.so\n";
  conf += "LoadModule mime_module " + m + "mod_mime.so\n";
  conf += "LoadModule proxy_module " + m + "mod_proxy.so\n";
  conf += "LoadModule proxy_fcgi_module " + m + "mod_proxy_fcgi.so\n";
  conf += "User www-data\nGroup www-data\n";
  conf += "ErrorLog \"" + d + "/error.log\"\n";
  conf += "LogLevel " + o.log_level + "\n";
  conf += "LogFormat \"%h %l %u %t \\\"%r\\\" %>s %b\" common\n";
  conf += "CustomLog \"" + d + "/access.log\" common\n";
  conf += "TypesConfig /etc/mime.types\n";
  conf += "StartServers 1\nServerLimit 2\nThreadsPerChild 16\nMaxRequestWorkers 32\n";
  conf += "MinSpareThreads 4\nMaxSpareThreads 32\n";
  conf += "Timeout 60\n";
  // As Debian's apache2.conf: every directory not opened explicitly is denied.
  conf +=
      "<Directory />\n  Options FollowSymLinks\n  AllowOverride None\n  Require all denied\n</Directory>\n";
  if (!o.fcgi_address.empty()) {
    conf += "ProxyPass \"" + o.path_prefix + "\" \"" + ApacheProxyTarget(o.fcgi_address) + "\"";
    if (o.enable_reuse) conf += " enablereuse=on";
    conf += "\n";
    if (!o.script_filename.empty()) {
      conf += "<Location \"" + o.path_prefix + "\">\n";
      conf += "  ProxyFCGISetEnvIf \"true\" SCRIPT_FILENAME \"" + o.script_filename + "\"\n";
      conf += "</Location>\n";
    }
  }
  conf += o.extra_config;
  conf += "\n";
  return conf;
}

// chown(2) `path` to `user` (its primary group).
void GiveTo(const std::string& path, const std::string& user) {
  passwd* pw = getpwnam(user.c_str());
  if (pw == nullptr || chown(path.c_str(), pw->pw_uid, pw->pw_gid) != 0) {
    throw std::runtime_error("chown(2) " + path + " to " + user + " failed");
  }
}

}  // namespace

Nginx::Nginx(NginxOptions options) : options_(std::move(options)), dir_("fcgi-run-nginx") {
  if (options_.user != "root") GiveTo(dir_.path(), options_.user);  // the workers' temp files
  server_ = StartOnFreePort(dir_, {.name = "nginx",
                                   .config_name = "nginx.conf",
                                   .make_config = [&](int port) { return NginxConfig(options_, dir_, port); },
                                   .argv = [&](const std::string& conf) -> std::vector<std::string> {
                                     return {"/usr/sbin/nginx",     "-c", conf, "-p", dir_.path() + "/", "-e",
                                             dir_.File("error.log")};
                                   },
                                   .timeout = Seconds(10),
                                   .log = [this] { return ErrorLog(); }});
}

Nginx::~Nginx() {
  if (server_.process) server_.process->Stop(Seconds(5));
}

std::string Nginx::Url(const std::string& path) const { return server_.Url(path); }

bool Nginx::WaitForErrorLog(const std::string& needle, Seconds timeout) const {
  return PollFor([this] { return ErrorLog(); }, needle, timeout);
}

Apache::Apache(ApacheOptions options) : options_(std::move(options)), dir_("fcgi-run-apache") {
  server_ =
      StartOnFreePort(dir_, {.name = "apache2",
                             .config_name = "httpd.conf",
                             .make_config = [&](int port) { return ApacheConfig(options_, dir_, port); },
                             .argv = [&](const std::string& conf) -> std::vector<std::string> {
                               return {"/usr/sbin/apache2", "-f", conf, "-k", "start", "-DFOREGROUND"};
                             },
                             .timeout = Seconds(15),
                             .log = [this] { return ErrorLog(); }});
}

Apache::~Apache() {
  if (server_.process) server_.process->Stop(Seconds(8));
}

std::string Apache::Url(const std::string& path) const { return server_.Url(path); }

bool Apache::WaitForErrorLog(const std::string& needle, Seconds timeout) const {
  return PollFor([this] { return ErrorLog(); }, needle, timeout);
}

}  // namespace fcgi::test
