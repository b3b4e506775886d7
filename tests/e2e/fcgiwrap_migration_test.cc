// End-to-end: docs/guide/migrating-from-fcgiwrap.md as written. One fcgi-run,
// started with the page's command line, serves a cgi-bin tree, cgit and
// git-http-backend behind nginx configured with the page's blocks (nginx's
// workers run as www-data, as packaged nginx does); the test replaces only
// the page's placeholder paths. It browses cgit, clones, pushes a commit and
// finds it in cgit. The command has no --mode: fork mode, fcgi-run's default
// ([fork]: run in the fork variant only).
// Also single-program mode's warning when SCRIPT_FILENAME names another program.
#include <pwd.h>
#include <sys/stat.h>

#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "tests/e2e/dispatcher_util.h"
#include "tests/support/doc_snippet.h"
#include "tests/support/http_client.h"
#include "tests/support/process.h"
#include "tests/support/test_paths.h"

namespace fcgi::test {
namespace {

constexpr const char* kPage = "docs/guide/migrating-from-fcgiwrap.md";

// git as the test user, with nothing of the machine's git configuration.
CommandResult Git(const TempDir& home, const std::vector<std::string>& args) {
  std::vector<std::string> argv = {"git"};
  argv.insert(argv.end(), args.begin(), args.end());
  std::vector<std::string> env = MinimalEnv();
  env.insert(env.end(), {"HOME=" + home.path(), "GIT_CONFIG_NOSYSTEM=1", "GIT_TERMINAL_PROMPT=0",
                         "GIT_AUTHOR_NAME=Test", "GIT_AUTHOR_EMAIL=test@example.org",
                         "GIT_COMMITTER_NAME=Test", "GIT_COMMITTER_EMAIL=test@example.org"});
  return RunCommand(argv, "", Seconds(60), env);
}

void RequireGit(const TempDir& home, const std::vector<std::string>& args) {
  CommandResult r = Git(home, args);
  std::string cmd;
  for (const auto& a : args) cmd += a + " ";
  INFO("git " << cmd << "\n" << r.out << r.err);
  REQUIRE(r.Succeeded());
}

// /srv/git with repo.git (one commit, pushes allowed), owned by www-data.
struct GitRepos {
  TempDir home{"fcgi-run-git"};
  std::string root = home.MakeDir("git");
  std::string bare = root + "/repo.git";

