// End-to-end security suite for dispatcher mode and the launcher's guards:
// traversal (through nginx and raw), symlinks, directories, non-executables,
// files outside the root, malformed SCRIPT_FILENAMEs, httpoxy, --allow-from /
// FCGI_WEB_SERVER_ADDRS, privilege dropping and the root rule. Every refusal
// must answer with a generic body (never the file layout) and log the reason.
#include <catch2/catch.hpp>

#include <fstream>
#include <string>
#include <vector>

#include "tests/e2e/dispatcher_util.h"
#include "tests/support/http_client.h"
#include "tests/support/net_util.h"
#include "tests/support/process.h"
#include "tests/support/test_paths.h"

namespace fcgi::test {
namespace {

// The refusal bodies CgiRequest writes.
constexpr const char* kForbiddenBody = "fcgi-run: this program may not be run";
constexpr const char* kNotFoundBody = "fcgi-run: no such program";

std::string Diagnostics(const FcgiRun& app, const Nginx& nginx) {
  return "--- launcher stderr:\n" + app.Log() + "\n--- nginx error log:\n" + nginx.ErrorLog();
}

void CheckRefused(const HttpResponse& r, int status, const DocRoot& doc) {
  CHECK(r.status == status);
  CHECK(r.body.find("SECRET") == std::string::npos);
  CHECK(r.body.find("script=") == std::string::npos);
  CHECK(r.body.find(doc.dir.path()) == std::string::npos);
}

TEST_CASE("security: traversal through nginx never runs a file outside the root", "[e2e][security]") {
  DocRoot doc;
  FcgiRun app(DispatcherOptions(doc));
  Nginx nginx(DispatcherNginx(app, doc));
  SECTION("`..` segments (curl --path-as-is): nginx refuses what climbs above its root") {
    CurlRequest rq;
    rq.url = nginx.Url("/cgi-bin/../../outside/secret.cgi");
    rq.extra_args = {"--path-as-is"};
    HttpResponse r = Curl(rq);
    INFO(r.error << r.body << Diagnostics(app, nginx));
    REQUIRE(r.ok);
    CHECK(r.status >= 400);
    CHECK(r.body.find("SECRET") == std::string::npos);
  }
  SECTION("percent-encoded `..` that nginx decodes") {
    CurlRequest rq;
    rq.url = nginx.Url("/cgi-bin/%2e%2e/%2e%2e/outside/secret.cgi");
    rq.extra_args = {"--path-as-is"};
    HttpResponse r = Curl(rq);
    INFO(r.error << r.body << Diagnostics(app, nginx));
    REQUIRE(r.ok);
    CHECK(r.status >= 400);
    CHECK(r.body.find("SECRET") == std::string::npos);
    // Decoded dot segments that stay inside are fine.
    rq.url = nginx.Url("/cgi-bin/sub/%2e%2e/%61pp.cgi");
    HttpResponse inside = Curl(rq);
    REQUIRE(inside.ok);
    CHECK(inside.status == 200);
    CHECK(inside.body.find("script=app.cgi\n") != std::string::npos);
  }
  SECTION("`..` that reaches fcgi-run (a location taking the path from the query)") {
    HttpResponse r = CurlGet(nginx.Url("/q/?script=/../outside/secret.cgi"));
    INFO(r.error << r.body << Diagnostics(app, nginx));
    REQUIRE(r.ok);
    CheckRefused(r, 403, doc);
    CHECK(r.body.find(kForbiddenBody) != std::string::npos);
    CHECK(app.LogContains("outside --root"));
    HttpResponse deep = CurlGet(nginx.Url("/q/?script=/cgi-bin/../../../../../../bin/sh"));
    REQUIRE(deep.ok);
    CheckRefused(deep, 403, doc);
  }
}

TEST_CASE("security: symlinks, directories, non-executables and missing files", "[e2e][security]") {
  DocRoot doc;
  FcgiRun app(DispatcherOptions(doc));
  Nginx nginx(DispatcherNginx(app, doc));
  HttpResponse escape = CurlGet(nginx.Url("/cgi-bin/escape.cgi"));
  INFO(escape.error << escape.body << Diagnostics(app, nginx));
  REQUIRE(escape.ok);
  CheckRefused(escape, 403, doc);
  CHECK(app.LogContains("resolves to \"" + doc.outside + "/secret.cgi\", outside --root"));

  HttpResponse inside = CurlGet(nginx.Url("/cgi-bin/inside.cgi"));
  REQUIRE(inside.ok);
  CHECK(inside.status == 200);
  CHECK(inside.body.find("script=app.cgi\n") != std::string::npos);  // the real file ran

  HttpResponse dir = CurlGet(nginx.Url("/cgi-bin/sub/"));
  REQUIRE(dir.ok);
  CheckRefused(dir, 403, doc);
  CHECK(app.LogContains("/cgi-bin/sub\" is a directory"));

  HttpResponse data = CurlGet(nginx.Url("/cgi-bin/data.txt"));
  REQUIRE(data.ok);
  CheckRefused(data, 403, doc);
  CHECK(data.body.find("not a program") == std::string::npos);
  CHECK(app.LogContains("data.txt\" is not executable"));

  HttpResponse missing = CurlGet(nginx.Url("/cgi-bin/missing.cgi/x/y"));
  REQUIRE(missing.ok);
  CheckRefused(missing, 404, doc);
  CHECK(missing.body.find(kNotFoundBody) != std::string::npos);
}

TEST_CASE("security: raw SCRIPT_FILENAME attacks", "[e2e][security]") {
  DocRoot doc;
  FcgiRun app(DispatcherOptions(doc));
  auto run = [&app](const std::string& script_filename) {
    return RawRequest(app, {{"REQUEST_METHOD", "GET"}, {"SCRIPT_FILENAME", script_filename}});
  };
  SECTION("a file outside the root named directly") {
    CgiResponse r = run(doc.outside + "/secret.cgi");
    CHECK(r.status == 403);
    CHECK(r.body.find("SECRET") == std::string::npos);
    CHECK(run("/bin/sh").status == 403);
    CHECK(run("/nonexistent/x").status == 403);  // outside: 403 whether or not it exists
  }
  SECTION("`..` segments and duplicate slashes") {
    CHECK(run(doc.root + "/../outside/secret.cgi").status == 403);
    CHECK(run(doc.root + "/cgi-bin/../../outside/secret.cgi").status == 403);
    CgiResponse ok = run(doc.root + "//cgi-bin///sub/../app.cgi");
    CHECK(ok.status == 200);
    CHECK(ok.body.find("script=app.cgi\n") != std::string::npos);
  }
  SECTION("a symlink inside pointing outside, and into a directory") {
    CHECK(run(doc.cgi_bin + "/escape.cgi").status == 403);
    CHECK(run(doc.cgi_bin + "/escape.cgi/extra").status == 403);
  }
  SECTION("empty SCRIPT_FILENAME (and nothing else naming a program)") {
    CgiResponse r = run("");
    CHECK(r.status == 404);
    CHECK(app.LogContains("nothing names a program"));
  }
  SECTION("a relative SCRIPT_FILENAME") { CHECK(run("cgi-bin/app.cgi").status == 403); }
  SECTION("a very long SCRIPT_FILENAME") {
    CHECK(run(doc.cgi_bin + "/" + std::string(8000, 'a')).status == 404);
    CHECK(run(doc.cgi_bin + "/" + std::string(300, 'b') + ".cgi").status == 404);  // NAME_MAX
    CHECK(run(doc.cgi_bin + std::string(2000, '/') + "app.cgi").status == 200);
  }
  SECTION("NUL bytes") {
    FcgiResponse raw;
    CgiResponse r =
        RawRequest(app,
                   {{"REQUEST_METHOD", "GET"},
                    {"SCRIPT_FILENAME", doc.cgi_bin + "/app.cgi" + std::string(1, '\0') + "/../../x"}},
                   &raw);
    CHECK(r.status == 403);
    CHECK(app.LogContains("contains a NUL byte"));
    // A NUL in another param: the param is dropped, the program runs.
    CgiResponse other = RawRequest(app, {{"REQUEST_METHOD", "GET"},
                                         {"SCRIPT_FILENAME", doc.cgi_bin + "/app.cgi"},
                                         {"HTTP_X_TEST", std::string("a\0b", 3)}});
    CHECK(other.status == 200);
    CHECK(other.body.find("HTTP_X_TEST=unset\n") != std::string::npos);
  }
  CHECK(app.process().IsRunning());
}

TEST_CASE("security: a Proxy: header never becomes HTTP_PROXY", "[e2e][security]") {
  DocRoot doc;
  FcgiRun app(DispatcherOptions(doc));
  Nginx nginx(DispatcherNginx(app, doc));
  CurlRequest rq;
  rq.url = nginx.Url("/cgi-bin/app.cgi");
  rq.headers = {"Proxy: http://evil.example:3128/", "X-Test: yes"};
  HttpResponse r = Curl(rq);
  INFO(r.error << r.body << Diagnostics(app, nginx));
  REQUIRE(r.ok);
  CHECK(r.status == 200);
  CHECK(r.body.find("HTTP_PROXY=unset\n") != std::string::npos);
  CHECK(r.body.find("HTTP_X_TEST=yes\n") != std::string::npos);  // other headers pass
  CHECK(RawRequest(app, {{"SCRIPT_FILENAME", doc.cgi_bin + "/app.cgi"}, {"HTTP_PROXY", "http://evil/"}})
            .body.find("HTTP_PROXY=unset\n") != std::string::npos);
}

TEST_CASE("security: TCP peers outside --allow-from / FCGI_WEB_SERVER_ADDRS are closed", "[e2e][security]") {
  DocRoot doc;
  const bool by_env = GENERATE(false, true);
  FcgiRunOptions o = DispatcherOptions(doc, {}, "tcp");
  if (by_env) {
    o.launcher_env = {"FCGI_WEB_SERVER_ADDRS=10.0.0.0/8, 192.0.2.1"};
  } else {
    o.flags.insert(o.flags.end(), {"--allow-from", "10.0.0.0/8,192.0.2.1"});
  }
  FcgiRun app(o);
  FcgiTestClient client;
  REQUIRE(client.Connect(app.address()).ok());
  FcgiResponse r = client.Request({{"SCRIPT_FILENAME", doc.cgi_bin + "/app.cgi"}});
  INFO(r.Describe() << app.Log());
  CHECK_FALSE(r.ended);
  CHECK(r.stdout_data.empty());
  CHECK(!r.failure.empty());
  CHECK(app.LogContains("refused connection from 127.0.0.1:"));
  CHECK(app.LogContains(by_env ? "not in FCGI_WEB_SERVER_ADDRS" : "not in --allow-from"));
  CHECK(app.process().IsRunning());

  // The same with the loopback peer allowed.
  FcgiRunOptions allowed = DispatcherOptions(doc, {"--allow-from", "10.0.0.0/8,127.0.0.1"}, "tcp");
  FcgiRun app2(allowed);
  CHECK(RawRequest(app2, {{"SCRIPT_FILENAME", doc.cgi_bin + "/app.cgi"}}).status == 200);
}

std::string ProcStatusLine(pid_t pid, const std::string& key) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(key + ":", 0) == 0) return line;
  }
  return "";
}

