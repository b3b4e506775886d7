// libcompat's direct mode (direct_server.h): after DIRECT the persistent
// worker accepts FastCGI connections on the listener it was given and answers
// them itself. Real program, real shim; the test plays the launcher (HELLO,
// DIRECT, reading LOG / RETIRE / BYE) and the web server (a FastCGI client).
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include <catch2/catch.hpp>

#include <chrono>
#include <cstring>
#include <memory>
#include <optional>
#include <string>

#include "tests/libcompat/compat_harness.h"
#include "tests/support/fcgi_test_client.h"
#include "tests/support/temp_dir.h"

namespace fcgi::test {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
namespace proto = compat;

struct DirectOptions {
  uint32_t flags = proto::kDirectStderrToClient;
  uint32_t max_requests = 0;
  uint32_t listener_count = 1;  // what the header claims
  std::string base = std::string("BASE_VAR=from-launcher") + '\0';
  std::string overrides = std::string("SCRIPT_FILENAME=/overridden") + '\0';
};

// A shim message read straight from the control socket (LOG and RETIRE carry
// text after their header).
struct RawMessage {
  uint32_t type = 0;
  std::string bytes;
};

class DirectWorker {
 public:
  explicit DirectWorker(const DirectOptions& options = {})
      : worker_(std::vector<std::string>{CompatTestProgram("test_cgi")}, true,
                std::vector<std::string>{"FCGI_RUN_COMPAT_MODE=persistent"}) {
    auto hello = worker_.Next(seconds(5));
    REQUIRE(hello.has_value());
    REQUIRE(std::get_if<CompatHello>(&*hello) != nullptr);
    address_ = "unix:" + dir_.path() + "/direct.sock";
    listener_ = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(listener_ >= 0);
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    const std::string path = dir_.path() + "/direct.sock";
    std::strncpy(sa.sun_path, path.c_str(), sizeof sa.sun_path - 1);
    REQUIRE(bind(listener_, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0);
    REQUIRE(listen(listener_, 16) == 0);
    int slot = memfd_create("slot", MFD_CLOEXEC);
    REQUIRE(slot >= 0);
    REQUIRE(ftruncate(slot, 4096) == 0);
    void* memory = mmap(nullptr, 4096, PROT_READ, MAP_SHARED, slot, 0);
    REQUIRE(memory != MAP_FAILED);
    slot_ = static_cast<const proto::DirectSlot*>(memory);
    const std::string name = "test_cgi";
    proto::DirectHeader h{};
    h.type = proto::kDirect;
    h.flags = options.flags;
    h.listener_count = options.listener_count;
    h.max_params_bytes = 1 << 20;
    h.max_header_bytes = 64 * 1024;
    h.read_timeout_ms = 5000;
    h.max_requests = options.max_requests;
    h.fd_growth_requests = 3;
    h.max_extra_fds = 64;
    h.env_bytes = static_cast<uint32_t>(options.base.size());
    h.overrides_bytes = static_cast<uint32_t>(options.overrides.size());
    h.name_bytes = static_cast<uint32_t>(name.size());
    std::string message(reinterpret_cast<const char*>(&h), sizeof h);
    message += options.base + options.overrides + name;
    const int fds[2] = {listener_, slot};
    REQUIRE(worker_.Send(message, fds, 2));
    close(slot);
  }
  ~DirectWorker() {
    if (slot_ != nullptr) munmap(const_cast<proto::DirectSlot*>(slot_), 4096);
    if (listener_ >= 0) close(listener_);
  }

  const std::string& address() const { return address_; }
  ParkedProgram& process() { return worker_; }
  const proto::DirectSlot& slot() const { return *slot_; }

  FcgiResponse Get(NameValuePairs params, const std::string& body = "") {
    FcgiTestClient client;
    REQUIRE(client.Connect(address_).ok());
    params.emplace_back("CGI_HEADER", "1");
    params.emplace_back("REQUEST_METHOD", body.empty() ? "GET" : "POST");
    if (!body.empty()) params.emplace_back("CONTENT_LENGTH", std::to_string(body.size()));
    return client.Request(params, body, seconds(5));
  }

  // The next message from the shim, read directly (bounded).
  std::optional<RawMessage> NextRaw(milliseconds timeout) {
    pollfd p{worker_.fd(), POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return std::nullopt;
    char buffer[8192];
    ssize_t n = recv(worker_.fd(), buffer, sizeof buffer, 0);
    if (n < 4) return std::nullopt;
    RawMessage m;
    std::memcpy(&m.type, buffer, 4);
    m.bytes.assign(buffer, static_cast<size_t>(n));
    return m;
  }

 private:
  TempDir dir_;
  ParkedProgram worker_;
  std::string address_;
  int listener_ = -1;
  const proto::DirectSlot* slot_ = nullptr;
};

std::string Body(const FcgiResponse& r) {
  const size_t end = r.stdout_data.find("\r\n\r\n");
  return end == std::string::npos ? r.stdout_data : r.stdout_data.substr(end + 4);
}

TEST_CASE("compat direct: the worker answers FastCGI requests itself, main() runs again and again",
          "[compat][direct]") {
  DirectWorker w;
  FcgiResponse first = w.Get({{"REQ", "one"}});
  INFO(first.Describe());
  REQUIRE(first.ok());
  CHECK(first.stdout_data.rfind("Content-Type: text/plain\r\n\r\n", 0) == 0);
  CHECK(Body(first).find("counter=1\n") != std::string::npos);  // the global of a persistent worker
  CHECK(Body(first).find("REQ=one\n") != std::string::npos);
  FcgiResponse second = w.Get({{"REQ", "two"}, {"EXIT", "3"}}, "the-body");
  INFO(second.Describe());
  REQUIRE(second.ended);
  CHECK(second.app_status == 3);  // main()'s result, as END_REQUEST's appStatus
  CHECK(Body(second).find("counter=2\n") != std::string::npos);
  CHECK(Body(second).find("REQ=two\n") != std::string::npos);
  CHECK(Body(second).find("stdin=the-body\n") != std::string::npos);
  FcgiResponse third = w.Get({{"REQ", "three"}});
  CHECK(Body(third).find("stdin=\n") != std::string::npos);  // no byte of the last body
  CHECK(Body(third).find("REQ=three\n") != std::string::npos);
  CHECK(w.slot().requests == 3);
  CHECK(w.slot().started_ns == 0);
}

TEST_CASE("compat direct: the environment is built as the launcher builds it", "[compat][direct]") {
  DirectWorker w;
  FcgiTestClient client;
  REQUIRE(client.Connect(w.address()).ok());
  FcgiResponse r = client.Request({{"CGI_HEADER", "1"},
                                   {"REQUEST_METHOD", "GET"},
                                   {"MODE", "system"},
                                   {"SCRIPT_FILENAME", "/from/web/server"},
                                   {"HTTP_PROXY", "http://evil"}},
                                  "", seconds(5));
  INFO(r.Describe());
  REQUIRE(r.ok());
  const std::string env = Body(r);
  CHECK(env.find("BASE_VAR=from-launcher\n") != std::string::npos);       // --env
  CHECK(env.find("SCRIPT_FILENAME=/overridden\n") != std::string::npos);  // program resolution wins
  CHECK(env.find("FCGI_ROLE=RESPONDER\n") != std::string::npos);
  CHECK(env.find("GATEWAY_INTERFACE=CGI/1.1\n") != std::string::npos);
  CHECK(env.find("QUERY_STRING=\n") != std::string::npos);
  CHECK(env.find("HTTP_PROXY") == std::string::npos);  // httpoxy
  CHECK(env.find("LD_PRELOAD") == std::string::npos);
}

TEST_CASE("compat direct: an invalid response becomes the launcher's 502, stderr goes where asked",
          "[compat][direct]") {
  SECTION("no header block") {
    DirectWorker w;
    FcgiTestClient client;
    REQUIRE(client.Connect(w.address()).ok());
    FcgiResponse r =
        client.Request({{"REQUEST_METHOD", "GET"}}, "", seconds(5));  // test_cgi without CGI_HEADER
    INFO(r.Describe());
    REQUIRE(r.ended);
    CHECK(r.stdout_data.rfind("Status: 502 Bad Gateway\r\n", 0) == 0);
    CHECK(r.stdout_data.find("fcgi-run: test_cgi sent an invalid response") != std::string::npos);
    auto log = w.NextRaw(seconds(5));
    REQUIRE(log.has_value());
    CHECK(log->type == proto::kLog);
    CHECK(log->bytes.find("GET ? (test_cgi): invalid response") != std::string::npos);
  }
  SECTION("stderr as FCGI_STDERR") {
    DirectWorker w;
    FcgiResponse r = w.Get({{"MODE", "stderr"}});
    INFO(r.Describe());
    REQUIRE(r.ok());
    CHECK(r.stderr_data == "to-stderr\n");
  }
  SECTION("stderr to the launcher's log") {
    DirectOptions options;
    options.flags = proto::kDirectStderrToLog;
    DirectWorker w(options);
    FcgiResponse r = w.Get({{"MODE", "stderr"}});
    REQUIRE(r.ok());
    CHECK(r.stderr_data.empty());
    auto log = w.NextRaw(seconds(5));
    REQUIRE(log.has_value());
    CHECK(log->type == proto::kLog);
    CHECK(log->bytes.find("test_cgi stderr: to-stderr") != std::string::npos);
  }
}

TEST_CASE("compat direct: a crash or the --timeout SIGTERM still answers the request", "[compat][direct]") {
  SECTION("SIGSEGV: 502 naming the signal, the worker dies of it") {
    DirectWorker w;
    FcgiResponse r = w.Get({{"MODE", "crash"}});
    INFO(r.Describe());
    REQUIRE(r.ended);
    CHECK(r.stdout_data.rfind("Status: 502 Bad Gateway\r\n", 0) == 0);
    CHECK(r.stdout_data.find("fcgi-run: test_cgi ended without a valid response (killed by SIGSEGV)") !=
          std::string::npos);
    CHECK(r.app_status == 128 + SIGSEGV);
    const int status = w.process().Wait(milliseconds(5000));
    REQUIRE(status != -1);
    CHECK(WIFSIGNALED(status));
    CHECK(WTERMSIG(status) == SIGSEGV);
  }
  SECTION("SIGTERM while main() runs: 504") {
    DirectWorker w;
    FcgiTestClient client;
    REQUIRE(client.Connect(w.address()).ok());
    RequestSpec spec;
    spec.params = {{"CGI_HEADER", "1"}, {"MODE", "sleep"}, {"SLEEP_MS", "5000"}};
    REQUIRE(client.Send(RequestBytes(spec)).ok());
    for (int i = 0; i < 500 && w.slot().started_ns == 0; ++i) usleep(10 * 1000);  // main() started
    REQUIRE(w.slot().started_ns != 0);
    REQUIRE(kill(w.process().pid(), SIGTERM) == 0);
    FcgiResponse r = client.ReadUntilEnd(1, seconds(5));
    INFO(r.Describe());
    REQUIRE(r.ended);
    CHECK(r.stdout_data.rfind("Status: 504 Gateway Timeout\r\n", 0) == 0);
    CHECK(r.stdout_data.find("fcgi-run: test_cgi did not finish in time") != std::string::npos);
    const int status = w.process().Wait(milliseconds(5000));
    CHECK(WIFSIGNALED(status));
    CHECK(WTERMSIG(status) == SIGTERM);
  }
}

TEST_CASE("compat direct: KEEP_CONN serves several requests on one connection", "[compat][direct]") {
  DirectWorker w;
  FcgiTestClient client;
  REQUIRE(client.Connect(w.address()).ok());
  for (int i = 1; i <= 3; ++i) {
    RequestSpec spec;
    spec.keep_conn = true;
    spec.params = {{"CGI_HEADER", "1"}, {"REQUEST_METHOD", "GET"}, {"REQ", "k" + std::to_string(i)}};
    FcgiResponse r = client.Request(spec, seconds(5));
    INFO(r.Describe());
    REQUIRE(r.ok());
    CHECK(Body(r).find("REQ=k" + std::to_string(i) + "\n") != std::string::npos);
  }
  CHECK(client.ReadFor(milliseconds(100)));  // still open
}

TEST_CASE("compat direct: the recycle policy ends the worker with RETIRE and BYE", "[compat][direct]") {
  DirectOptions options;
  options.max_requests = 2;
  DirectWorker w(options);
  REQUIRE(w.Get({}).ok());
  REQUIRE(w.Get({}).ok());
  auto retire = w.NextRaw(seconds(5));
  REQUIRE(retire.has_value());
  REQUIRE(retire->type == proto::kRetire);
  proto::RetireMessageHeader h;
  std::memcpy(&h, retire->bytes.data(), sizeof h);
  CHECK(h.requests == 2);
  CHECK(retire->bytes.substr(sizeof h).find("2") != std::string::npos);
  auto bye = w.NextRaw(seconds(5));
  REQUIRE(bye.has_value());
  CHECK(bye->type == proto::kBye);
  const int status = w.process().Wait(milliseconds(5000));
  REQUIRE(status != -1);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
}

TEST_CASE("compat direct: SHUTDOWN between requests, and a malformed DIRECT", "[compat][direct]") {
  SECTION("SHUTDOWN") {
    DirectWorker w;
    REQUIRE(w.Get({}).ok());
    proto::ShutdownMessage m{proto::kShutdown, 0};
    REQUIRE(w.process().Send(std::string(reinterpret_cast<const char*>(&m), sizeof m)));
    auto bye = w.NextRaw(seconds(5));
    REQUIRE(bye.has_value());
    CHECK(bye->type == proto::kBye);
    const int status = w.process().Wait(milliseconds(5000));
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
  }
  SECTION("a header that claims more listeners than were sent") {
    DirectOptions options;
    options.listener_count = 2;
    DirectWorker w(options);
    auto log = w.NextRaw(seconds(5));
    REQUIRE(log.has_value());
    CHECK(log->type == proto::kLog);
    CHECK(log->bytes.find("invalid DIRECT message (expected 3 fds, got 2)") != std::string::npos);
    const int status = w.process().Wait(milliseconds(5000));
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 1);
  }
}

}  // namespace
}  // namespace fcgi::test
