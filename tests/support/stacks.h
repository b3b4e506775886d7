// Ready-made test stacks: fcgi-run (or the stand-in) serving one example
// program behind nginx. One per test: own temp dirs, ports and processes, so
// tests stay independent and can run in parallel.
#ifndef FCGI_RUN_TESTS_SUPPORT_STACKS_H_
#define FCGI_RUN_TESTS_SUPPORT_STACKS_H_

#include <string>

#include "tests/support/fcgi_run_server.h"
#include "tests/support/http_client.h"
#include "tests/support/web_servers.h"

namespace fcgi::test {

struct NginxStackOptions {
  std::string listen = "unix";  // FcgiRunOptions::listen
  bool keep_conn = false;
  bool buffering = true;
  bool request_buffering = true;
  FcgiRunOptions app;  // program is set from the example name
};

// fcgi-run serving Example(example), nginx in front of it.
class NginxStack {
 public:
  explicit NginxStack(const std::string& example, NginxStackOptions options = {});

  FcgiRun& app() { return app_; }
  Nginx& nginx() { return nginx_; }
  std::string Url(const std::string& path) const { return nginx_.Url(path); }
  HttpResponse Get(const std::string& path, double max_time = 20) const;
  // The launcher's stderr and nginx's error log, for failure messages.
  std::string Diagnostics() const;

 private:
  static FcgiRunOptions AppOptions(const std::string& example, NginxStackOptions options);
  static NginxOptions ServerOptions(const FcgiRun& app, const NginxStackOptions& options);

  FcgiRun app_;
  Nginx nginx_;
};

}  // namespace fcgi::test

#endif  // FCGI_RUN_TESTS_SUPPORT_STACKS_H_
