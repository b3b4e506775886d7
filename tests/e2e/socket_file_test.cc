// End-to-end: the unix socket file fcgi-run creates. Its owner defaults to
// the user the programs run as, so nginx running as www-data connects after
// `--user www-data` alone; the "listening on" line says owner and mode; the
// file is removed at every stop, also once fcgi-run has dropped to a user
// that may not unlink it; --check-config refuses an owner fcgi-run could not
// give, and a start that fails leaves no file behind.
// Mode-independent ([once]).
#include <pwd.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "tests/support/fcgi_run_server.h"
#include "tests/support/http_client.h"
#include "tests/support/process.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_paths.h"
#include "tests/support/web_servers.h"

namespace fcgi::test {
namespace {

bool Exists(const std::string& path) {
  struct stat st;
  return lstat(path.c_str(), &st) == 0;
}

// hello.cgi with --user www-data. The socket's directory is the harness's,
// root's 0755 (as /run is): www-data may not unlink in it.
FcgiRunOptions HelloAsWwwData() {
  FcgiRunOptions o;
  o.program = Example("hello.cgi");
  o.flags = {"--user", "www-data"};
  return o;
}

TEST_CASE("socket file: --user www-data gives the socket to www-data; SIGTERM removes it",
          "[e2e][socket][once]") {
  if (geteuid() != 0) {
    WARN("not run: needs root (changes user)");
    return;
  }
  FcgiRun app(HelloAsWwwData());
  const std::string path = app.address().substr(5);
  const passwd* www = getpwnam("www-data");
  REQUIRE(www != nullptr);
  struct stat st;
  REQUIRE(stat(path.c_str(), &st) == 0);
  CHECK(st.st_uid == www->pw_uid);
  CHECK(st.st_gid == www->pw_gid);
  CHECK((st.st_mode & 07777) == 0660);
  CHECK(
      app.LogContains("listening on " + app.address() + " (www-data:www-data 0660, owner from --user) for "));

  NginxOptions n;
  n.fcgi_address = app.address();
  n.script_filename = Example("hello.cgi");
  n.user = "www-data";
  {
    Nginx nginx(n);
    HttpResponse r = CurlGet(nginx.Url("/"));
    INFO(r.error << r.body << "\n--- fcgi-run:\n" << app.Log() << "\n--- nginx:\n" << nginx.ErrorLog());
    CHECK(r.status == 200);
    CHECK(r.body == "Hello, world!\n");
  }

  CHECK(DescribeWaitStatus(app.Stop()) == "exit 0");
  INFO(app.Log());
  CHECK(!Exists(path));
  CHECK(app.Log().find("removed socket " + path) != std::string::npos);
}

TEST_CASE("socket file: removed even when fcgi-run dropped to --user is killed", "[e2e][socket][once]") {
  if (geteuid() != 0) {
    WARN("not run: needs root (changes user)");
    return;
  }
  FcgiRun app(HelloAsWwwData());
  const std::string path = app.address().substr(5);
  REQUIRE(Exists(path));
  // The remover is forked after the socket is bound: killed before that,
  // fcgi-run leaves the file (nothing that keeps root runs yet).
  INFO(app.Log());
  REQUIRE(app.LogContains("keeps root to remove the socket files at exit"));
  app.process().Signal(SIGKILL);
  app.process().Wait(Seconds(5));
  // The process that kept root sees fcgi-run go and removes the file.
  bool gone = false;
  for (int i = 0; i < 250 && !gone; ++i) {
    gone = !Exists(path);
    if (!gone) usleep(20000);
  }
  CHECK(gone);
}

// fcgi-run started as nobody (setpriv), with a socket directory nobody may write.
struct AsNobody {
  TempDir dir{"fcgi-run-nobody"};
  std::string sockets = dir.MakeDir("sockets");
  std::string path = sockets + "/app.sock";
  AsNobody() { chmod(sockets.c_str(), 0777); }
  std::vector<std::string> Command(const std::vector<std::string>& options) const {
    std::vector<std::string> argv = {"setpriv",        "--reuid=nobody", "--regid=nogroup",
                                     "--clear-groups", FcgiRunBinary(),  "--listen",
                                     "unix:" + path,   "--mode",         "exec"};
    argv.insert(argv.end(), options.begin(), options.end());
    argv.push_back(Example("hello.cgi"));
    return argv;
  }
};

TEST_CASE("socket file: as nobody, --socket-owner www-data fails --check-config and start, leaving no file",
          "[e2e][socket][once]") {
  if (geteuid() != 0) {
    WARN("not run: needs root (setpriv)");
    return;
  }
  AsNobody nobody;
  CommandResult check = RunCommand(nobody.Command({"--socket-owner", "www-data", "--check-config"}));
  INFO(check.out << check.err);
  CHECK(check.ExitCode() == 2);
  CHECK(check.out.find("configuration OK") == std::string::npos);
  CHECK(check.err.find(
            "--socket-owner www-data: giving the socket to another user needs root (or CAP_CHOWN)") !=
        std::string::npos);

  CommandResult start = RunCommand(nobody.Command({"--socket-owner", "www-data"}), "", Seconds(10));
  INFO(start.out << start.err);
  CHECK(start.ExitCode() == 1);
  CHECK(start.err.find("--socket-owner www-data: giving the socket to another user needs root") !=
        std::string::npos);
  CHECK(!Exists(nobody.path));

  // Its own group is fine: --check-config says so.
  CommandResult own = RunCommand(nobody.Command({"--socket-owner", "nobody:nogroup", "--check-config"}));
  INFO(own.out << own.err);
  CHECK(own.Succeeded());
}

}  // namespace
}  // namespace fcgi::test
