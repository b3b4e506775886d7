// End-to-end: dispatcher mode (`fcgi-run --root DIR`, no PROGRAM) behind real
// nginx and Apache mod_proxy_fcgi, and through the raw FastCGI client: which
// program runs, PATH_INFO splitting, worker classes, --allow-ext, --program,
// and the cgi-bin block of docs/guide/migrating-from-fcgiwrap.md, used verbatim.
#include <pwd.h>

#include <catch2/catch.hpp>

#include <chrono>
#include <thread>
#include <utility>

#include <future>
#include <string>
#include <vector>

#include "tests/e2e/dispatcher_util.h"
#include "tests/support/doc_snippet.h"
#include "tests/support/http_client.h"
#include "tests/support/net_util.h"
#include "tests/support/test_paths.h"

namespace fcgi::test {
namespace {

std::string Diagnostics(const FcgiRun& app, const Nginx& nginx) {
  return "--- launcher stderr:\n" + app.Log() + "\n--- nginx error log:\n" + nginx.ErrorLog();
}

TEST_CASE("dispatcher: nginx runs the script the URL names", "[e2e][dispatcher]") {
  DocRoot doc;
  FcgiRun app(DispatcherOptions(doc));
  Nginx nginx(DispatcherNginx(app, doc));
  HttpResponse a = CurlGet(nginx.Url("/cgi-bin/app.cgi"));
  INFO(a.error << a.body << Diagnostics(app, nginx));
  REQUIRE(a.ok);
  CHECK(a.status == 200);
  CHECK(a.body.find("script=app.cgi\n") != std::string::npos);
  CHECK(a.body.find("SCRIPT_NAME=/cgi-bin/app.cgi\n") != std::string::npos);
  CHECK(a.body.find("SCRIPT_FILENAME=" + doc.root + "/cgi-bin/app.cgi\n") != std::string::npos);
  CHECK(a.body.find("cwd=" + doc.cgi_bin + "\n") != std::string::npos);
  HttpResponse t = CurlGet(nginx.Url("/cgi-bin/tool.pl"));
  REQUIRE(t.ok);
  CHECK(t.status == 200);
  CHECK(t.body.find("script=tool.pl\n") != std::string::npos);
  HttpResponse missing = CurlGet(nginx.Url("/cgi-bin/nope.cgi"));
  REQUIRE(missing.ok);
  CHECK(missing.status == 404);
  CHECK(missing.body.find(doc.root) == std::string::npos);  // never the file layout
  CHECK(app.LogContains("nope.cgi"));                       // but the log says what
}

TEST_CASE("dispatcher: PATH_INFO splitting /cgi-bin/app.cgi/extra/path?q=1", "[e2e][dispatcher]") {
  DocRoot doc;
  FcgiRun app(DispatcherOptions(doc));
  Nginx nginx(DispatcherNginx(app, doc));
  HttpResponse r = CurlGet(nginx.Url("/cgi-bin/app.cgi/extra/path?q=1"));
  INFO(r.error << r.body << Diagnostics(app, nginx));
  REQUIRE(r.ok);
  CHECK(r.status == 200);
  CHECK(r.body.find("script=app.cgi\n") != std::string::npos);
  CHECK(r.body.find("SCRIPT_NAME=/cgi-bin/app.cgi\n") != std::string::npos);
  CHECK(r.body.find("PATH_INFO=/extra/path\n") != std::string::npos);
  CHECK(r.body.find("PATH_TRANSLATED=" + doc.root + "/extra/path\n") != std::string::npos);
  CHECK(r.body.find("SCRIPT_FILENAME=" + doc.root + "/cgi-bin/app.cgi\n") != std::string::npos);
  CHECK(r.body.find("QUERY_STRING=q=1\n") != std::string::npos);
  // Through a symlink inside the root: the requested name is what the program sees.
  HttpResponse s = CurlGet(nginx.Url("/cgi-bin/inside.cgi/x"));
  REQUIRE(s.ok);
  CHECK(s.status == 200);
  CHECK(s.body.find("PATH_INFO=/x\n") != std::string::npos);
  CHECK(s.body.find("SCRIPT_FILENAME=" + doc.root + "/cgi-bin/inside.cgi\n") != std::string::npos);
}

TEST_CASE("dispatcher: DOCUMENT_ROOT + SCRIPT_NAME when there is no SCRIPT_FILENAME", "[e2e][dispatcher]") {
  DocRoot doc;
  FcgiRun app(DispatcherOptions(doc));
  CgiResponse r = RawRequest(app, {{"REQUEST_METHOD", "GET"},
                                   {"DOCUMENT_ROOT", doc.root},
                                   {"SCRIPT_NAME", "/cgi-bin/app.cgi/p/q"},
                                   {"QUERY_STRING", ""}});
  INFO(r.body << app.Log());
  CHECK(r.status == 200);
  CHECK(r.body.find("SCRIPT_NAME=/cgi-bin/app.cgi\n") != std::string::npos);
  CHECK(r.body.find("PATH_INFO=/p/q\n") != std::string::npos);
}

TEST_CASE("dispatcher: Apache mod_proxy_fcgi's proxy:fcgi:// SCRIPT_FILENAME", "[e2e][dispatcher][apache]") {
  DocRoot doc;
  FcgiRun app(DispatcherOptions(doc));
  ApacheOptions ao;  // no ProxyFCGISetEnvIf: Apache's own SCRIPT_FILENAME
  ao.extra_config =
      "ProxyPass \"/cgi-bin/\" \"" + app.address() + "|fcgi://localhost" + doc.cgi_bin + "/\"\n";
  Apache apache(ao);
  HttpResponse r = CurlGet(apache.Url("/cgi-bin/app.cgi/extra?q=1"));
  INFO(r.error << r.body << "--- launcher:\n" << app.Log() << "--- apache:\n" << apache.ErrorLog());
  REQUIRE(r.ok);
  CHECK(r.status == 200);
  CHECK(r.body.find("script=app.cgi\n") != std::string::npos);
  CHECK(r.body.find("SCRIPT_FILENAME=" + doc.cgi_bin + "/app.cgi\n") != std::string::npos);
  CHECK(r.body.find("PATH_INFO=/extra\n") != std::string::npos);
  CHECK(r.body.find("QUERY_STRING=q=1\n") != std::string::npos);
  HttpResponse escape = CurlGet(apache.Url("/cgi-bin/escape.cgi"));
  REQUIRE(escape.ok);
  CHECK(escape.status == 403);
  CHECK(escape.body.find("SECRET") == std::string::npos);
}

TEST_CASE("dispatcher: a retired worker class finishes its running request (--max-classes 1)",
          "[e2e][dispatcher]") {
  DocRoot doc;
  FcgiRun app(DispatcherOptions(doc, {"--max-classes", "1", "-v"}));
  // slow.cgi runs for a second while app.cgi and tool.pl take its place.
  auto slow = std::async(std::launch::async, [&app, &doc] {
    FcgiResponse raw;
    CgiResponse r =
        RawRequest(app, {{"REQUEST_METHOD", "GET"}, {"SCRIPT_FILENAME", doc.cgi_bin + "/slow.cgi"}}, &raw);
    return std::make_pair(r, raw);
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  for (const char* name : {"app.cgi", "tool.pl", "app.cgi"}) {
    CgiResponse r =
        RawRequest(app, {{"REQUEST_METHOD", "GET"}, {"SCRIPT_FILENAME", doc.cgi_bin + "/" + name}});
    INFO(name << "\n" << r.body << app.Log());
    CHECK(r.status == 200);
    CHECK(r.body.find(std::string("script=") + name) != std::string::npos);
  }
  auto [slow_response, slow_raw] = slow.get();
  INFO(slow_raw.Describe() << app.Log());
  CHECK(slow_raw.ok());
  CHECK(slow_raw.app_status == 0);
  CHECK(slow_response.body == "slow done\n");
  CHECK(app.LogContains("retiring the least recently used worker class " + doc.cgi_bin + "/slow.cgi"));
  CHECK(app.process().IsRunning());
}

TEST_CASE("dispatcher: --allow-ext and --program restrict what runs", "[e2e][dispatcher]") {
  DocRoot doc;
  SECTION("--allow-ext .cgi") {
    FcgiRun app(DispatcherOptions(doc, {"--allow-ext", ".cgi"}));
    CHECK(RawRequest(app, {{"SCRIPT_FILENAME", doc.cgi_bin + "/app.cgi"}}).status == 200);
    CgiResponse pl = RawRequest(app, {{"SCRIPT_FILENAME", doc.cgi_bin + "/tool.pl"}});
    CHECK(pl.status == 403);
    CHECK(pl.body.find("script=") == std::string::npos);
    CHECK(app.LogContains("--allow-ext"));
    CHECK(app.Log().find(" (?)") == std::string::npos);  // no program chosen: none is named
  }
  SECTION("--allow-ext .cgi,.pl") {
    FcgiRun app(DispatcherOptions(doc, {"--allow-ext", ".cgi,.pl"}));
    CHECK(RawRequest(app, {{"SCRIPT_FILENAME", doc.cgi_bin + "/tool.pl"}}).status == 200);
  }
  SECTION("--program app.cgi") {
    FcgiRun app(DispatcherOptions(doc, {"--program", doc.cgi_bin + "/app.cgi"}));
    CHECK(RawRequest(app, {{"SCRIPT_FILENAME", doc.cgi_bin + "/app.cgi"}}).status == 200);
    CHECK(RawRequest(app, {{"SCRIPT_FILENAME", doc.cgi_bin + "/inside.cgi"}}).status == 200);  // same file
    CHECK(RawRequest(app, {{"SCRIPT_FILENAME", doc.cgi_bin + "/tool.pl"}}).status == 403);
  }
  SECTION("--program without --root") {
    FcgiRunOptions o = DispatcherOptions(doc);
    o.flags = {"--program", doc.cgi_bin + "/tool.pl"};
    FcgiRun app(o);
    CHECK(RawRequest(app, {{"SCRIPT_FILENAME", doc.cgi_bin + "/tool.pl"}}).status == 200);
    CHECK(RawRequest(app, {{"SCRIPT_FILENAME", doc.cgi_bin + "/app.cgi"}}).status == 403);
  }
}

// The cgi-bin block of docs/guide/migrating-from-fcgiwrap.md, with its two
// placeholders replaced: /srv/www (the document root) and the socket.
TEST_CASE("dispatcher: the fcgiwrap migration page's cgi-bin block works as written",
          "[e2e][dispatcher][readme]") {
  DocRoot doc;
  FcgiRun app(DispatcherOptions(doc, {"--program-user", "www-data"}));
  NginxOptions o;
  o.locations = Substitute(DocSnippet("docs/guide/migrating-from-fcgiwrap.md", "nginx-cgi-bin"),
                           {{"unix:/run/fcgiwrap.socket", app.address()}, {"/srv/www", doc.root}});
  Nginx nginx(o);
  HttpResponse r = CurlGet(nginx.Url("/cgi-bin/app.cgi/extra/path?q=1"));
  INFO(r.error << r.body << Diagnostics(app, nginx) << "\n--- config:\n" << nginx.config());
  REQUIRE(r.ok);
  CHECK(r.status == 200);
  CHECK(r.body.find("SCRIPT_NAME=/cgi-bin/app.cgi\n") != std::string::npos);
  CHECK(r.body.find("PATH_INFO=/extra/path\n") != std::string::npos);
  const passwd* www = getpwnam("www-data");
  REQUIRE(www != nullptr);
  CHECK(r.body.find("uid=" + std::to_string(www->pw_uid) + " ") != std::string::npos);
  CHECK(CurlGet(nginx.Url("/cgi-bin/escape.cgi")).status == 403);
}

}  // namespace
}  // namespace fcgi::test
