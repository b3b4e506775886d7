// End-to-end: lighttpd (fastcgi.server with bin-path and max-procs) and h2o
// (fastcgi.spawn, which also hands fcgi-run a pipe on fd 5 whose closing means
// "exit") spawning fcgi-run in dispatcher mode for every .cgi under a document
// root, configured with docs/guide/web-servers.md's blocks (paths replaced).
// Tagged [spawned][once]: run once; fcgi-run gets --mode explicitly.
#include <catch2/catch.hpp>

#include <string>

#include "tests/e2e/spawned_util.h"
#include "tests/support/doc_snippet.h"

namespace fcgi::test {
namespace {

using namespace spawned;
using namespace std::chrono_literals;

template <typename Server>
Served ServedBy(Server& server, const std::string& root) {
  Served s;
  s.url = [&server](const std::string& path) { return server.Url(path); };
  s.port = server.port();
  s.log = [&server] { return server.ErrorLog(); };
  s.root = root;
  return s;
}

constexpr const char* kPage = "docs/guide/web-servers.md";

TEST_CASE("spawned: lighttpd bin-path runs fcgi-run --root for every .cgi (the documented block)",
          "[e2e][spawned][once][lighttpd]") {
  DocumentRoot root(ServedPrograms());
  TempDir run("fcgi-run-lighttpd-run");  // for /run/lighttpd: www-data's, as Debian's is
  const std::string socket_dir = MakeServerStateDir(run);
  LighttpdOptions o;
  o.document_root = root.path();
  o.fastcgi_config = Substitute(
      DocSnippet(kPage, "lighttpd"),
      {{"/run/lighttpd", socket_dir}, {"/usr/bin/fcgi-run", FcgiRunBinary()}, {"/srv/www", root.path()}});
  std::string needle = "--root " + root.path();
  {
    Lighttpd server(o);
    CheckAll(ServedBy(server, root.path()));
  }
  // lighttpd stopped (SIGTERM): fcgi-run and the parked programs went with it.
  bool gone = WaitUntil([&] { return ProcessesMatching(root.path()).empty(); }, 10000ms);
  INFO("left over:\n" << (ProcessesMatching(root.path()).empty() ? "" : ProcessesMatching(root.path())[0]));
  CHECK(gone);
}

TEST_CASE("spawned: h2o fastcgi.spawn runs fcgi-run --root for every .cgi (the documented block)",
          "[e2e][spawned][once][h2o]") {
  DocumentRoot root(ServedPrograms());
  H2oOptions o;
  o.document_root = root.path();
  o.hosts_config = Substitute(DocSnippet(kPage, "h2o"),
                              {{"/usr/bin/fcgi-run", FcgiRunBinary()}, {"/srv/www", root.path()}});
  {
    H2o server(o);
    Served s = ServedBy(server, root.path());
    CheckAll(s);
    // fcgi-run found h2o's pipe on fd 5 by itself.
    CHECK(WaitUntil(
        [&] { return server.ErrorLog().find("watching fd 5 from the parent") != std::string::npos; },
        5000ms));
  }
  bool gone = WaitUntil([&] { return ProcessesMatching(root.path()).empty(); }, 10000ms);
  INFO("left over:\n" << (ProcessesMatching(root.path()).empty() ? "" : ProcessesMatching(root.path())[0]));
  CHECK(gone);
}

}  // namespace
}  // namespace fcgi::test
