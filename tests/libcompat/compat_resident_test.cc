// libcompat persistent mode's resident output (control_protocol.h): the
// worker keeps the stdout/stderr pipes of a kRunResidentOutput RUN, later
// kRunKeepOutput RUNs write into them, and the worker gives them up when a
// request leaves a process running or replaces fd 1; and the standard streams
// a request closed are reopened. Real program, real shim (and memcheck: the
// valgrind pass runs these; tests/e2e/persistent_mode_test.cc covers more
// ways of closing stdio through the launcher).
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <unistd.h>
#include <catch2/catch.hpp>

#include <chrono>
#include <memory>
#include <string>

#include "tests/libcompat/compat_harness.h"

namespace fcgi::test {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
namespace proto = compat;

constexpr uint32_t kFast = proto::kRunNoStarted | proto::kRunStdinNull;

std::unique_ptr<ParkedProgram> Worker() {
  auto w = std::make_unique<ParkedProgram>(std::vector<std::string>{CompatTestProgram("test_cgi")}, true,
                                           std::vector<std::string>{"FCGI_RUN_COMPAT_MODE=persistent"});
  auto hello = w->Next(seconds(5));
  REQUIRE(hello.has_value());
  auto* h = std::get_if<CompatHello>(&*hello);
  REQUIRE(h != nullptr);
  REQUIRE((h->flags & proto::kHelloPersistent) != 0);
  return w;
}

// The launcher's ends of a worker's resident pipes.
struct Resident {
  int out_read = -1, err_read = -1;
  int child[2] = {-1, -1};  // write ends, sent with the first RUN
  Resident() {
    int out[2], err[2];
    REQUIRE(pipe2(out, O_CLOEXEC) == 0);
    REQUIRE(pipe2(err, O_CLOEXEC) == 0);
    out_read = out[0];
    err_read = err[0];
    child[0] = out[1];
    child[1] = err[1];
    fcntl(out_read, F_SETFL, O_NONBLOCK);
    fcntl(err_read, F_SETFL, O_NONBLOCK);
  }
  ~Resident() {
    for (int fd : {out_read, err_read, child[0], child[1]}) {
      if (fd >= 0) close(fd);
    }
  }
  void CloseChildEnds() {
    close(child[0]);
    close(child[1]);
    child[0] = child[1] = -1;
  }
  // What the pipe holds now; *eof set when every writer is gone.
  static std::string Drain(int fd, bool* eof) {
    std::string got;
    char buf[4096];
    *eof = false;
    for (;;) {
      ssize_t n = read(fd, buf, sizeof buf);
      if (n > 0) {
        got.append(buf, static_cast<size_t>(n));
        continue;
      }
      if (n == 0) *eof = true;
      return got;
    }
  }
};

struct Reply {
  bool failed = false;
  int error = 0;
  uint32_t report_flags = 0;
  int wait_status = -1;
};

// Sends one RUN and collects FAILED, or REPORT then EXITED (no STARTED may come).
Reply Run(ParkedProgram& w, uint64_t id, uint32_t flags, const std::vector<std::string>& env, const int* fds,
          int nfds) {
  CompatRunRequest run;
  run.request_id = id;
  run.env = env;
  run.flags = flags;
  CompatRunMessage message;
  REQUIRE(EncodeCompatRun(run, &message).ok());
  const std::string& bytes = message.bytes;
  REQUIRE(w.Send(bytes, fds, nfds));
  Reply r;
  for (;;) {
    auto m = w.Next(seconds(5));
    REQUIRE(m.has_value());
    REQUIRE_FALSE(std::holds_alternative<CompatStarted>(*m));
    if (auto* f = std::get_if<CompatFailed>(&*m)) {
      CHECK(f->request_id == id);
      r.failed = true;
      r.error = f->error;
      return r;
    }
    if (auto* rep = std::get_if<CompatReport>(&*m)) {
      CHECK(rep->request_id == id);
      r.report_flags = rep->flags;
      continue;
    }
    auto* e = std::get_if<CompatExited>(&*m);
    REQUIRE(e != nullptr);
    CHECK(e->request_id == id);
    r.wait_status = e->wait_status;
    return r;
  }
}

// Request 1 of a worker: makes `pipes` its resident output; afterwards the
// worker holds the only write ends.
Reply RunResident(ParkedProgram& w, Resident& pipes, const std::vector<std::string>& env) {
  Reply r = Run(w, 1, kFast | proto::kRunResidentOutput, env, pipes.child, 2);
  REQUIRE_FALSE(r.failed);
  pipes.CloseChildEnds();
  return r;
}

// A RUN that asks to keep resident output the worker does not have: FAILED(EBADF).
void ExpectKeepRefused(ParkedProgram& w, uint64_t id) {
  Reply r = Run(w, id, kFast | proto::kRunKeepOutput, RequestEnv({}), nullptr, 0);
  CHECK(r.failed);
  CHECK(r.error == EBADF);
}

TEST_CASE("compat persistent: resident output carries request after request, without EOF", "[compat]") {
  auto w = Worker();
  Resident pipes;
  Reply a = RunResident(*w, pipes, RequestEnv({"REQ=first", "MODE=stderr"}));
  CHECK(a.wait_status == 0);
  CHECK((a.report_flags & proto::kReportOutputReleased) == 0);
  bool eof = false;
  std::string out = Resident::Drain(pipes.out_read, &eof);
  CHECK_FALSE(eof);  // kept for the next request
  CHECK(out.find("REQ=first\n") != std::string::npos);
  CHECK(out.find("stdin=\n") != std::string::npos);  // kRunStdinNull: /dev/null
  CHECK(Resident::Drain(pipes.err_read, &eof) == "to-stderr\n");
  CHECK_FALSE(eof);

  Reply b = Run(*w, 2, kFast | proto::kRunKeepOutput, RequestEnv({"REQ=second"}), nullptr, 0);
  REQUIRE_FALSE(b.failed);
  CHECK(b.wait_status == 0);
  out = Resident::Drain(pipes.out_read, &eof);
  CHECK(out.find("REQ=second\n") != std::string::npos);
  CHECK(out.find("first") == std::string::npos);
  CHECK_FALSE(eof);

  // A RUN with its own output fds (fcgi-run --check) replaces the resident
  // pipes for good: the old ones reach EOF, keeping them is refused.
  RequestPipes own("");
  const int fds[2] = {own.child_fds()[1], own.child_fds()[2]};
  Reply c = Run(*w, 3, kFast, RequestEnv({"REQ=third"}), fds, 2);
  REQUIRE_FALSE(c.failed);
  own.CloseChildEnds();
  REQUIRE(own.ReadAll(milliseconds(5000)));
  CHECK(own.out().find("REQ=third\n") != std::string::npos);
  Resident::Drain(pipes.out_read, &eof);
  CHECK(eof);
  ExpectKeepRefused(*w, 4);
}

TEST_CASE("compat persistent: keeping output that was never made resident fails with EBADF", "[compat]") {
  auto w = Worker();
  ExpectKeepRefused(*w, 7);
  // The flags say how many fds come: two output fds with kRunKeepOutput is malformed.
  Resident pipes;
  Reply r = Run(*w, 8, kFast | proto::kRunKeepOutput, RequestEnv({}), pipes.child, 2);
  CHECK(r.failed);
  CHECK(r.error == EBADMSG);
}

TEST_CASE("compat persistent: a request that leaves a process running gives the output up", "[compat]") {
  auto w = Worker();
  Resident pipes;
  Reply a = RunResident(*w, pipes, RequestEnv({"MODE=background", "REQ=bg"}));
  CHECK((a.report_flags & proto::kReportChildrenLeft) != 0);
  CHECK((a.report_flags & proto::kReportOutputReleased) != 0);
  bool eof = false;
  CHECK(Resident::Drain(pipes.out_read, &eof).find("REQ=bg\n") != std::string::npos);
  CHECK_FALSE(eof);  // the background child still holds it...
  pollfd p{pipes.out_read, POLLIN, 0};
  REQUIRE(poll(&p, 1, 5000) == 1);  // ...until it exits (2 s), the worker did let go
  Resident::Drain(pipes.out_read, &eof);
  CHECK(eof);
  ExpectKeepRefused(*w, 2);
}

TEST_CASE("compat persistent: a request that replaces fd 1 gives the output up", "[compat]") {
  auto w = Worker();
  Resident pipes;
  Reply a = RunResident(*w, pipes, RequestEnv({"MODE=close-stdout"}));
  CHECK((a.report_flags & proto::kReportOutputReleased) != 0);
  CHECK((a.report_flags & proto::kReportChildrenLeft) == 0);
  bool eof = false;
  Resident::Drain(pipes.out_read, &eof);
  CHECK(eof);  // nothing holds the old pipe any more
  Resident::Drain(pipes.err_read, &eof);
  CHECK(eof);
}

TEST_CASE("compat persistent: the standard streams a request closed are reopened for the next", "[compat]") {
  auto w = Worker();
  Resident pipes;
  Reply a = RunResident(*w, pipes, RequestEnv({"MODE=fclose", "REQ=closing"}));
  CHECK(a.wait_status == 0);
  CHECK((a.report_flags & proto::kReportStdioReopened) != 0);
  CHECK((a.report_flags & proto::kReportOutputReleased) != 0);  // fclose closed fds 1 and 2
  CHECK((a.report_flags & proto::kReportWorkerRetires) == 0);
  bool eof = false;
  CHECK(Resident::Drain(pipes.out_read, &eof).find("REQ=closing\n") != std::string::npos);
  CHECK(eof);
  for (uint64_t id = 2; id <= 3; ++id) {
    RequestPipes own("body-" + std::to_string(id));
    Reply b = Run(*w, id, proto::kRunNoStarted, RequestEnv({"REQ=next", "MODE=stderr"}), own.child_fds(), 3);
    REQUIRE_FALSE(b.failed);
    own.CloseChildEnds();
    REQUIRE(own.ReadAll(milliseconds(5000)));
    CHECK(own.out().find("REQ=next\n") != std::string::npos);
    CHECK(own.out().find("stdin=body-" + std::to_string(id) + "\n") != std::string::npos);
    CHECK(own.err() == "to-stderr\n");
    CHECK((b.report_flags & proto::kReportStdioReopened) == 0);
  }
}

}  // namespace
}  // namespace fcgi::test
