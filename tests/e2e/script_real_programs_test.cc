// End-to-end: real Perl and Python CGI programs that Debian packages, parked
// after their compilation, against fcgiwrap: awstats (awstats.pl, Perl, 690
// KB), cvsweb (Perl, -T), gitweb (Perl, 8,000 lines) and Mercurial's hgweb.cgi
// (Python 3, #!/usr/bin/env python3). Each is copied unmodified into a
// cgi-bin directory (hgweb.cgi with its repository path filled in, as its
// comment asks), given a repository or log to show, and served by fcgi-run
// in dispatcher mode and by fcgiwrap, each behind its own nginx with the same
// configuration (same Host, SERVER_NAME and SERVER_PORT); the same pages are
// requested from both, one right after the other, and must be identical:
// status, headers (but Date, and the pages' own clock: Last-Modified and
// Expires) and body. Both sides run with one hash seed (the parked
// interpreters are started with it too), as some pages come out in hash order.
#include <sys/stat.h>
#include <catch2/catch.hpp>

#include <cctype>
#include <ctime>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "tests/e2e/fork_mode_util.h"
#include "tests/e2e/script_park_util.h"
#include "tests/support/fcgi_run_server.h"
#include "tests/support/http_client.h"
#include "tests/support/process.h"
#include "tests/support/temp_dir.h"
#include "tests/support/web_servers.h"

