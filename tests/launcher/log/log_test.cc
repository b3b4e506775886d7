// Error log lines (launcher/log/log.h): fixed one-line format, levels, sinks.
#include "launcher/log/log.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <cstring>
#include <regex>

#include "tests/support/temp_dir.h"

namespace fcgi {
namespace {

struct RestoreStderrLog {
  ~RestoreStderrLog() { Log::Open("", LogLevel::kInfo); }
};

TEST_CASE("log: level names round-trip; anything else is rejected", "[log]") {
  for (LogLevel l :
       {LogLevel::kError, LogLevel::kWarning, LogLevel::kNotice, LogLevel::kInfo, LogLevel::kDebug}) {
    LogLevel parsed = LogLevel::kDebug;
    REQUIRE(ParseLogLevel(LogLevelName(l), &parsed));
    CHECK(parsed == l);
  }
  LogLevel unchanged = LogLevel::kNotice;
  for (const char* bad : {"", "warn", "INFO", "err", "debug "}) CHECK_FALSE(ParseLogLevel(bad, &unchanged));
  CHECK(unchanged == LogLevel::kNotice);
  CHECK(LogLevel::kDebug < LogLevel::kInfo);
  CHECK(LogLevel::kInfo < LogLevel::kNotice);
  CHECK(LogLevel::kNotice < LogLevel::kWarning);
  CHECK(LogLevel::kWarning < LogLevel::kError);
}

TEST_CASE("log: one fixed-format line per event", "[log]") {
  timeval tv{};
  tv.tv_sec = 1700000000;
  tv.tv_usec = 123456;
  std::string line = FormatLogLine(LogLevel::kWarning, "two\nlines\r\tand\x1b[31m colour", tv, 4242);
  std::regex shape(
      R"(^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.123 fcgi-run\[4242\]: warning: two lines  and \[31m colour\n$)");
  INFO(line);
  CHECK(std::regex_match(line, shape));
  CHECK(FormatLogLine(LogLevel::kNotice, "x", tv, 1).find(": notice: x\n") != std::string::npos);
  CHECK(OneLine("a\nb\x7f") == "a b ");
}

TEST_CASE("log: --log-level drops the lines below it", "[log]") {
  RestoreStderrLog restore;
  test::TempDir dir;
  std::string path = dir.File("launcher.log");
  REQUIRE(Log::Open(path, LogLevel::kNotice).ok());
  CHECK_FALSE(Log::ToStderr());
  CHECK_FALSE(Log::Enabled(LogLevel::kInfo));
  CHECK(Log::Enabled(LogLevel::kNotice));
  LogDebug("d-line");
  LogInfo("i-line");
  LogNotice("n-line");
  LogWarning("w-line");
  LogError("e-line\nsecond half");
  std::string text = test::ReadFile(path);
  INFO(text);
  CHECK(text.find("d-line") == std::string::npos);
  CHECK(text.find("i-line") == std::string::npos);
  CHECK(text.find(": notice: n-line\n") != std::string::npos);
  CHECK(text.find(": warning: w-line\n") != std::string::npos);
  CHECK(text.find(": error: e-line second half\n") != std::string::npos);
  CHECK(std::count(text.begin(), text.end(), '\n') == 3);
}

TEST_CASE("log: --syslog with --log writes both; a file it cannot open is an error", "[log]") {
  RestoreStderrLog restore;
  test::TempDir dir;
  std::string sock_path = dir.File("syslog.sock");
  int rx = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  REQUIRE(rx >= 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, sock_path.c_str(), sizeof addr.sun_path - 1);
  REQUIRE(bind(rx, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  LogOptions options;
  options.path = dir.File("both.log");
  options.min_level = LogLevel::kInfo;
  options.syslog = true;
  options.syslog_socket = sock_path;
  options.syslog_facility = 16;  // local0
  REQUIRE(Log::Open(options).ok());
  LogDebug("not sent");
  LogWarning("to both");
  char buf[512];
  ssize_t n = recv(rx, buf, sizeof buf, MSG_DONTWAIT);
  close(rx);
  REQUIRE(n > 0);
  std::string datagram(buf, static_cast<size_t>(n));
  CHECK(datagram.rfind("<132>", 0) == 0);  // 16 * 8 + 4
  CHECK(datagram.find("fcgi-run[" + std::to_string(getpid()) + "]: warning: to both") != std::string::npos);
  CHECK(test::ReadFile(options.path).find(": warning: to both\n") != std::string::npos);
  CHECK(Log::SyslogDropped() == 0);
  options.path = dir.File("no-such-dir/x.log");
  CHECK_FALSE(Log::Open(options).ok());
}

}  // namespace
}  // namespace fcgi
