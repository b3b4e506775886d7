#include "tests/support/stacks.h"

#include <utility>

#include "tests/support/test_paths.h"

namespace fcgi::test {

FcgiRunOptions NginxStack::AppOptions(const std::string& example, NginxStackOptions options) {
  FcgiRunOptions app = std::move(options.app);
  app.program = Example(example);
  app.listen = options.listen;
  return app;
}

NginxOptions NginxStack::ServerOptions(const FcgiRun& app, const NginxStackOptions& options) {
  NginxOptions n;
  n.fcgi_address = app.address();
  n.script_filename = app.program();
  n.keep_conn = options.keep_conn;
  n.buffering = options.buffering;
  n.request_buffering = options.request_buffering;
  return n;
}

NginxStack::NginxStack(const std::string& example, NginxStackOptions options)
    : app_(AppOptions(example, options)), nginx_(ServerOptions(app_, options)) {}

HttpResponse NginxStack::Get(const std::string& path, double max_time) const {
  return CurlGet(nginx_.Url(path), max_time);
}

std::string NginxStack::Diagnostics() const {
  std::string cmd;
  for (const auto& a : app_.argv()) cmd += a + " ";
  return "launcher: " + cmd + "\n--- launcher stderr:\n" + app_.Log() + "\n--- nginx error log:\n" +
         nginx_.ErrorLog();
}

}  // namespace fcgi::test
