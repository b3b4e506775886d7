// End-to-end: the built-in HTTP front (--http), driven with curl, a raw
// socket and headless Chromium, and compared with nginx in front of the
// FastCGI side. Runs in the mode FCGI_RUN_TEST_MODE (default exec).
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>

#include "tests/support/content_util.h"
#include "tests/support/fcgi_run_server.h"
#include "tests/support/http_client.h"
#include "tests/support/net_util.h"
#include "tests/support/process.h"
#include "tests/support/test_paths.h"
#include "tests/support/web_servers.h"

namespace fcgi::test {
namespace {

// fcgi-run serving `program` over FastCGI (TCP, for the harness's readiness
// check) and over HTTP on a free port of 127.0.0.1.
struct HttpFront {
  // Ready once the HTTP port accepts too: the harness waits for the FastCGI
  // listener, which fcgi-run opens first.
  explicit HttpFront(const std::string& program, std::vector<std::string> flags = {})
      : port(FreeTcpPort()), app(Options(program, port, std::move(flags))) {
    if (!WaitForConnect("tcp:127.0.0.1:" + std::to_string(port), std::chrono::milliseconds(10000))) {
      throw std::runtime_error("the HTTP front of fcgi-run never accepted on port " + std::to_string(port) +
                               ":\n" + app.Log());
    }
  }
  static FcgiRunOptions Options(const std::string& program, int port, std::vector<std::string> flags) {
    FcgiRunOptions o;
    o.program = program;
    o.listen = "tcp";
    o.flags = {"--http", "127.0.0.1:" + std::to_string(port)};
    o.flags.insert(o.flags.end(), flags.begin(), flags.end());
    return o;
  }
  std::string Url(const std::string& path) const { return "http://127.0.0.1:" + std::to_string(port) + path; }
  int port;
  FcgiRun app;
};

// A shell CGI script written into `dir`, mode 0755.
std::string WriteScript(const TempDir& dir, const std::string& name, const std::string& body) {
  std::string path = dir.WriteFile(name, "#!/bin/sh\n" + body);
  chmod(path.c_str(), 0755);
  return path;
}

// Sends raw bytes on one connection and reads until EOF or `timeout`.
std::string RawExchange(int port, const std::string& request, double timeout = 10) {
  UniqueFd fd = ConnectTo("tcp:127.0.0.1:" + std::to_string(port));
  if (!fd.valid()) return "";
  timeval tv{static_cast<time_t>(timeout), 0};
  setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  SendAll(fd.get(), request);
  std::string out;
  char buf[65536];
  for (;;) {
    ssize_t n = read(fd.get(), buf, sizeof buf);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

TEST_CASE("http front: GET, HEAD and POST with curl", "[e2e][http]") {
  HttpFront env(Example("env.cgi"));
  HttpResponse r = Curl({.url = env.Url("/some/path?a=1"), .headers = {"X-Test: yes"}});
  INFO(r.error << env.app.Log());
  REQUIRE(r.ok);
  CHECK(r.status == 200);
  CHECK(r.Header("Transfer-Encoding") == "chunked");  // no Content-Length from env.cgi
  auto vars = ParseEnvDump(r.body);
  CHECK(vars["REQUEST_METHOD"] == "GET");
  CHECK(vars["QUERY_STRING"] == "a=1");
  CHECK(vars["SCRIPT_NAME"] == "/some/path");
  CHECK(vars["HTTP_X_TEST"] == "yes");
  CHECK(vars["FDS"] == "0 1 2");

  HttpResponse head = Curl({.url = env.Url("/x"), .extra_args = {"-I"}});
  REQUIRE(head.ok);
  CHECK(head.status == 200);
  CHECK(head.body.empty());
  CHECK(head.Header("Content-Type") == "text/plain");

  HttpFront form(Example("form.cgi"));
  HttpResponse post = Curl({.url = form.Url("/form.cgi"),
                            .body = "name=Ada&color=blue",
                            .extra_args = {"-H", "Content-Type: application/x-www-form-urlencoded"}});
  INFO(post.error << form.app.Log());
  REQUIRE(post.ok);
  CHECK(post.status == 200);
  CHECK(post.body.find("<li>color=blue</li>") != std::string::npos);
  CHECK(post.body.find("<li>name=Ada</li>") != std::string::npos);
  // A log line per request: method, URI, status, bytes, duration.
  CHECK(form.app.LogContains("\"POST /form.cgi HTTP/1.1\" 200 "));
  CHECK(env.app.LogContains("\"HEAD /x HTTP/1.1\" 200 0 bytes"));
}

TEST_CASE("http front: --http alone, no FastCGI listener", "[e2e][http]") {
  const int port = FreeTcpPort();
  TempDir dir("fcgi-run-http");
  ProcessOptions p;
  p.argv = {FcgiRunBinary(), "--mode", TestMode(), "--http", "127.0.0.1:" + std::to_string(port)};
  if (geteuid() == 0) p.argv.push_back("--allow-root");
  p.argv.push_back(Example("hello.cgi"));
  p.env = MinimalEnv();
  p.stderr_path = dir.File("log");
  Process launcher(p);
  REQUIRE(WaitForConnect("tcp:127.0.0.1:" + std::to_string(port), std::chrono::seconds(10)));
  HttpResponse r = CurlGet("http://127.0.0.1:" + std::to_string(port) + "/");
  INFO(r.error << ReadFile(dir.File("log")));
  CHECK(r.status == 200);
  CHECK(r.body == "Hello, world!\n");
  CHECK(WIFEXITED(launcher.Stop()));
}

TEST_CASE("http front: keep-alive serves two requests on one connection", "[e2e][http]") {
  HttpFront front(Example("hello.cgi"));
  std::string raw = RawExchange(front.port,
                                "GET /one HTTP/1.1\r\nHost: localhost\r\n\r\n"
                                "GET /two HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
  INFO(raw << front.app.Log());
  size_t first = raw.find("HTTP/1.1 200 OK");
  REQUIRE(first != std::string::npos);
  CHECK(raw.find("HTTP/1.1 200 OK", first + 1) != std::string::npos);
  CHECK(raw.find("0\r\n\r\n") != std::string::npos);  // chunked end of the first body
  // Both log lines name the same client port: one connection.
  REQUIRE(front.app.LogContains("\"GET /two HTTP/1.1\" 200"));
  std::string log = front.app.Log();
  size_t a = log.find("\"GET /one HTTP/1.1\" 200");
  size_t b = log.find("\"GET /two HTTP/1.1\" 200");
  REQUIRE(a != std::string::npos);
  REQUIRE(b != std::string::npos);
  auto peer_of = [&log](size_t at) {
    size_t start = log.rfind("http ", at);
    return log.substr(start, at - start);
  };
  CHECK(peer_of(a) == peer_of(b));
}

TEST_CASE("http front: chunked upload and Content-Length upload reach stdin intact", "[e2e][http]") {
  HttpFront front(Example("echo.cgi"));
  const std::string body = RandomBytes(3 * 1024 * 1024 + 17, 7);
  for (bool chunked : {false, true}) {
    HttpResponse r = Curl({.url = front.Url("/echo"), .body = body, .chunked = chunked});
    INFO("chunked=" << chunked << " " << r.error << front.app.Log());
    REQUIRE(r.ok);
    CHECK(r.status == 200);
    CHECK(r.body == "length=" + std::to_string(body.size()) + "\nsha256=" + Sha256Hex(body) + "\n");
  }
}

TEST_CASE("http front: Content-Length responses keep it, others are chunked", "[e2e][http]") {
  HttpFront large(Example("large.cgi"));
  std::string raw =
      RawExchange(large.port, "GET /?size=1000 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  HttpResponse r = ParseHttpResponse(raw);
  INFO(raw.substr(0, 400));
  REQUIRE(r.ok);
  CHECK(r.Header("Content-Length") == "1000");
  CHECK_FALSE(r.HasHeader("Transfer-Encoding"));
  CHECK(r.body == LargePattern(1000));

  HttpFront hello(Example("hello.cgi"));
  raw = RawExchange(hello.port, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  CHECK(raw.find("Transfer-Encoding: chunked\r\n") != std::string::npos);
  CHECK(raw.find("\r\n\r\ne\r\nHello, world!\n\r\n0\r\n\r\n") != std::string::npos);
  // HTTP/1.0: no chunking; the end of the connection ends the body.
  raw = RawExchange(hello.port, "GET / HTTP/1.0\r\n\r\n");
  CHECK(raw.rfind("HTTP/1.0 200 OK\r\n", 0) == 0);
  CHECK(raw.find("Transfer-Encoding") == std::string::npos);
  CHECK(raw.size() > 14);
  CHECK(raw.substr(raw.size() - 14) == "Hello, world!\n");
}

TEST_CASE("http front: 431 for oversized headers, 413 past --max-body", "[e2e][http]") {
  HttpFront front(Example("echo.cgi"), {"--http-max-header", "2048", "--max-body", "1000"});
  HttpResponse big = Curl({.url = front.Url("/"), .headers = {"X-Big: " + std::string(4000, 'a')}});
  INFO(big.error << front.app.Log());
  CHECK(big.status == 431);
  HttpResponse ok = Curl({.url = front.Url("/"), .body = std::string(1000, 'x')});
  CHECK(ok.status == 200);
  HttpResponse too_big = Curl({.url = front.Url("/"), .body = std::string(5000, 'x')});
  CHECK(too_big.status == 413);
  HttpResponse too_big_chunked =
      Curl({.url = front.Url("/"), .body = std::string(5000, 'x'), .chunked = true});
  INFO(too_big_chunked.error);
  CHECK(too_big_chunked.status == 413);
}

// RFC 9112 sections 6.1 and 6.3: a body whose length cannot be trusted gets
// 400 (501 for a coding fcgi-run does not decode) and the connection closes;
// nothing after the header runs as a request of its own.
TEST_CASE("http front: request smuggling: Transfer-Encoding, chunk sizes and bare LFs",
          "[e2e][http][hardening]") {
  TempDir dir("fcgi-run-smuggle");
  std::string script = WriteScript(dir, "ran.cgi",
                                   "printf 'Content-Type: text/plain\\r\\n\\r\\nran %s %s\\n' "
                                   "\"$REQUEST_METHOD\" \"$SCRIPT_NAME\"\ncat >/dev/null\n");
  HttpFront front(script);
  const std::string smuggled = "GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n";
  auto status_of = [](const std::string& response) { return response.substr(0, response.find("\r\n")); };
  SECTION("Transfer-Encoding not ending in chunked, no Content-Length: 400, the body is not a request") {
    for (const char* te : {"xchunked", "gzip", "identity", "chunked, identity", "chunked, chunked"}) {
      std::string r =
          RawExchange(front.port, "POST /first HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: " + std::string(te) +
                                      "\r\n\r\n" + smuggled);
      INFO(te << "\n" << r << front.app.Log());
      CHECK(status_of(r) == "HTTP/1.1 400 Bad Request");
      CHECK(r.find("ran ") == std::string::npos);  // neither the request nor the smuggled one ran
      CHECK(r.find("Connection: close") != std::string::npos);
    }
    CHECK(front.app.LogContains("does not end in chunked"));
  }
  SECTION("a coding before chunked: 501") {
    std::string r = RawExchange(front.port,
                                "POST /first HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"
                                "5\r\nhello\r\n0\r\n\r\n" +
                                    smuggled);
    INFO(r << front.app.Log());
    CHECK(status_of(r) == "HTTP/1.1 501 Not Implemented");
    CHECK(r.find("ran ") == std::string::npos);  // neither the request nor the smuggled one ran
  }
  SECTION("Transfer-Encoding in an HTTP/1.0 request: 400") {
    std::string r = RawExchange(
        front.port, "POST /first HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n");
    INFO(r << front.app.Log());
    CHECK(status_of(r) == "HTTP/1.0 400 Bad Request");
  }
  SECTION("an overflowing chunk size: 400") {
    std::string r = RawExchange(front.port,
                                "POST /first HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                                "1000000000000000000000000\r\nhello\r\n0\r\n\r\n");
    INFO(r << front.app.Log());
    CHECK(status_of(r) == "HTTP/1.1 400 Bad Request");
    CHECK(r.find("ran ") == std::string::npos);  // neither the request nor the smuggled one ran
  }
  SECTION("a chunked body with bare LF line ends: 400 at once, no hang") {
    const auto start = std::chrono::steady_clock::now();
    std::string r = RawExchange(front.port,
                                "POST /first HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                                "5\nhello\n0\n\n",
                                5);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    INFO(r << front.app.Log());
    CHECK(status_of(r) == "HTTP/1.1 400 Bad Request");
    CHECK(seconds < 4);
    CHECK(front.app.LogContains("bare LF"));
  }
  SECTION("a header block with bare LF line ends: 400 at once") {
    std::string r = RawExchange(front.port, "GET /first HTTP/1.1\nHost: x\n\n", 5);
    INFO(r << front.app.Log());
    CHECK(status_of(r) == "HTTP/1.1 400 Bad Request");
  }
  SECTION("a well-formed chunked body still passes, keep-alive after it") {
    std::string r = RawExchange(front.port,
                                "POST /first HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                                "5;ext=1\r\nhello\r\n0\r\nX-Trailer: t\r\n\r\n"
                                "GET /second HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    INFO(r << front.app.Log());
    CHECK(status_of(r) == "HTTP/1.1 200 OK");
    CHECK(r.find("ran POST /first") != std::string::npos);
    CHECK(r.find("ran GET /second") != std::string::npos);
  }
}

TEST_CASE("http front: client redirect, local redirect, bounded redirect loop", "[e2e][http]") {
  TempDir dir("fcgi-run-redirect");
  std::string script = WriteScript(dir, "redirect.cgi", R"(case "$SCRIPT_NAME" in
  /client) printf 'Location: http://example.com/elsewhere\r\n\r\n' ;;
  /local) printf 'Location: /target?from=local\r\nContent-Type: text/plain\r\n\r\nignored body\n' ;;
  /loop) printf 'Location: /loop\r\n\r\n' ;;
  *) printf 'Content-Type: text/plain\r\n\r\n%s %s %s\n' "$REQUEST_METHOD" "$SCRIPT_NAME" "$QUERY_STRING" ;;
esac
)");
  HttpFront front(script);
  HttpResponse client = Curl({.url = front.Url("/client")});
  INFO(client.error << front.app.Log());
  CHECK(client.status == 302);
  CHECK(client.Header("Location") == "http://example.com/elsewhere");

  HttpResponse local = Curl({.url = front.Url("/local"), .body = "a=1"});  // POST becomes GET
  CHECK(local.status == 200);
  CHECK(local.body == "GET /target from=local\n");
  CHECK_FALSE(local.HasHeader("Location"));

  HttpResponse loop = Curl({.url = front.Url("/loop")});
  CHECK(loop.status == 500);
  CHECK(loop.body.find("too many local redirects") != std::string::npos);
  // 1 request + 10 local redirects = 11 runs, then 500.
  CHECK(front.app.LogContains("more than 10 local redirects"));
}

// The same requests through nginx (the README's Quick start configuration) and through the HTTP
// front give the program the same environment, but for the documented
// differences.
TEST_CASE("http front: environment equals nginx's for the same request", "[e2e][http][env]") {
  HttpFront front(Example("env.cgi"));
  FcgiRunOptions fo;
  fo.program = Example("env.cgi");
  FcgiRun app(fo);
  NginxOptions no;
  no.fcgi_address = app.address();
  no.script_filename = Example("env.cgi");
  no.extra_location = "      root " + ExamplesDir() + ";\n";
  Nginx nginx(no);

  struct Case {
    std::string target;
    std::vector<std::string> headers;
    std::string body;
  };
  const std::vector<Case> cases = {
      {"/", {}, ""},
      {"/dir/a%20b/./c/../d?x=1&y=%41+b", {"X-Custom: v1", "Accept-Language: fr", "Proxy: http://evil/"}, ""},
      {"/form?q", {"Content-Type: application/x-www-form-urlencoded"}, "name=Ada&color=blue"},
  };
  for (const Case& c : cases) {
    std::vector<std::string> headers = c.headers;
    headers.push_back("Host: localhost");
    headers.push_back("User-Agent: env-compare");
    HttpResponse a = Curl(
        {.url = nginx.Url(c.target), .headers = headers, .body = c.body, .extra_args = {"--path-as-is"}});
    HttpResponse b = Curl(
        {.url = front.Url(c.target), .headers = headers, .body = c.body, .extra_args = {"--path-as-is"}});
    INFO(c.target << "\nnginx:\n" << a.body << "\nfront:\n" << b.body << front.app.Log());
    REQUIRE(a.status == 200);
    REQUIRE(b.status == 200);
    auto via_nginx = ParseEnvDump(a.body);
    auto via_front = ParseEnvDump(b.body);
    // Documented differences: who the server is and where it listens.
    CHECK(via_nginx["SERVER_SOFTWARE"].rfind("nginx/", 0) == 0);
    CHECK(via_front["SERVER_SOFTWARE"].rfind("fcgi-run/", 0) == 0);
    CHECK(via_nginx["SERVER_PORT"] == std::to_string(nginx.port()));
    CHECK(via_front["SERVER_PORT"] == std::to_string(front.port));
    for (auto* env : {&via_nginx, &via_front}) {
      REQUIRE(env->count("REMOTE_PORT") == 1);
      for (const char* name : {"SERVER_SOFTWARE", "SERVER_PORT", "REMOTE_PORT"}) env->erase(name);
    }
    CHECK(via_nginx == via_front);
  }
}

TEST_CASE("http front: 100 MiB download streams in bounded memory", "[e2e][http][large]") {
  HttpFront front(Example("large.cgi"));
  TempDir dir("fcgi-run-download");
  const uint64_t size = 100ull * 1024 * 1024;
  ProcessOptions p;
  p.argv = {"curl",
            "-sS",
            "-o",
            "/dev/null",
            "--max-time",
            "120",
            "-w",
            "%{http_code} %{size_download}",
            front.Url("/?size=" + std::to_string(size))};
  p.env = MinimalEnv();
  p.stdout_path = dir.File("out");
  p.stderr_path = dir.File("err");
  Process curl(p);
  long peak = 0;
  const pid_t launcher = front.app.process().pid();
  while (curl.IsRunning()) {
    peak = std::max(peak, RssKib(launcher));
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  INFO(ReadFile(dir.File("err")) << front.app.Log());
  CHECK(ReadFile(dir.File("out")) == "200 " + std::to_string(size));
  CHECK(peak > 0);
  CHECK(peak < 64 * 1024);
}

// A real browser: headless Chromium loads the form page, then submits the
// form (POST) from a page whose script does it on load, and the result page
// must list the submitted fields.
TEST_CASE("http front: headless Chromium GET and form POST", "[e2e][http][browser]") {
  const std::string chromium = access("/usr/bin/chromium", X_OK) == 0 ? "/usr/bin/chromium" : "";
  if (chromium.empty()) {
    WARN("SKIPPED: /usr/bin/chromium not installed (scripts/install-deps test installs it)");
    return;
  }
  HttpFront front(Example("form.cgi"));
  TempDir profile("fcgi-run-chromium");
  auto browse = [&](const std::string& url) {
    return RunCommand(
        {chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run",
         "--user-data-dir=" + profile.path(), "--virtual-time-budget=5000", "--dump-dom", url},
        "", Seconds(60));
  };
  CommandResult get = browse(front.Url("/form.cgi"));
  if (!get.Succeeded() && get.out.empty()) {
    WARN("SKIPPED: chromium cannot start: " << DescribeWaitStatus(get.status) << "\n"
                                            << get.err.substr(0, 2000));
    return;
  }
  INFO(get.out << "\n" << front.app.Log());
  CHECK(get.out.find("<form method=\"post\">") != std::string::npos);

  const std::string page =
      "data:text/html,<form method=\"post\" action=\"" + front.Url("/form.cgi") +
      "\"><input name=\"name\" value=\"Ada\"><input name=\"color\" value=\"blue\"></form>"
      "<script>document.forms[0].submit()</script>";
  CommandResult post = browse(page);
  INFO(post.out << "\n" << post.err.substr(0, 2000) << front.app.Log());
  CHECK(post.out.find("<h1>Fields</h1>") != std::string::npos);
  CHECK(post.out.find("<li>color=blue</li>") != std::string::npos);
  CHECK(post.out.find("<li>name=Ada</li>") != std::string::npos);
  CHECK(front.app.LogContains("\"POST /form.cgi HTTP/1.1\" 200 "));
}

}  // namespace
}  // namespace fcgi::test
