// --syslog datagrams (launcher/log/syslog_sink.h): RFC 3164 shape, priorities,
// and never blocking: a missing or full socket drops and counts.
#include "launcher/log/syslog_sink.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <cstring>
#include <regex>

#include "tests/support/temp_dir.h"

namespace fcgi {
namespace {

// A bound unix datagram socket standing in for /dev/log.
class Receiver {
 public:
  explicit Receiver(const std::string& path) {
    fd_ = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
    ok_ = fd_ >= 0 && bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  }
  ~Receiver() { close(fd_); }
  bool ok() const { return ok_; }
  // One datagram, or "" if none is queued.
  std::string Take() {
    char buf[8192];
    ssize_t n = recv(fd_, buf, sizeof buf, MSG_DONTWAIT);
    return n > 0 ? std::string(buf, static_cast<size_t>(n)) : "";
  }

 private:
  int fd_ = -1;
  bool ok_ = false;
};

TEST_CASE("syslog: facility names and severities", "[syslog]") {
  int code = -1;
  REQUIRE(ParseSyslogFacility("daemon", &code));
  CHECK(code == 3);
  REQUIRE(ParseSyslogFacility("local7", &code));
  CHECK(code == 23);
  REQUIRE(ParseSyslogFacility("user", &code));
  CHECK(code == 1);
  CHECK_FALSE(ParseSyslogFacility("DAEMON", &code));
  CHECK_FALSE(ParseSyslogFacility("local8", &code));
  CHECK(SyslogSeverity(LogLevel::kError) == 3);
  CHECK(SyslogSeverity(LogLevel::kWarning) == 4);
  CHECK(SyslogSeverity(LogLevel::kNotice) == 5);
  CHECK(SyslogSeverity(LogLevel::kInfo) == 6);
  CHECK(SyslogSeverity(LogLevel::kDebug) == 7);
}

TEST_CASE("syslog: RFC 3164 datagram, one line, cut at the size limit", "[syslog]") {
  std::string d = FormatSyslogDatagram(3, LogLevel::kError, "bad\nthing", 1700000000, 77);
  INFO(d);
  std::regex shape(
      R"(^<27>(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [ 123]\d \d\d:\d\d:\d\d fcgi-run\[77\]: error: bad thing$)");
  CHECK(std::regex_match(d, shape));
  std::string longer =
      FormatSyslogDatagram(23, LogLevel::kDebug, std::string(3 * kMaxSyslogMessageBytes, 'x'), 0, 1);
  CHECK(longer.rfind("<191>", 0) == 0);
  CHECK(longer.size() < kMaxSyslogMessageBytes + 100);
}

TEST_CASE("syslog: sends to the socket; drops and counts when it is missing", "[syslog]") {
  test::TempDir dir;
  const std::string path = dir.File("log.sock");
  SyslogSink sink(path, 16);
  sink.Send(LogLevel::kInfo, "before the socket exists");  // ENOENT: dropped, no error, no block
  sink.Send(LogLevel::kInfo, "still missing");
  CHECK(sink.dropped() == 2);
  Receiver rx(path);
  REQUIRE(rx.ok());
  sink.Send(LogLevel::kNotice, "now it is there");
  std::string note = rx.Take(), line = rx.Take();
  INFO(note << "\n" << line);
  CHECK(note.rfind("<132>", 0) == 0);  // local0.warning: the drop report comes first
  CHECK(note.find("2 log lines were dropped") != std::string::npos);
  CHECK(line.rfind("<133>", 0) == 0);  // local0.notice
  CHECK(line.find("]: notice: now it is there") != std::string::npos);
  CHECK(sink.dropped() == 2);
}

TEST_CASE("syslog: a full socket never blocks the sender", "[syslog]") {
  test::TempDir dir;
  const std::string path = dir.File("full.sock");
  Receiver rx(path);  // never read until the end: its queue fills up
  REQUIRE(rx.ok());
  SyslogSink sink(path, 3);
  const std::string filler(2000, 'f');
  for (int i = 0; i < 5000 && sink.dropped() == 0; ++i) sink.Send(LogLevel::kInfo, filler);
  CHECK(sink.dropped() > 0);  // reached without blocking (the loop is bounded)
  while (!rx.Take().empty()) {
  }
  sink.Send(LogLevel::kError, "after the queue drained");
  std::string note = rx.Take();
  CHECK(note.find("log lines were dropped") != std::string::npos);
  CHECK(rx.Take().find("error: after the queue drained") != std::string::npos);
}

}  // namespace
}  // namespace fcgi
