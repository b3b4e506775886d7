#include "launcher/front/parent_watch.h"

#include <fcntl.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <optional>
#include <string>

namespace fcgi {
namespace {

// A pipe whose ends close on destruction.
struct Pipe {
  int read_end = -1;
  int write_end = -1;
  Pipe() {
    int fds[2];
    REQUIRE(pipe(fds) == 0);
    read_end = fds[0];
    write_end = fds[1];
  }
  ~Pipe() {
    if (read_end >= 0) close(read_end);
    CloseWriter();
  }
  void CloseWriter() {
    if (write_end >= 0) close(write_end);
    write_end = -1;
  }
};

TEST_CASE("parent watch: EOF of the named fd calls back once", "[parent_watch]") {
  Pipe p;
  boost::asio::io_context io;
  ParentWatch watch(io);
  std::optional<std::string> what;
  int calls = 0;
  REQUIRE(watch
              .Start(p.read_end, false,
                     [&](const std::string& w) {
                       what = w;
                       ++calls;
                     })
              .ok());
  CHECK(watch.fd() == p.read_end);
  io.run_for(std::chrono::milliseconds(50));
  CHECK(calls == 0);  // the writer is still open
  p.CloseWriter();
  io.run_for(std::chrono::milliseconds(500));
  CHECK(calls == 1);
  CHECK(what.value_or("") == "parent pipe fd " + std::to_string(p.read_end) + " closed");
}

TEST_CASE("parent watch: bytes on the pipe are neither read nor a reason to stop; flags untouched",
          "[parent_watch]") {
  Pipe p;
  const int flags_before = fcntl(p.read_end, F_GETFL);
  boost::asio::io_context io;
  ParentWatch watch(io);
  int calls = 0;
  REQUIRE(watch.Start(p.read_end, false, [&](const std::string&) { ++calls; }).ok());
  REQUIRE(write(p.write_end, "x", 1) == 1);
  io.run_for(std::chrono::milliseconds(100));
  CHECK(calls == 0);
  // The parent's own reader (h2o's kill-on-close) shares the description: no O_NONBLOCK, byte still there.
  CHECK(fcntl(p.read_end, F_GETFL) == flags_before);
  CHECK((fcntl(p.read_end, F_GETFD) & FD_CLOEXEC) != 0);  // programs never inherit it
  char c = 0;
  CHECK(read(p.read_end, &c, 1) == 1);
  CHECK(c == 'x');
  p.CloseWriter();
  io.restart();
  io.run_for(std::chrono::milliseconds(500));
  CHECK(calls == 1);
}

TEST_CASE("parent watch: auto watches only a spawned process's fd 5 pipe; none never", "[parent_watch]") {
  boost::asio::io_context io;
  SECTION("auto, not spawned") {
    ParentWatch watch(io);
    REQUIRE(watch.Start(kParentPipeAuto, false, [](const std::string&) {}).ok());
    CHECK(watch.fd() == -1);
  }
  SECTION("none") {
    ParentWatch watch(io);
    REQUIRE(watch.Start(kParentPipeNone, true, [](const std::string&) {}).ok());
    CHECK(watch.fd() == -1);
  }
  SECTION("auto, spawned, fd 5 a pipe's read end") {
    Pipe p;
    int saved = fcntl(5, F_GETFD) >= 0 ? dup(5) : -1;  // the test runner's own fd 5, if any
    REQUIRE(dup2(p.read_end, 5) == 5);
    {
      ParentWatch watch(io);
      REQUIRE(watch.Start(kParentPipeAuto, true, [](const std::string&) {}).ok());
      CHECK(watch.fd() == 5);
    }
    if (saved >= 0) {
      dup2(saved, 5);
      close(saved);
    } else {
      close(5);
    }
  }
  SECTION("auto, spawned, fd 5 the write end of a pipe") {
    Pipe p;
    int saved = fcntl(5, F_GETFD) >= 0 ? dup(5) : -1;
    REQUIRE(dup2(p.write_end, 5) == 5);
    {
      ParentWatch watch(io);
      REQUIRE(watch.Start(kParentPipeAuto, true, [](const std::string&) {}).ok());
      CHECK(watch.fd() == -1);
    }
    if (saved >= 0) {
      dup2(saved, 5);
      close(saved);
    } else {
      close(5);
    }
  }
}

TEST_CASE("parent watch: a closed fd is an error", "[parent_watch]") {
  boost::asio::io_context io;
  ParentWatch watch(io);
  Status s = watch.Start(999, false, [](const std::string&) {});
  CHECK(!s.ok());
  CHECK(s.message() == "fcntl(2) --parent-pipe-fd 999: Bad file descriptor");
  // A malformed value is ParseConfig's error (options_test.cc).
}

}  // namespace
}  // namespace fcgi