namespace fcgi::test {
namespace {

using namespace scriptpark;

bool Installed(const std::string& path) { return std::filesystem::exists(path); }

void Shell(const std::string& script) {
  CommandResult r = RunCommand({"sh", "-ec", script}, "", Seconds(120));
  INFO(script << "\n" << r.out << r.err);
  REQUIRE(r.ExitCode() == 0);
}

// nginx's locations for the cgi-bin directory: fcgiwrap's usual block, with
// the parameters that name the server fixed, so that both stacks send the
// same ones (each nginx listens on its own port).
std::string Locations(const std::string& root) {
  return "location /cgi-bin/ {\n"
         "  root " +
         root +
         ";\n"
         "  fastcgi_split_path_info ^(/cgi-bin/[^/]+)(/.*)?$;\n"
         "  fastcgi_param SCRIPT_FILENAME $document_root$fastcgi_script_name;\n"
         "  fastcgi_param SCRIPT_NAME $fastcgi_script_name;\n"
         "  fastcgi_param PATH_INFO $fastcgi_path_info;\n"
         "  fastcgi_param QUERY_STRING $query_string;\n"
         "  fastcgi_param REQUEST_METHOD $request_method;\n"
         "  fastcgi_param CONTENT_TYPE $content_type;\n"
         "  fastcgi_param CONTENT_LENGTH $content_length;\n"
         "  fastcgi_param REQUEST_URI $request_uri;\n"
         "  fastcgi_param DOCUMENT_URI $document_uri;\n"
         "  fastcgi_param DOCUMENT_ROOT $document_root;\n"
         "  fastcgi_param SERVER_PROTOCOL $server_protocol;\n"
         "  fastcgi_param REQUEST_SCHEME http;\n"
         "  fastcgi_param GATEWAY_INTERFACE CGI/1.1;\n"
         "  fastcgi_param SERVER_SOFTWARE nginx;\n"
         "  fastcgi_param REMOTE_ADDR $remote_addr;\n"
         "  fastcgi_param SERVER_ADDR 127.0.0.1;\n"
         "  fastcgi_param SERVER_PORT 80;\n"
         "  fastcgi_param SERVER_NAME example.test;\n"
         // One hash seed for every process on both sides: Perl and Python order
         // some output (cvsweb's hidden form fields) by hash, which differs from
         // one fresh process to the next (fcgiwrap's own runs differ).
         "  fastcgi_param PERL_HASH_SEED 0;\n"
         "  fastcgi_param PERL_PERTURB_KEYS 0;\n"
         "  fastcgi_param PYTHONHASHSEED 0;\n"
         "  fastcgi_param GITWEB_CONFIG " +
         root +
         "/gitweb.conf;\n"
         "  fastcgi_pass fcgi_backend;\n"
         "}\n";
}

// The headers that must match: all but the clock's.
std::string ComparableHeaders(const HttpResponse& r) {
  std::string out;
  for (const auto& [name, value] : r.headers) {
    std::string lower;
    for (char c : name) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (lower == "date" || lower == "last-modified" || lower == "expires") continue;
    out += lower + ": " + value + "\n";
  }
  return out;
}

TEST_CASE(
    "scripts: Debian's awstats, cvsweb, gitweb and hgweb.cgi parked after compilation, "
    "pages identical to fcgiwrap's",
    "[e2e][fork][scripts][real]") {
  TempDir www("fcgi-run-real");
  const std::string root = www.path();
  const std::string bin = www.MakeDir("cgi-bin");
  std::vector<std::string> pages;

  // awstats: its own CGI, a config next to it, statistics built from a log.
  if (Installed("/usr/lib/cgi-bin/awstats.pl")) {
    std::filesystem::copy_file("/usr/lib/cgi-bin/awstats.pl", bin + "/awstats.pl");
    www.MakeDir("awstats-data");
    // Hosts and pages with distinct counts: awstats sorts by count, and ties
    // come out in hash order, which differs from one perl process to the next.
    std::string log;
    const std::time_t start = std::time(nullptr) - 3600;
    const int host_hits[] = {1, 3, 5, 7, 9}, page_hits[] = {1, 2, 3, 4, 5, 10};
    std::vector<int> hosts, page_of;
    for (int h = 0; h < 5; ++h) hosts.insert(hosts.end(), static_cast<size_t>(host_hits[h]), h);
    for (int p = 0; p < 6; ++p) page_of.insert(page_of.end(), static_cast<size_t>(page_hits[p]), p);
    for (size_t i = 0; i < hosts.size(); ++i) {
      std::time_t t = start + static_cast<std::time_t>(i) * 30;
      char when[64];
      std::strftime(when, sizeof when, "%d/%b/%Y:%H:%M:%S +0000", std::gmtime(&t));
      log += "127.0.0." + std::to_string(hosts[i] + 1) + " - - [" + when + "] \"GET /page" +
             std::to_string(page_of[i]) + ".html HTTP/1.1\" 200 " + std::to_string(1000 + i) +
             " \"-\" \"Mozilla/5.0 (X11; Linux x86_64)\"\n";
    }
    www.WriteFile("access.log", log);
    www.WriteFile("cgi-bin/awstats.test.conf",
                  "LogFile=\"" + root +
                      "/access.log\"\nLogType=W\nLogFormat=1\n"
                      "SiteDomain=\"example.test\"\nHostAliases=\"localhost 127.0.0.1\"\nDNSLookup=0\n"
                      "DirData=\"" +
                      root +
                      "/awstats-data\"\nDirCgi=\"/cgi-bin\"\nDirIcons=\"/awstats-icon\"\n"
                      "AllowToUpdateStatsFromBrowser=0\nLang=\"en\"\nDirLang=\"/usr/share/awstats/lang\"\n");
    Shell("perl '" + bin + "/awstats.pl' -config=test -update >/dev/null");
    for (const char* q : {"config=test", "config=test&framename=mainright", "config=test&framename=mainleft",
                          "config=test&output=urldetail", "config=test&output=allhosts",
                          "config=test&output=browserdetail", "config=nonexistent"}) {
      pages.push_back(std::string("/cgi-bin/awstats.pl?") + q);
    }
  }
  // cvsweb (#!/usr/bin/perl -T): a CVS repository with a module of two revisions.
  if (Installed("/usr/lib/cgi-bin/cvsweb") && Installed("/usr/bin/cvs") && Installed("/usr/bin/rlog")) {
    std::filesystem::copy_file("/usr/lib/cgi-bin/cvsweb", bin + "/cvsweb.cgi");
    std::string conf = ReadFile("/etc/cvsweb/cvsweb.conf");
    const std::string from = "'local'   => ['Local Repository', '/var/lib/cvs'],";
    REQUIRE(conf.find(from) != std::string::npos);
    conf.replace(conf.find(from), from.size(), "'local' => ['Local Repository', '" + root + "/cvsroot'],");
    www.WriteFile("cgi-bin/cvsweb.conf", conf);
    Shell(
        "cd '" + root + "' && export CVSROOT='" + root +
        "/cvsroot' && cvs -Q init && mkdir src && cd src && "
        "printf 'hello\\n' > hello.txt && printf 'int main() { return 0; }\\n' > main.c && "
        "cvs -Q import -m 'first import' demo vendor start && cd .. && rm -rf src && cvs -Q checkout demo && "
        "cd demo && printf 'hello\\nworld\\n' > hello.txt && cvs -Q commit -m 'second line' hello.txt && "
        // Revisions dated years ago: cvsweb shows ages ('15 seconds ago') that would tick between the
        // requests.
        "perl -pi -e 's/^date\\s+\\S+;/\"date\\t2020.01.0\" . ++$n . \".10.00.00;\"/e' "
        "'" +
        root + "'/cvsroot/demo/*,v");
    for (const char* p :
         {"/cgi-bin/cvsweb.cgi/", "/cgi-bin/cvsweb.cgi/demo/", "/cgi-bin/cvsweb.cgi/demo/hello.txt",
          "/cgi-bin/cvsweb.cgi/demo/hello.txt?rev=1.2", "/cgi-bin/cvsweb.cgi/~checkout~/demo/hello.txt",
          "/cgi-bin/cvsweb.cgi/demo/hello.txt.diff?r1=1.1;r2=1.2;f=h",
          "/cgi-bin/cvsweb.cgi/demo/hello.txt?annotate=1.2", "/cgi-bin/cvsweb.cgi/nothing/"}) {
      pages.push_back(p);
    }
  }
  // gitweb: a repository of two commits.
  if (Installed("/usr/share/gitweb/gitweb.cgi") && Installed("/usr/bin/git")) {
    std::filesystem::copy_file("/usr/share/gitweb/gitweb.cgi", bin + "/gitweb.cgi");
    www.WriteFile("gitweb.conf",
                  "our $projectroot = \"" + root + "/git\";\nour $git_temp = \"" + root + "\";\n");
    Shell("mkdir -p '" + root + "/git' && cd '" + root +
          "/git' && git init -q demo.git && cd demo.git && "
          "git config user.email a@example.test && git config user.name Ada && "
          "printf 'hello\\n' > hello.txt && git add hello.txt && "
          "GIT_AUTHOR_DATE='2024-01-01T10:00:00Z' GIT_COMMITTER_DATE='2024-01-01T10:00:00Z' git commit -qm "
          "first && "
          "printf 'hello\\nworld\\n' > hello.txt && "
          "GIT_AUTHOR_DATE='2024-01-02T10:00:00Z' GIT_COMMITTER_DATE='2024-01-02T10:00:00Z' git commit -qam "
          "second");
    for (const char* p :
         {"/cgi-bin/gitweb.cgi", "/cgi-bin/gitweb.cgi?p=demo.git;a=summary",
          "/cgi-bin/gitweb.cgi?p=demo.git;a=log", "/cgi-bin/gitweb.cgi?p=demo.git;a=tree",
          "/cgi-bin/gitweb.cgi?p=demo.git;a=blob_plain;f=hello.txt;hb=HEAD",
          "/cgi-bin/gitweb.cgi?p=demo.git;a=commitdiff;h=HEAD", "/cgi-bin/gitweb.cgi?p=nope.git"}) {
      pages.push_back(p);
    }
  }
  // Mercurial's hgweb.cgi (#!/usr/bin/env python3).
  const std::string hgweb = "/usr/share/doc/mercurial-common/examples/hgweb.cgi";
  if (Installed(hgweb) && Installed("/usr/bin/hg")) {
    std::string text = ReadFile(hgweb);
    const std::string from = "b\"/path/to/repo/or/config\"";
    REQUIRE(text.find(from) != std::string::npos);
    text.replace(text.find(from), from.size(), "b\"" + root + "/hg\"");
    WriteScript(www, "cgi-bin/hgweb.cgi", text);
    Shell("cd '" + root +
          "' && hg init hg && cd hg && printf 'hello\\n' > hello.txt && hg add -q hello.txt && "
          "hg commit -q -u Ada -d '2024-01-01 10:00 +0000' -m first && printf 'hello\\nworld\\n' > hello.txt "
          "&& "
          "hg commit -q -u Ada -d '2024-01-02 10:00 +0000' -m second");
    for (const char* p :
         {"/cgi-bin/hgweb.cgi", "/cgi-bin/hgweb.cgi/log", "/cgi-bin/hgweb.cgi/file/tip/hello.txt",
          "/cgi-bin/hgweb.cgi/raw-file/tip/hello.txt", "/cgi-bin/hgweb.cgi/rev/1",
          "/cgi-bin/hgweb.cgi/shortlog?style=raw", "/cgi-bin/hgweb.cgi/file/tip/missing"}) {
      pages.push_back(p);
    }
  }
  REQUIRE(pages.size() >= 20);  // scripts/install-deps installs all four

  // fcgi-run (dispatcher mode, fork: scripts parked after compilation) and fcgiwrap.
  FcgiRunOptions o;
  o.pass_mode = false;
  o.flags = {"--mode",         "fork",
             "--root",         root,
             "--workers",      "4",
             "--park-timeout", "30",  // compiling awstats or mercurial takes seconds on a loaded machine
             "--env",          "PERL_HASH_SEED=0",
             "--env",          "PERL_PERTURB_KEYS=0",
             "--env",          "PYTHONHASHSEED=0"};
  FcgiRun app(o);
  TempDir wrap_dir("fcgi-run-fcgiwrap");
  const std::string wrap_socket = wrap_dir.File("fcgiwrap.sock");
  ProcessOptions wo;
  wo.argv = {"/usr/sbin/fcgiwrap", "-f", "-c", "4", "-s", "unix:" + wrap_socket};
  wo.env = MinimalEnv();
  wo.stderr_path = wrap_dir.File("fcgiwrap.log");
  Process wrap(wo);
  REQUIRE(pc::WaitFor([&] { return Installed(wrap_socket); }, std::chrono::milliseconds(5000)));
  NginxOptions ours, theirs;
  ours.fcgi_address = app.address();
  ours.locations = Locations(root);
  theirs.fcgi_address = "unix:" + wrap_socket;
  theirs.locations = Locations(root);
  Nginx ours_nginx(ours), theirs_nginx(theirs);

  for (int round = 0; round < 2; ++round) {  // the second round: every script parked already
    for (const std::string& page : pages) {
      CurlRequest request;
      request.headers = {"Host: example.test", "Accept-Language: en"};
      request.url = theirs_nginx.Url(page);
      HttpResponse expected = Curl(request);
      request.url = ours_nginx.Url(page);
      HttpResponse got = Curl(request);
      INFO("page " << page << " round " << round << "\nfcgiwrap: " << expected.status_line << " "
                   << expected.error << "\nfcgi-run: " << got.status_line << " " << got.error << "\n"
                   << app.Log().substr(app.Log().size() > 6000 ? app.Log().size() - 6000 : 0));
      REQUIRE(expected.ok);
      REQUIRE(got.ok);
      CHECK(got.status == expected.status);
      CHECK(ComparableHeaders(got) == ComparableHeaders(expected));
      CHECK(got.body == expected.body);
    }
  }
  const std::string log = app.Log();
  INFO(log);
  for (const std::string name :
       {"awstats.pl (perl)", "cvsweb.cgi (perl)", "gitweb.cgi (perl)", "hgweb.cgi (python)"}) {
    CHECK(forkmode::Count(log, "/" + name + " parked after compilation as pid ") == 1);
  }
  CHECK(log.find("is not parked after compilation") == std::string::npos);
}

}  // namespace
}  // namespace fcgi::test
