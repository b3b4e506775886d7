// fcgi-run: serves an unmodified CGI program over FastCGI. See README.md.
#include <malloc.h>

#include <cstdio>
#include <iostream>

#include "launcher/checks/config_check.h"
#include "launcher/checks/safety_check.h"
#include "launcher/config/options.h"
#include "launcher/log/log.h"
#include "launcher/log/syslog_sink.h"
#include "launcher/server.h"

int main(int argc, char** argv) {
  fcgi::Config config;
  switch (fcgi::ParseCommandLine(argc, argv, &config)) {
    case fcgi::ParseOutcome::kExitSuccess:
      return 0;
    case fcgi::ParseOutcome::kExitFailure:
      return 2;
    case fcgi::ParseOutcome::kRun:
      break;
  }
  if (config.check_config) return fcgi::RunConfigCheck(config, std::cout, std::cerr);  // 0 OK, 2 errors
  fcgi::LogOptions log;
  log.path = config.log_file;
  fcgi::ParseLogLevel(config.log_level, &log.min_level);  // validated by ParseCommandLine
  if (config.verbose) log.min_level = fcgi::LogLevel::kDebug;
  log.syslog = config.syslog;
  log.syslog_socket = config.syslog_socket;
  fcgi::ParseSyslogFacility(config.syslog_facility, &log.syslog_facility);
  fcgi::Status s = fcgi::Log::Open(log);
  if (!s.ok()) {
    std::fprintf(stderr, "fcgi-run: %s\n", s.message().c_str());
    return 1;
  }
  if (config.check) {  // fcgi-run --check PROGRAM: report on stdout, log lines (fallbacks) on stderr
    if (!config.verbose) fcgi::Log::SetLevel(fcgi::LogLevel::kWarning);
    return fcgi::RunSafetyCheck(config, std::cout);
  }
  // Each request allocates and frees about 85 KiB (CgiRequest and its read
  // buffers): with glibc's default 128 KiB trim threshold, brk(2) gave the top
  // of the heap back and page faults brought it in again almost every request.
  // Fixed thresholds: chunks below 1 MiB come from the heap, which keeps up to
  // 4 MiB free at its top.
  mallopt(M_MMAP_THRESHOLD, 1 << 20);
  mallopt(M_TRIM_THRESHOLD, 4 << 20);
  fcgi::Server server(config);
  s = server.Init();
  if (!s.ok()) {
    fcgi::LogError(s.message());
    // With --log or --syslog (no stderr sink) a start-up failure is also said on stderr.
    if (!fcgi::Log::ToStderr()) std::fprintf(stderr, "fcgi-run: %s\n", s.message().c_str());
    return 1;
  }
  return server.Run();
}