TEST_CASE("security: --program-user runs programs as that user", "[e2e][security][privileges]") {
  if (geteuid() != 0) {
    WARN("needs root: not run");
    return;
  }
  DocRoot doc;
  FcgiRun app(DispatcherOptions(doc, {"--program-user", "nobody"}));
  CgiResponse r = RawRequest(app, {{"SCRIPT_FILENAME", doc.cgi_bin + "/app.cgi"}});
  INFO(r.body << app.Log());
  CHECK(r.status == 200);
  CHECK(r.body.find("uid=65534 ruid=65534 gid=65534 groups=65534\n") != std::string::npos);
  CHECK(ProcStatusLine(app.process().pid(), "Uid") == "Uid:\t0\t0\t0\t0");  // the launcher stays root
  // USER:GROUP
  FcgiRun app2(DispatcherOptions(doc, {"--program-user", "nobody:www-data"}));
  CgiResponse r2 = RawRequest(app2, {{"SCRIPT_FILENAME", doc.cgi_bin + "/app.cgi"}});
  CHECK(r2.body.find("uid=65534 ruid=65534 gid=33 ") != std::string::npos);
}

TEST_CASE("security: --user drops the launcher after binding", "[e2e][security][privileges]") {
  if (geteuid() != 0) {
    WARN("needs root: not run");
    return;
  }
  DocRoot doc;
  FcgiRun app(DispatcherOptions(doc, {"--user", "nobody"}));
  CgiResponse r = RawRequest(app, {{"SCRIPT_FILENAME", doc.cgi_bin + "/app.cgi"}});
  INFO(r.body << app.Log());
  CHECK(r.status == 200);
  CHECK(r.body.find("uid=65534 ruid=65534 gid=65534 groups=65534\n") != std::string::npos);
  CHECK(ProcStatusLine(app.process().pid(), "Uid") == "Uid:\t65534\t65534\t65534\t65534");
  CHECK(ProcStatusLine(app.process().pid(), "Gid") == "Gid:\t65534\t65534\t65534\t65534");
  CHECK(ProcStatusLine(app.process().pid(), "Groups") == "Groups:\t65534 ");
  CHECK(app.LogContains("dropped privileges to nobody"));
}

