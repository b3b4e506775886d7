// Direct mode's pure pieces (launcher/direct_supervisor.h): the DIRECT fields
// taken from the options, and the persistent-mode pre-flight.
#include "launcher/direct_supervisor.h"

#include <sys/stat.h>
#include <catch2/catch.hpp>

#include <cstdint>
#include <cstdio>
#include <string>

#include "launcher/core/recycle_policy.h"
#include "tests/support/temp_dir.h"

namespace fcgi {
namespace {

TEST_CASE("direct: the DIRECT limits follow the options", "[direct]") {
  Config c;
  c.max_params_bytes = 12345;
  c.max_body = 5ull << 30;
  c.max_header_bytes = 4096;
  c.max_requests = 7;
  c.max_rss_mib = 300;
  c.stderr_mode = StderrMode::kFcgi;
  CompatDirectRequest d = DirectLimitsFromConfig(c);
  CHECK(d.flags == compat::kDirectStderrToClient);
  CHECK(d.max_params_bytes == 12345);
  CHECK(d.max_body_bytes == 5ull << 30);
  CHECK(d.max_header_bytes == 4096);
  CHECK(d.read_timeout_ms == 30000);  // connections have no other read timeout
  CHECK(d.max_requests == 7);
  CHECK(d.max_rss_kib == 300u * 1024);
  RecycleLimits defaults;
  CHECK(d.fd_growth_requests == defaults.fd_growth_requests);
  CHECK(d.max_extra_fds == defaults.max_extra_fds);
  CHECK(d.listener_count == 0);  // the caller's, as the env blocks and the name
  CHECK(d.base_env.empty());

  c.stderr_mode = StderrMode::kLog;
  CHECK(DirectLimitsFromConfig(c).flags == compat::kDirectStderrToLog);
  c.stderr_mode = StderrMode::kBoth;
  CHECK(DirectLimitsFromConfig(c).flags == (compat::kDirectStderrToClient | compat::kDirectStderrToLog));
  c.stderr_mode = StderrMode::kDiscard;
  CHECK(DirectLimitsFromConfig(c).flags == 0);
  // Past 32 bits: clamped, not wrapped.
  c.max_params_bytes = size_t{1} << 33;
  c.max_rss_mib = uint64_t{1} << 30;
  d = DirectLimitsFromConfig(c);
  CHECK(d.max_params_bytes == UINT32_MAX);
  CHECK(d.max_rss_kib == UINT32_MAX);
}

TEST_CASE("direct: the pre-flight refuses what persistent mode cannot run", "[direct]") {
  test::TempDir dir;
  ParkSpec park;
  park.env = {"PATH=/usr/bin:/bin"};
  park.compat_library = "/usr/lib/libfcgi-run-compat.so";  // only checked for emptiness here
  std::string why;

  park.program = "/bin/true";  // a dynamically linked ELF: fine
  CHECK(CanServeDirect(park, &why));

  std::string script = dir.path() + "/app.sh";
  {
    FILE* f = std::fopen(script.c_str(), "w");
    REQUIRE(f != nullptr);
    std::fputs("#!/bin/sh\necho\n", f);
    std::fclose(f);
    REQUIRE(chmod(script.c_str(), 0755) == 0);
  }
  park.program = script;
  CHECK_FALSE(CanServeDirect(park, &why));
  INFO(why);
  CHECK(why.find(script + " is a script (interpreter ") != std::string::npos);

  park.program = dir.path() + "/missing";
  CHECK_FALSE(CanServeDirect(park, &why));
  CHECK(why.find("missing") != std::string::npos);

  park.program = "/bin/true";
  park.compat_library.clear();
  CHECK_FALSE(CanServeDirect(park, &why));
  CHECK(why.find("--compat-library") != std::string::npos);
}

}  // namespace
}  // namespace fcgi
