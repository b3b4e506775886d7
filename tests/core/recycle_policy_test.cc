#include "core/recycle_policy.h"

#include <catch2/catch.hpp>

namespace fcgi {
namespace {

RequestAftermath Clean(uint32_t requests, uint32_t fds = 5) {
  RequestAftermath a;
  a.open_fds = fds;
  a.baseline_fds = 5;
  a.rss_kib = 2048;
  a.requests = requests;
  return a;
}

TEST_CASE("recycle policy: a clean request keeps the worker until --max-requests", "[recycle]") {
  RecycleLimits limits;
  limits.max_requests = 3;
  RecyclePolicy p(limits);
  CHECK(p.AfterRequest(Clean(1)).empty());
  CHECK(p.AfterRequest(Clean(2)).empty());
  CHECK(p.AfterRequest(Clean(3)).find("--max-requests 3") != std::string::npos);
}

TEST_CASE("recycle policy: a worker that says it retires is recycled at once", "[recycle]") {
  RecyclePolicy p{RecycleLimits{}};
  RequestAftermath a = Clean(1);
  a.worker_retires = true;
  CHECK(p.AfterRequest(a).find("closed file descriptors the worker needs") != std::string::npos);
}

TEST_CASE("recycle policy: threads, libstdc++ exits and RSS recycle at once", "[recycle]") {
  RecycleLimits limits;
  limits.max_rss_kib = 4096;
  RecyclePolicy p(limits);
  RequestAftermath a = Clean(1);
  a.threads = 2;
  CHECK(p.AfterRequest(a).find("thread") != std::string::npos);
  a = Clean(2);
  a.exit_intercepted = true;
  CHECK(p.AfterRequest(a).empty());  // a C program: exit is repaired, no recycling
  a.links_libstdcxx = true;
  CHECK(p.AfterRequest(a).find("libstdc++") != std::string::npos);
  a = Clean(3);
  a.rss_kib = 5000;
  CHECK(p.AfterRequest(a).find("--max-rss 4 MiB") != std::string::npos);
}

TEST_CASE("recycle policy: fd growth recycles only when it keeps growing", "[recycle]") {
  RecyclePolicy p(RecycleLimits{});
  // A lazily opened log file: one more fd once, then flat.
  CHECK(p.AfterRequest(Clean(1, 6)).empty());
  CHECK(p.AfterRequest(Clean(2, 6)).empty());
  CHECK(p.AfterRequest(Clean(3, 6)).empty());
  CHECK(p.fd_growth_streak() == 0);
  // A leak: one more per request.
  CHECK(p.AfterRequest(Clean(4, 7)).empty());
  CHECK(p.AfterRequest(Clean(5, 8)).empty());
  CHECK(p.AfterRequest(Clean(6, 9)).find("grew after 3 requests in a row (5 -> 9)") != std::string::npos);
}

TEST_CASE("recycle policy: too many fds over the baseline recycle even without a streak", "[recycle]") {
  RecycleLimits limits;
  limits.max_extra_fds = 10;
  RecyclePolicy p(limits);
  CHECK(p.AfterRequest(Clean(1, 16)).find("11 file descriptors") != std::string::npos);
}

}  // namespace
}  // namespace fcgi
