// Shared by the dispatcher-mode suites (dispatcher_test.cc, security_test.cc):
// a document root with CGI scripts, symlinks in and out of it, and fcgi-run in
// dispatcher mode behind nginx configured the way fcgiwrap is.
//
//   <tmp>/root/cgi-bin/app.cgi       prints its ids and CGI variables
//   <tmp>/root/cgi-bin/tool.pl       the same, another name and extension
//   <tmp>/root/cgi-bin/slow.cgi      sleeps 1 s, then answers
//   <tmp>/root/cgi-bin/data.txt      not executable
//   <tmp>/root/cgi-bin/sub/          a directory
//   <tmp>/root/cgi-bin/inside.cgi    -> app.cgi (symlink inside the root)
//   <tmp>/root/cgi-bin/escape.cgi    -> <tmp>/outside/secret.cgi (symlink out)
//   <tmp>/outside/secret.cgi         executable, prints SECRET: must never run
#ifndef FCGI_RUN_TESTS_E2E_DISPATCHER_UTIL_H_
#define FCGI_RUN_TESTS_E2E_DISPATCHER_UTIL_H_

#include <sys/stat.h>
#include <unistd.h>

#include <stdexcept>
#include <string>
#include <vector>

#include "tests/support/fcgi_run_server.h"
#include "tests/support/fcgi_test_client.h"
#include "tests/support/temp_dir.h"
#include "tests/support/web_servers.h"

namespace fcgi::test {

inline constexpr const char* kAppScript =
    "#!/bin/sh\n"
    "printf 'Content-Type: text/plain\\r\\n\\r\\n'\n"
    "echo \"script=$(basename \"$0\")\"\n"
    "echo \"uid=$(id -u) ruid=$(id -ru) gid=$(id -g) groups=$(id -G)\"\n"
    "echo \"SCRIPT_NAME=$SCRIPT_NAME\"\n"
    "echo \"PATH_INFO=$PATH_INFO\"\n"
    "echo \"PATH_TRANSLATED=$PATH_TRANSLATED\"\n"
    "echo \"SCRIPT_FILENAME=$SCRIPT_FILENAME\"\n"
    "echo \"QUERY_STRING=$QUERY_STRING\"\n"
    "echo \"HTTP_PROXY=${HTTP_PROXY-unset}\"\n"
    "echo \"HTTP_X_TEST=${HTTP_X_TEST-unset}\"\n"
    "echo \"cwd=$(pwd)\"\n";

struct DocRoot {
  TempDir dir{"fcgi-run-docroot"};
  std::string root = dir.MakeDir("root");
  std::string cgi_bin = dir.MakeDir("root/cgi-bin");
  std::string outside = dir.MakeDir("outside");

  DocRoot() {
    Script("root/cgi-bin/app.cgi", kAppScript);
    Script("root/cgi-bin/tool.pl", kAppScript);
    Script("root/cgi-bin/slow.cgi",
           "#!/bin/sh\nsleep 1\nprintf 'Content-Type: text/plain\\r\\n\\r\\nslow done\\n'\n");
    dir.WriteFile("root/cgi-bin/data.txt", "not a program\n");
    dir.MakeDir("root/cgi-bin/sub");
    Script("outside/secret.cgi", "#!/bin/sh\nprintf 'Content-Type: text/plain\\r\\n\\r\\nSECRET\\n'\n");
    Symlink("app.cgi", cgi_bin + "/inside.cgi");
    Symlink(outside + "/secret.cgi", cgi_bin + "/escape.cgi");
  }
  std::string Script(const std::string& name, const std::string& text) {
    std::string path = dir.WriteFile(name, text);
    chmod(path.c_str(), 0755);
    return path;
  }
  static void Symlink(const std::string& target, const std::string& link) {
    if (symlink(target.c_str(), link.c_str()) != 0) throw std::runtime_error("symlink " + link);
  }
};

// fcgi-run --root <root> [flags] (dispatcher mode).
inline FcgiRunOptions DispatcherOptions(const DocRoot& doc, std::vector<std::string> flags = {},
                                        const std::string& listen = "unix") {
  FcgiRunOptions o;
  o.program = "";
  o.listen = listen;
  o.socket_mode = "0666";
  o.flags = {"--root", doc.root};
  o.flags.insert(o.flags.end(), flags.begin(), flags.end());
  return o;
}

// nginx as fcgiwrap's documentation sets it up: `root` + SCRIPT_FILENAME =
// $document_root$fastcgi_script_name under /cgi-bin/; plus /q/, a careless
// location that takes the script from the query (?script=/path, not
// normalised by nginx), to get traversal attempts through to fcgi-run.
inline NginxOptions DispatcherNginx(const FcgiRun& app, const DocRoot& doc) {
  NginxOptions o;
  o.fcgi_address = app.address();
  o.locations = "    root " + doc.root +
                ";\n"
                "    location /cgi-bin/ {\n"
                "      include /etc/nginx/fastcgi_params;\n"
                "      fastcgi_param SCRIPT_FILENAME $document_root$fastcgi_script_name;\n"
                "      fastcgi_pass fcgi_backend;\n"
                "    }\n"
                "    location /q/ {\n"
                "      include /etc/nginx/fastcgi_params;\n"
                "      fastcgi_param SCRIPT_FILENAME $document_root$arg_script;\n"
                "      fastcgi_pass fcgi_backend;\n"
                "    }\n";
  return o;
}

// One raw FastCGI request to `app`; the CGI response it produced.
inline CgiResponse RawRequest(const FcgiRun& app, const NameValuePairs& params, FcgiResponse* raw = nullptr) {
  FcgiTestClient client;
  Status s = client.Connect(app.address());
  if (!s.ok()) throw std::runtime_error("connect: " + s.message());
  FcgiResponse r = client.Request(params);
  if (raw != nullptr) *raw = r;
  return SplitCgiResponse(r.stdout_data);
}

}  // namespace fcgi::test

#endif  // FCGI_RUN_TESTS_E2E_DISPATCHER_UTIL_H_