TEST_CASE("security: start-up refusals say why", "[e2e][security]") {
  DocRoot doc;
  auto start = [](std::vector<std::string> args) {
    args.insert(args.begin(),
                {FcgiRunBinary(), "--listen", "tcp:127.0.0.1:" + std::to_string(FreeTcpPort())});
    return RunCommand(args, "", Seconds(10));
  };
  if (geteuid() == 0) {
    CommandResult root = start({"--root", doc.root});
    INFO(root.err);
    CHECK_FALSE(root.Succeeded());
    CHECK(root.err.find("programs would run as root") != std::string::npos);
    CHECK(root.err.find("--allow-root") != std::string::npos);
    CHECK(root.err.find("--program-user") != std::string::npos);
    CommandResult single = start({Example("hello.cgi")});
    CHECK(single.err.find("programs would run as root") != std::string::npos);
  }
  CommandResult no_root = start({"--allow-ext", ".cgi", "--allow-root"});
  INFO(no_root.err);
  CHECK_FALSE(no_root.Succeeded());
  CHECK(no_root.err.find("dispatcher mode without --root") != std::string::npos);
  CommandResult bad_root = start({"--root", doc.dir.File("nope"), "--allow-root"});
  CHECK_FALSE(bad_root.Succeeded());
  CHECK(bad_root.err.find("--root") != std::string::npos);
  CommandResult bad_list = start({"--root", doc.root, "--allow-from", "10.0.0.0/33", "--allow-root"});
  CHECK_FALSE(bad_list.Succeeded());
  CHECK(bad_list.err.find("--allow-from") != std::string::npos);
}

TEST_CASE("security: a non-loopback listener without --allow-from warns", "[e2e][security]") {
  DocRoot doc;
  FcgiRunOptions o = DispatcherOptions(doc, {}, "tcp:0.0.0.0:" + std::to_string(FreeTcpPort()));
  FcgiRun app(o);
  CHECK(app.LogContains("without --allow-from"));
  FcgiRunOptions quiet =
      DispatcherOptions(doc, {"--allow-from", "127.0.0.1"}, "tcp:0.0.0.0:" + std::to_string(FreeTcpPort()));
  FcgiRun app2(quiet);
  CHECK(app2.Log().find("without --allow-from") == std::string::npos);
}

}  // namespace
}  // namespace fcgi::test
