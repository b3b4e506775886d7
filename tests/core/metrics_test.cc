#include "core/metrics.h"

#include <catch2/catch.hpp>

#include "core/recycle_policy.h"

namespace fcgi {
namespace {

using Clock = std::chrono::steady_clock;

TEST_CASE("metrics: the active table follows begin, start and end", "[metrics]") {
  Metrics m;
  const Clock::time_point t0{};
  uint64_t a = m.BeginRequest("", "GET", "/a", t0);
  uint64_t b = m.BeginRequest("/bin/b.cgi", "POST", "/b", t0);
  CHECK(a != b);
  REQUIRE(m.active().size() == 2);
  CHECK(m.active().at(a).pid == -1);
  m.SetProgram(a, "/bin/a.cgi");
  m.RequestStarted(a, 123, "fork");
  CHECK(m.active().at(a).pid == 123);
  CHECK(m.active().at(a).mode == "fork");
  CHECK(m.active().at(a).program == "/bin/a.cgi");
  CHECK(m.modes().at("fork").starts == 1);
  m.EndRequest(a, 200);
  m.EndRequest(b, 502);
  CHECK(m.active().empty());
  CHECK(m.responses(2) == 1);
  CHECK(m.responses(5) == 1);
  m.EndRequest(0, 404);  // never in the table (a built-in page): still counted
  CHECK(m.responses(4) == 1);
  m.EndRequest(0, 0);
  CHECK(m.responses(0) == 1);
  CHECK(m.responses(9) == 0);
}

TEST_CASE("metrics: runner events count per mode and recycle reason", "[metrics]") {
  Metrics m;
  m.OnRunnerEvent("fork", RunnerEvent::kParkStarted);
  m.OnRunnerEvent("fork", RunnerEvent::kParkStarted);
  m.OnRunnerEvent("fork", RunnerEvent::kParkFailed);
  m.OnRunnerEvent("fork", RunnerEvent::kFallbackToExec);
  m.OnRunnerEvent("persistent", RunnerEvent::kRecycled, "max_requests");
  m.OnRunnerEvent("persistent", RunnerEvent::kRecycled, "max_requests");
  m.OnRunnerEvent("persistent", RunnerEvent::kRecycled, "");
  const ModeCounters& f = m.modes().at("fork");
  CHECK(f.park_starts == 2);
  CHECK(f.park_failures == 1);
  CHECK(f.fallbacks_to_exec == 1);
  CHECK(f.recycles_total() == 0);
  const ModeCounters& p = m.modes().at("persistent");
  CHECK(p.recycles.at("max_requests") == 2);
  CHECK(p.recycles.at("other") == 1);
  CHECK(p.recycles_total() == 3);
  m.SlowRequest();
  CHECK(m.slow_requests() == 1);
}

// The keys must follow RecyclePolicy's own wording: drive the real policy.
TEST_CASE("metrics: RecycleReasonKey names every RecyclePolicy reason", "[metrics]") {
  RecycleLimits limits;
  limits.max_requests = 1;
  limits.max_rss_kib = 1024;
  limits.max_extra_fds = 2;
  auto clean = []() {
    RequestAftermath a;
    a.open_fds = a.baseline_fds = 5;
    a.requests = 0;
    return a;
  };
  RequestAftermath a = clean();
  a.threads = 3;
  CHECK(RecycleReasonKey(RecyclePolicy(limits).AfterRequest(a)) == "thread_left");
  a = clean();
  a.exit_intercepted = a.links_libstdcxx = true;
  CHECK(RecycleReasonKey(RecyclePolicy(limits).AfterRequest(a)) == "exit_in_cxx");
  a = clean();
  a.rss_kib = 4096;
  CHECK(RecycleReasonKey(RecyclePolicy(limits).AfterRequest(a)) == "max_rss");
  a = clean();
  a.open_fds = 10;
  CHECK(RecycleReasonKey(RecyclePolicy(limits).AfterRequest(a)) == "fd_leak");
  RecycleLimits growth = limits;
  growth.fd_growth_requests = 1;
  growth.max_extra_fds = 100;
  a = clean();
  a.open_fds = 6;
  CHECK(RecycleReasonKey(RecyclePolicy(growth).AfterRequest(a)) == "fd_leak");
  a = clean();
  a.requests = 1;
  CHECK(RecycleReasonKey(RecyclePolicy(limits).AfterRequest(a)) == "max_requests");
  CHECK(RecycleReasonKey("SIGHUP") == "sighup");
  CHECK(RecycleReasonKey("program file changed on disk") == "program_changed");
  CHECK(RecycleReasonKey("something new") == "other");
}

}  // namespace
}  // namespace fcgi
