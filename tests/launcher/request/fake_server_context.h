// FakeServerContext: a ServerContext whose every request runs the program
// "/srv/app.cgi" through a FakeProgramRunner (tests/launcher/run/), with the
// reactor loops the unit tests of CgiRequest and Connection share. No
// process runs.
//
// Ownership: a test's harness derives from it; what the harness adds is
// destroyed first, while the context, the runner and the reactor live.
#ifndef FCGI_RUN_TESTS_LAUNCHER_REQUEST_FAKE_SERVER_CONTEXT_H_
#define FCGI_RUN_TESTS_LAUNCHER_REQUEST_FAKE_SERVER_CONTEXT_H_

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <functional>
#include <string_view>

#include "core/worker_slots.h"
#include "launcher/config/options.h"
#include "launcher/request/server_context.h"
#include "tests/launcher/request/fake_program_source.h"
#include "tests/launcher/run/fake_program_runner.h"

namespace fcgi::test {

// A GET of /app.cgi, as a web server sends its params.
inline NameValuePairs GetParams() {
  return {{"REQUEST_METHOD", "GET"}, {"SCRIPT_NAME", "/app.cgi"}, {"REQUEST_URI", "/app.cgi"}};
}

// What follows a CGI response's header block ("" before it is complete).
inline std::string_view BodyOf(std::string_view response) {
  const size_t end = response.find("\r\n\r\n");
  return end == std::string_view::npos ? std::string_view() : response.substr(end + 4);
}

// FakeProgramRunner::on_signal for a program that dies of `sig` (and of
// SIGKILL) and ignores the others.
inline std::function<void(FakeRun&, int)> ExitOnSignal(int sig) {
  return [sig](FakeRun& run, int got) {
    if (got == sig || got == SIGKILL) run.Exit(got);
  };
}

struct FakeServerContext {
  FakeServerContext() { config.timeout = Duration(0); }  // none unless a test sets one

  // Runs every handler that is ready, and what that makes ready, until none is.
  void Drain() {
    for (int i = 0; i < 1000; ++i) {
      io.restart();
      if (io.poll() == 0) return;
    }
  }
  // Runs the reactor until `done` holds (true) or 10 s passed (false);
  // `each_turn` runs after every turn (a client collecting what arrived).
  bool RunUntil(const std::function<bool()>& done, const std::function<void()>& each_turn = {}) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!done()) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      io.restart();
      io.run_one_for(std::chrono::milliseconds(20));
      if (each_turn) each_turn();
    }
    return true;
  }
  // Runs what is ready now, and what that makes ready, for a moment.
  void Settle() {
    io.restart();
    io.run_for(std::chrono::milliseconds(50));
  }
  // Ends every run still going (SIGKILL), as a harness's destructor does.
  void KillRuns() {
    for (auto& run : runner.runs) run->Exit(SIGKILL);
    Drain();
  }
  FakeRun& run() { return runner.last(); }

  boost::asio::io_context io;
  Config config;
  WorkerSlots slots{4, 4};
  FakeProgramRunner runner{io};
  FakeProgramSource source{&runner};
  ServerContext ctx{io, config, slots, &source, {}, {}, {}, {}, {}};
};

}  // namespace fcgi::test

#endif  // FCGI_RUN_TESTS_LAUNCHER_REQUEST_FAKE_SERVER_CONTEXT_H_
