// fcgi-run: serves an unmodified CGI program over FastCGI. See README.md.
#include <malloc.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "launcher/checks/config_check.h"
#include "launcher/checks/safety_check.h"
#include "launcher/config/environment.h"
#include "launcher/config/options.h"
#include "launcher/log/log.h"
#include "launcher/server.h"

int main(int argc, char** argv) {
  // The one read of the environment for the configuration (options.h): a copy
  // that ParseConfig takes now and again on SIGHUP.
  const fcgi::Environment env = fcgi::Environment::FromProcess(environ);
  // systemd's socket variables are for this process only (sd_listen_fds(3)).
  unsetenv("LISTEN_PID");
  unsetenv("LISTEN_FDS");
  unsetenv("LISTEN_FDNAMES");
  const std::vector<std::string> args(argv + 1, argv + argc);
  fcgi::ParseResult parsed = fcgi::ParseConfig(args, env);
  // --check-config checks what parsed too, and reports every error in one run: 0 OK, 2 errors.
  if (parsed.config.check_config && parsed.outcome != fcgi::ParseOutcome::kExitSuccess) {
    return fcgi::RunConfigCheck(parsed, std::cout, std::cerr);
  }
  switch (parsed.outcome) {
    case fcgi::ParseOutcome::kExitSuccess:
      std::cout << parsed.output;
      return 0;
    case fcgi::ParseOutcome::kExitFailure:
      for (const std::string& e : parsed.errors) std::cerr << "fcgi-run: " << e << "\n";
      std::cerr << "Try 'fcgi-run --help'.\n";
      return 2;
    case fcgi::ParseOutcome::kRun:
      break;
  }
  const fcgi::Config& config = parsed.config;
  fcgi::LogOptions log;
  log.path = config.log_file;
  log.min_level = config.log_level;
  log.syslog = config.syslog;
  log.syslog_socket = config.syslog_socket;
  log.syslog_facility = config.syslog_facility;
  fcgi::Status s = fcgi::Log::Open(log);
  if (!s.ok()) {
    std::fprintf(stderr, "fcgi-run: %s\n", s.message().c_str());
    return 1;
  }
  for (const std::string& w : parsed.warnings) fcgi::LogWarning(w);
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
  fcgi::Server server(std::move(parsed), [args, env]() { return fcgi::ParseConfig(args, env); });
  s = server.Init();
  if (!s.ok()) {
    fcgi::LogError(s.message());
    // With --log or --syslog (no stderr sink) a start-up failure is also said on stderr.
    if (!fcgi::Log::ToStderr()) std::fprintf(stderr, "fcgi-run: %s\n", s.message().c_str());
    return 1;
  }
  return server.Run();
}
