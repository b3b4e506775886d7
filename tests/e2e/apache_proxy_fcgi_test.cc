// End-to-end: fcgi-run behind Apache httpd's mod_proxy_fcgi (children run as
// www-data, so the socket is created with --socket-mode 0666).
#include <unistd.h>

#include <catch2/catch.hpp>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "tests/support/content_util.h"
#include "tests/support/doc_snippet.h"
#include "tests/support/fcgi_run_server.h"
#include "tests/support/http_client.h"
#include "tests/support/test_paths.h"
#include "tests/support/web_servers.h"

namespace fcgi::test {
namespace {

// fcgi-run serving one example behind Apache at /app/.
struct ApacheStack {
  FcgiRun app;
  Apache apache;

  ApacheStack(const std::string& example, const std::string& listen, bool reuse = false)
      : app(AppOptions(example, listen)), apache(ServerOptions(app, reuse)) {}

  static FcgiRunOptions AppOptions(const std::string& example, const std::string& listen) {
    FcgiRunOptions o;
    o.program = Example(example);
    o.listen = listen;
    o.socket_mode = "0666";
    return o;
  }
  static ApacheOptions ServerOptions(const FcgiRun& app, bool reuse) {
    ApacheOptions o;
    o.fcgi_address = app.address();
    o.script_filename = app.program();
    o.enable_reuse = reuse;
    return o;
  }
  std::string Diagnostics() const {
    return "--- launcher stderr:\n" + app.Log() + "\n--- apache error log:\n" + apache.ErrorLog();
  }
};

TEST_CASE("apache mod_proxy_fcgi: hello over unix and TCP", "[e2e][apache]") {
  const std::string listen = GENERATE(as<std::string>(), "unix", "tcp");
  const bool reuse = GENERATE(false, true);
  ApacheStack stack("hello.cgi", listen, reuse);
  for (int i = 0; i < 3; ++i) {
    HttpResponse r = CurlGet(stack.apache.Url("/app/hello"), 20);
    INFO(listen << " reuse=" << reuse << " request " << i << "\n"
                << r.error << r.body << stack.Diagnostics());
    REQUIRE(r.ok);
    CHECK(r.status == 200);
    CHECK(r.body == "Hello, world!\n");
  }
}

TEST_CASE("apache mod_proxy_fcgi: a 5 MiB POST arrives intact", "[e2e][apache]") {
  ApacheStack stack("echo.cgi", "unix");
  TempDir data("fcgi-run-body");
  std::string body = RandomBytes(5 * 1024 * 1024 + 1, 31);
  std::string file = data.WriteFile("body.bin", body);
  CurlRequest request;
  request.url = stack.apache.Url("/app/echo");
  request.body_file = file;
  request.max_time = 30;
  HttpResponse r = Curl(request);
  INFO(r.error << r.body << stack.Diagnostics());
  REQUIRE(r.ok);
  CHECK(r.status == 200);
  CHECK(r.body == "length=" + std::to_string(body.size()) + "\nsha256=" + Sha256Hex(body) + "\n");
}

TEST_CASE("apache mod_proxy_fcgi: CGI environment", "[e2e][apache][env]") {
  ApacheStack stack("env.cgi", "unix");
  CurlRequest request;
  request.url = stack.apache.Url("/app/env?x=1&y=2");
  request.headers = {"X-Test-Header: yes", "Proxy: http://evil.example:3128/"};
  request.body = "a=b";
  HttpResponse r = Curl(request);
  INFO(r.error << r.body << stack.Diagnostics());
  REQUIRE(r.ok);
  REQUIRE(r.status == 200);
  auto env = ParseEnvDump(r.body);
  CHECK(env["GATEWAY_INTERFACE"] == "CGI/1.1");
  CHECK(env["REQUEST_METHOD"] == "POST");
  CHECK(env["QUERY_STRING"] == "x=1&y=2");
  CHECK(env["CONTENT_LENGTH"] == "3");
  CHECK(env["HTTP_X_TEST_HEADER"] == "yes");
  CHECK(env.count("HTTP_PROXY") == 0);
  CHECK(env["CWD"] == ExamplesDir());
  CHECK(env["FDS"] == "0 1 2");
}

// docs/guide/web-servers.md "Apache mod_proxy_fcgi": its command and block,
// with the socket and program paths replaced. No --socket-mode: the socket is
// www-data's through --user, and Apache's children (www-data) connect.
TEST_CASE("apache mod_proxy_fcgi: the documented command and configuration work as written",
          "[e2e][apache][docs][once]") {
  if (geteuid() != 0) {
    WARN("not run: the documented command changes user");
    return;
  }
  const std::string page = "docs/guide/web-servers.md";
  TempDir run("fcgi-run-run");
  const std::string socket = run.File("app.sock");
  const std::vector<std::pair<std::string, std::string>> paths = {{"/run/app.sock", socket},
                                                                  {"/srv/app.cgi", Example("env.cgi")}};
  std::vector<std::string> words =
      CommandWords(Substitute(DocSnippet(page, "apache-proxy-fcgi-command"), paths));
  REQUIRE(words.at(0) == "fcgi-run");
  FcgiRunOptions o;
  o.listen = "unix:" + socket;
  o.command.assign(words.begin() + 1, words.end());
  FcgiRun app(o);
  ApacheOptions ao;
  ao.extra_config = Substitute(DocSnippet(page, "apache-proxy-fcgi"), paths);
  Apache apache(ao);
  HttpResponse r = CurlGet(apache.Url("/app/x?y=1"), 20);
  INFO(r.error << r.body << "--- launcher:\n" << app.Log() << "--- apache:\n" << apache.ErrorLog());
  REQUIRE(r.status == 200);
  auto env = ParseEnvDump(r.body);
  CHECK(env["SCRIPT_FILENAME"] == Example("env.cgi"));
  CHECK(env["QUERY_STRING"] == "y=1");
}

}  // namespace
}  // namespace fcgi::test
