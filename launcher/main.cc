// fcgi-run: serves an unmodified CGI program over FastCGI. See README.md.
#include <cstdio>
#include <iostream>

#include "launcher/log.h"
#include "launcher/options.h"
#include "launcher/safety_check.h"
#include "launcher/server.h"

int main(int argc, char** argv) {
  fcgi::Config config;
  switch (fcgi::ParseCommandLine(argc, argv, &config)) {
    case fcgi::ParseOutcome::kExitSuccess: return 0;
    case fcgi::ParseOutcome::kExitFailure: return 2;
    case fcgi::ParseOutcome::kRun: break;
  }
  fcgi::Status s = fcgi::Log::Open(config.log_file, config.verbose ? fcgi::LogLevel::kDebug : fcgi::LogLevel::kInfo);
  if (!s.ok()) {
    std::fprintf(stderr, "fcgi-run: %s\n", s.message().c_str());
    return 1;
  }
  if (config.check) {  // fcgi-run --check PROGRAM: report on stdout, log lines (fallbacks) on stderr
    if (!config.verbose) fcgi::Log::SetLevel(fcgi::LogLevel::kWarning);
    return fcgi::RunSafetyCheck(config, std::cout);
  }
  fcgi::Server server(config);
  s = server.Init();
  if (!s.ok()) {
    fcgi::LogError(s.message());
    return 1;
  }
  return server.Run();
}