  GitRepos() {
    RequireGit(home, {"init", "-q", "--bare", "-b", "main", bare});
    RequireGit(home, {"config", "--file", bare + "/config", "http.receivepack", "true"});
    const std::string seed = home.MakeDir("seed");
    home.WriteFile("seed/README", "a repository served by cgit through fcgi-run\n");
    RequireGit(home, {"-C", seed, "init", "-q", "-b", "main"});
    RequireGit(home, {"-C", seed, "add", "README"});
    RequireGit(home, {"-C", seed, "commit", "-q", "-m", "first commit from the test"});
    RequireGit(home, {"-C", seed, "push", "-q", bare, "main"});
    REQUIRE(RunCommand({"chown", "-R", "www-data:www-data", root}).Succeeded());
  }
};

TEST_CASE("migration: one fcgi-run serves a cgi-bin tree, cgit and git-http-backend as documented",
          "[e2e][migration][fork]") {
  DocRoot doc;
  GitRepos git;
  TempDir run("fcgi-run-run");  // stands for /run: root's, as /run is
  const std::string address = "unix:" + run.File("fcgiwrap.socket");
  const std::string cgitrc =
      git.home.WriteFile("cgitrc", Substitute(DocSnippet(kPage, "cgitrc"), {{"/srv/git", git.root}}));

  std::vector<std::string> words = CommandWords(DocSnippet(kPage, "fcgiwrap-command"));
  REQUIRE(words.at(0) == "fcgi-run");
  FcgiRunOptions o;
  o.listen = address;
  o.command.assign(words.begin() + 1, words.end());
  int replaced = 0;
  for (std::string& w : o.command) {
    if (w == "unix:/run/fcgiwrap.socket") w = address, ++replaced;
    if (w == "/srv/www") w = doc.root, ++replaced;
  }
  REQUIRE(replaced == 2);
  FcgiRun app(o);

  NginxOptions n;
  n.user = "www-data";
  n.locations = Substitute(DocSnippet(kPage, "nginx-cgi-bin") + DocSnippet(kPage, "nginx-cgit") +
                               DocSnippet(kPage, "nginx-git-http-backend"),
                           {{"unix:/run/fcgiwrap.socket", address},
                            {"/srv/www", doc.root},
                            {"/etc/cgitrc", cgitrc},
                            {"/srv/git", git.root}});
  Nginx nginx(n);
  auto diagnostics = [&] {
    return "--- fcgi-run:\n" + app.Log() + "\n--- nginx:\n" + nginx.ErrorLog() + "\n--- nginx.conf:\n" +
           nginx.config();
  };
  const passwd* www = getpwnam("www-data");
  REQUIRE(www != nullptr);

  // The socket is www-data's: nginx's workers (www-data) connect.
  struct stat st;
  REQUIRE(stat(run.File("fcgiwrap.socket").c_str(), &st) == 0);
  CHECK(st.st_uid == www->pw_uid);
  CHECK((st.st_mode & 07777) == 0660);
  CHECK(app.LogContains("listening on " + address + " (www-data:www-data 0660, owner from --program-user)"));

  SECTION("the cgi-bin tree") {
    HttpResponse r = CurlGet(nginx.Url("/cgi-bin/app.cgi/extra/path?q=1"));
    INFO(r.error << r.body << diagnostics());
    REQUIRE(r.status == 200);
    CHECK(r.body.find("PATH_INFO=/extra/path\n") != std::string::npos);
    CHECK(r.body.find("uid=" + std::to_string(www->pw_uid) + " ") != std::string::npos);
    CHECK(CurlGet(nginx.Url("/cgi-bin/escape.cgi")).status == 403);
  }

  SECTION("cgit pages, then clone, push, and the pushed commit in cgit") {
    HttpResponse index = CurlGet(nginx.Url("/cgit/"));
    INFO(index.error << index.body << diagnostics());
    REQUIRE(index.status == 200);
    CHECK(index.body.find("href='/cgit/repo.git/'") != std::string::npos);
    CHECK(index.body.find("/cgit-css/cgit.css") != std::string::npos);
    CHECK(CurlGet(nginx.Url("/cgit-css/cgit.css")).status == 200);

    // Each page is its own, not the index (PATH_INFO reaches cgit).
    HttpResponse log = CurlGet(nginx.Url("/cgit/repo.git/log/"));
    INFO(log.body);
    REQUIRE(log.status == 200);
    CHECK(log.body.find("first commit from the test") != std::string::npos);
    HttpResponse blob = CurlGet(nginx.Url("/cgit/repo.git/tree/README"));
    REQUIRE(blob.status == 200);
    CHECK(blob.body.find("a repository served by cgit through fcgi-run") != std::string::npos);
    HttpResponse summary = CurlGet(nginx.Url("/cgit/repo.git/"));
    INFO(summary.body);
    REQUIRE(summary.status == 200);
    // cgitrc's clone-url: $HTTP_HOST is nginx's $host (fastcgi_params), without the port.
    CHECK(summary.body.find("http://127.0.0.1/git/repo.git") != std::string::npos);
    const std::string clone_url = "http://127.0.0.1:" + std::to_string(nginx.port()) + "/git/repo.git";

    // git-http-backend: clone over HTTP, commit, push.
    const std::string work = git.home.File("work");
    RequireGit(git.home, {"clone", "-q", clone_url, work});
    CHECK(ReadFile(work + "/README") == "a repository served by cgit through fcgi-run\n");
    git.home.WriteFile("work/pushed.txt", "through nginx and fcgi-run\n");
    RequireGit(git.home, {"-C", work, "add", "pushed.txt"});
    RequireGit(git.home, {"-C", work, "commit", "-q", "-m", "pushed through fcgi-run"});
    CommandResult push = Git(git.home, {"-C", work, "push", "origin", "main"});
    INFO(push.out << push.err << diagnostics());
    REQUIRE(push.Succeeded());

    HttpResponse after = CurlGet(nginx.Url("/cgit/repo.git/log/"));
    REQUIRE(after.status == 200);
    CHECK(after.body.find("pushed through fcgi-run") != std::string::npos);
    CHECK(after.body.find("first commit from the test") != std::string::npos);
  }

  // SIGTERM: fcgi-run removes its socket and says so.
  CHECK(DescribeWaitStatus(app.Stop()) == "exit 0");
  CHECK(stat(run.File("fcgiwrap.socket").c_str(), &st) != 0);
  CHECK(app.Log().find("removed socket " + run.File("fcgiwrap.socket")) != std::string::npos);
}

// A web server set up for a dispatcher, in front of a single-program fcgi-run:
// every URL would run the one program. The first request naming another
// program is logged, once.
TEST_CASE("single-program mode logs once when SCRIPT_FILENAME names another program",
          "[e2e][migration][once]") {
  FcgiRunOptions o;
  o.program = Example("hello.cgi");
  FcgiRun app(o);
  for (const std::string& named : {Example("hello.cgi"), std::string("/no/such/program.cgi")}) {
    CgiResponse r = RawRequest(app, {{"REQUEST_METHOD", "GET"}, {"SCRIPT_FILENAME", named}});
    CHECK(r.body == "Hello, world!\n");
  }
  CHECK(app.Log().find("names another program") == std::string::npos);
  for (int i = 0; i < 3; ++i) {
    CgiResponse r = RawRequest(app, {{"REQUEST_METHOD", "GET"}, {"SCRIPT_FILENAME", Example("env.cgi")}});
    CHECK(r.body == "Hello, world!\n");  // still the one program
  }
  const std::string line = "SCRIPT_FILENAME " + Example("env.cgi") +
                           " names another program than the one this "
                           "fcgi-run serves";
  REQUIRE(app.LogContains(line));
  const std::string log = app.Log();
  CHECK(log.find(line) == log.rfind(line));  // once
}

}  // namespace
}  // namespace fcgi::test
