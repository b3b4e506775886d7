// End-to-end: CGI programs behind fcgi-run behind a real nginx, driven with
// curl and a raw HTTP client. Run in the mode FCGI_RUN_TEST_MODE (default exec).
#include <unistd.h>

#include <catch2/catch.hpp>

#include <string>
#include <utility>
#include <vector>

#include "tests/support/content_util.h"
#include "tests/support/doc_snippet.h"
#include "tests/support/fcgi_run_server.h"
#include "tests/support/http_client.h"
#include "tests/support/stacks.h"
#include "tests/support/test_paths.h"
#include "tests/support/web_servers.h"

namespace fcgi::test {
namespace {

constexpr size_t kTenMiB = 10 * 1024 * 1024;

TEST_CASE("nginx: hello over unix and TCP, keep_conn on and off", "[e2e][nginx]") {
  const std::string listen = GENERATE(as<std::string>(), "unix", "tcp");
  const bool keep_conn = GENERATE(false, true);
  NginxStackOptions options;
  options.listen = listen;
  options.keep_conn = keep_conn;
  NginxStack stack("hello.cgi", options);
  for (int i = 0; i < 3; ++i) {  // several requests: reuse of a kept connection
    HttpResponse r = stack.Get("/hello?n=" + std::to_string(i));
    INFO("listen=" << listen << " keep_conn=" << keep_conn << " request " << i << "\n"
                   << r.error << stack.Diagnostics());
    REQUIRE(r.ok);
    CHECK(r.status == 200);
    CHECK(r.Header("Content-Type") == "text/plain");
    CHECK(r.body == "Hello, world!\n");
  }
}

TEST_CASE("nginx: CGI environment per RFC 3875", "[e2e][nginx][env]") {
  NginxStack stack("env.cgi");
  HttpResponse r = Curl({.url = stack.Url("/env/dump?a=1&b=two"),
                         .headers = {"X-Test-Header: yes", "Proxy: http://evil.example:3128/"}});
  INFO(r.error << r.body << stack.Diagnostics());
  REQUIRE(r.ok);
  REQUIRE(r.status == 200);
  auto env = ParseEnvDump(r.body);
  CHECK(env["GATEWAY_INTERFACE"] == "CGI/1.1");
  CHECK(env["REQUEST_METHOD"] == "GET");
  CHECK(env["QUERY_STRING"] == "a=1&b=two");
  CHECK(env.count("SCRIPT_NAME") == 1);
  CHECK(env["SERVER_PROTOCOL"] == "HTTP/1.1");
  CHECK(env["HTTP_X_TEST_HEADER"] == "yes");
  CHECK(env.count("HTTP_HOST") == 1);
  CHECK(env.count("HTTP_PROXY") == 0);  // httpoxy
  CHECK(env["CWD"] == ExamplesDir());
  CHECK(env["FDS"] == "0 1 2");  // the FastCGI socket must not leak
}

TEST_CASE("nginx: QUERY_STRING is present even when empty", "[e2e][nginx][env]") {
  NginxStack stack("env.cgi");
  HttpResponse r = stack.Get("/env");
  INFO(r.error << r.body << stack.Diagnostics());
  REQUIRE(r.status == 200);
  auto env = ParseEnvDump(r.body);
  REQUIRE(env.count("QUERY_STRING") == 1);
  CHECK(env["QUERY_STRING"].empty());
}

TEST_CASE("nginx: 10 MiB POST arrives intact (SHA-256)", "[e2e][nginx][body]") {
  const bool keep_conn = GENERATE(false, true);
  NginxStackOptions options;
  options.keep_conn = keep_conn;
  NginxStack stack("echo.cgi", options);
  TempDir data("fcgi-run-body");
  std::string body = RandomBytes(kTenMiB, 7);
  std::string file = data.WriteFile("body.bin", body);
  HttpResponse r = Curl({.url = stack.Url("/echo"), .body_file = file, .max_time = 60});
  INFO("keep_conn=" << keep_conn << "\n" << r.error << r.body << stack.Diagnostics());
  REQUIRE(r.ok);
  CHECK(r.status == 200);
  CHECK(r.body == "length=" + std::to_string(kTenMiB) + "\nsha256=" + Sha256Hex(body) + "\n");
}

TEST_CASE("nginx: chunked upload with request buffering off (no CONTENT_LENGTH)", "[e2e][nginx][body]") {
  NginxStackOptions options;
  options.request_buffering = false;
  NginxStack stack("echo.cgi", options);
  std::string body = RandomBytes(3 * 1024 * 1024 + 5, 11);
  HttpResponse r = Curl({.url = stack.Url("/echo"), .body = body, .chunked = true, .max_time = 60});
  INFO(r.error << r.body << stack.Diagnostics());
  REQUIRE(r.ok);
  CHECK(r.status == 200);
  CHECK(r.body == "length=" + std::to_string(body.size()) + "\nsha256=" + Sha256Hex(body) + "\n");
}

// nginx stops sending the request body to the upstream once it has sent the
// response header to its client (ngx_http_upstream_send_request_handler:
// `u->header_sent && !preserve_output`). So this passes only if the launcher
// keeps reading the program's output (no deadlock) AND holds it back from the
// web server until FCGI_STDIN has ended. The raw suite checks the first part
// alone ("raw: a program that writes 10 MiB before reading ...").
TEST_CASE("nginx: a program that writes 10 MiB before reading a 10 MiB body completes",
          "[e2e][nginx][body]") {
  NginxStack stack("write_before_read.cgi");
  TempDir data("fcgi-run-body");
  std::string body = RandomBytes(kTenMiB, 3);
  std::string file = data.WriteFile("body.bin", body);
  HttpResponse r = Curl({.url = stack.Url("/wbr"), .body_file = file, .max_time = 20});
  INFO(r.error << stack.Diagnostics());
  REQUIRE(r.ok);
  REQUIRE(r.status == 200);
  REQUIRE(r.body.size() > kTenMiB);
  std::string expected = LargePattern(kTenMiB);
  INFO("first difference at " << FirstDifference(r.body, expected));
  CHECK(r.body.compare(0, kTenMiB, expected) == 0);
  CHECK(r.body.substr(kTenMiB) ==
        "\nlength=" + std::to_string(kTenMiB) + "\nsha256=" + Sha256Hex(body) + "\n");
}

TEST_CASE("nginx: output is streamed as the program produces it", "[e2e][nginx][stream]") {
  NginxStackOptions options;
  options.buffering = false;
  NginxStack stack("stream.cgi", options);
  HttpResponse r = RawHttpGet(stack.nginx().port(), "/stream", {}, 20);
  INFO(r.error << r.body << stack.Diagnostics());
  REQUIRE(r.ok);
  REQUIRE(r.status == 200);
  REQUIRE(r.body == "line 1\nline 2\nline 3\nline 4\nline 5\n");
  double first = r.ArrivalOf("line 1");
  double last = r.ArrivalOf("line 5");
  INFO("line 1 at " << first << " s, line 5 at " << last << " s");
  // The program spends ~800 ms between line 1 and line 5: a buffering
  // launcher delivers all lines together.
  CHECK(first >= 0);
  CHECK(last - first >= 0.5);
}

TEST_CASE("nginx: large responses arrive intact", "[e2e][nginx][large]") {
  const size_t size = GENERATE(size_t{0}, size_t{1}, size_t{65535}, size_t{65536}, size_t{1024 * 1024},
                               size_t{7 * 1024 * 1024 + 3});
  const bool keep_conn = GENERATE(false, true);
  NginxStackOptions options;
  options.keep_conn = keep_conn;
  NginxStack stack("large.cgi", options);
  HttpResponse r = stack.Get("/large?size=" + std::to_string(size), 60);
  INFO("size=" << size << " keep_conn=" << keep_conn << "\n" << r.error << stack.Diagnostics());
  REQUIRE(r.ok);
  CHECK(r.status == 200);
  REQUIRE(r.body.size() == size);
  std::string expected = LargePattern(size);
  INFO("first difference at " << FirstDifference(r.body, expected));
  CHECK(r.body == expected);
}

TEST_CASE("nginx: the program's stderr lands in nginx's error log", "[e2e][nginx][stderr]") {
  NginxStack stack("stderr.cgi");
  HttpResponse r = stack.Get("/stderr");
  INFO(r.error << stack.Diagnostics());
  REQUIRE(r.ok);
  CHECK(r.status == 200);
  CHECK(r.body == "page from stderr.cgi\n");
  CHECK(stack.nginx().WaitForErrorLog("to-stderr: first line"));
  CHECK(stack.nginx().WaitForErrorLog("to-stderr: second line"));
}

TEST_CASE("nginx: a crashing program gives 502 naming the signal", "[e2e][nginx][errors]") {
  NginxStack stack("crash.cgi");
  HttpResponse r = stack.Get("/crash");
  INFO(r.error << r.body << stack.Diagnostics());
  REQUIRE(r.ok);
  CHECK(r.status == 502);
  CHECK(r.body.find("SIGSEGV") != std::string::npos);
}

TEST_CASE("nginx: a program without a header gives 502 quoting its output", "[e2e][nginx][errors]") {
  NginxStack stack("noheader.cgi");
  HttpResponse r = stack.Get("/noheader");
  INFO(r.error << r.body << stack.Diagnostics());
  REQUIRE(r.ok);
  CHECK(r.status == 502);
  CHECK(r.body.find("Hello world") != std::string::npos);
}

TEST_CASE("nginx: an NPH program's status line becomes the status", "[e2e][nginx]") {
  NginxStack stack("nph-hello.cgi");
  HttpResponse r = stack.Get("/nph");
  INFO(r.error << r.body << stack.Diagnostics());
  REQUIRE(r.ok);
  CHECK(r.status == 200);
  CHECK(r.body == "Hello from NPH\n");
}

TEST_CASE("nginx: a page from a program that exits 3 is delivered", "[e2e][nginx]") {
  NginxStack stack("exit3.cgi");
  HttpResponse r = stack.Get("/exit3");
  INFO(r.error << r.body << stack.Diagnostics());
  REQUIRE(r.ok);
  CHECK(r.status == 200);
  CHECK(r.body == "page from exit3.cgi\n");
}

TEST_CASE("nginx: Python and Perl CGI.pm programs", "[e2e][nginx][scripts]") {
  SECTION("hello.py") {
    NginxStack stack("hello.py");
    HttpResponse r = stack.Get("/py?x=1");
    INFO(r.error << r.body << stack.Diagnostics());
    REQUIRE(r.ok);
    CHECK(r.status == 200);
    CHECK(r.body.find("Hello from Python\nGATEWAY_INTERFACE=CGI/1.1\nREQUEST_METHOD=GET\n"
                      "QUERY_STRING=x=1\n") == 0);
  }
  SECTION("form.cgi POST") {
    NginxStack stack("form.cgi");
    HttpResponse r = Curl({.url = stack.Url("/form"),
                           .headers = {"Content-Type: application/x-www-form-urlencoded"},
                           .body = "name=Ada&color=blue+green"});
    INFO(r.error << r.body << stack.Diagnostics());
    REQUIRE(r.ok);
    CHECK(r.status == 200);
    CHECK(r.body.find("<li>color=blue green</li>\n<li>name=Ada</li>") != std::string::npos);
  }
  SECTION("upload.cgi multipart") {
    NginxStack stack("upload.cgi");
    TempDir data("fcgi-run-upload");
    std::string file = data.WriteFile("photo.bin", RandomBytes(200000, 5));
    HttpResponse r = Curl({.url = stack.Url("/upload"), .extra_args = {"-F", "file=@" + file}});
    INFO(r.error << r.body << stack.Diagnostics());
    REQUIRE(r.ok);
    CHECK(r.status == 200);
    CHECK(r.body == "filename=photo.bin\nsize=200000\n");
  }
}

// README.md's Quick start: its command and nginx block, with the program and
// socket paths replaced, nginx's workers running as www-data. Before the
// socket's owner followed --user, nginx got connect() EACCES here.
TEST_CASE("nginx: the README's Quick start works as written", "[e2e][nginx][docs][once]") {
  if (geteuid() != 0) {
    WARN("not run: the documented command changes user");
    return;
  }
  TempDir run("fcgi-run-run");  // root's 0755, as /run is
  const std::vector<std::pair<std::string, std::string>> paths = {{"/run/app.sock", run.File("app.sock")},
                                                                  {"/srv/app.cgi", Example("stream.cgi")}};
  std::vector<std::string> words =
      CommandWords(Substitute(DocSnippet("README.md", "quick-start-command"), paths));
  REQUIRE(words.at(0) == "fcgi-run");
  FcgiRunOptions o;
  o.listen = "unix:" + run.File("app.sock");
  o.command.assign(words.begin() + 1, words.end());
  FcgiRun app(o);
  NginxOptions n;
  n.user = "www-data";
  n.locations = Substitute(DocSnippet("README.md", "nginx-one-program"), paths);
  Nginx nginx(n);
  HttpResponse r = CurlGet(nginx.Url("/app/"));
  INFO(r.error << r.body << "\n--- fcgi-run:\n" << app.Log() << "\n--- nginx:\n" << nginx.ErrorLog());
  REQUIRE(r.status == 200);
  CHECK(r.body.find("line 5") != std::string::npos);
  CHECK(DescribeWaitStatus(app.Stop()) == "exit 0");
  CHECK(access(run.File("app.sock").c_str(), F_OK) != 0);  // removed
  CHECK(app.Log().find("removed socket " + run.File("app.sock")) != std::string::npos);
}

}  // namespace
}  // namespace fcgi::test
