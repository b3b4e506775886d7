#include "core/listen_address.h"

#include <catch2/catch.hpp>

#include <string>

namespace fcgi {
namespace {

using Kind = ListenAddress::Kind;

ListenAddress MustParse(std::string_view text) {
  ListenAddress a;
  Status s = ParseListenAddress(text, &a);
  INFO(text << ": " << s.ToString());
  REQUIRE(s.ok());
  // The canonical form reads back to the same address.
  ListenAddress again;
  REQUIRE(ParseListenAddress(a.ToString(), &again).ok());
  CHECK(again == a);
  return a;
}

std::string ErrorOf(std::string_view text) {
  ListenAddress a;
  a.fd = 42;
  Status s = ParseListenAddress(text, &a);
  INFO(text);
  CHECK_FALSE(s.ok());
  CHECK(s.code() == Status::Code::kInvalidArgument);
  CHECK(a.fd == 42);  // left unchanged
  return s.message();
}

TEST_CASE("ParseListenAddress: unix sockets", "[listen_address]") {
  ListenAddress a = MustParse("unix:/run/app.sock");
  CHECK(a.kind == Kind::kUnix);
  CHECK(a.path == "/run/app.sock");
  CHECK(a.ToString() == "unix:/run/app.sock");

  a = MustParse("/tmp/x.sock");
  CHECK(a.kind == Kind::kUnix);
  CHECK(a.path == "/tmp/x.sock");
  CHECK(a.ToString() == "unix:/tmp/x.sock");

  CHECK(MustParse("unix:rel/app.sock").path == "rel/app.sock");
  // sun_path holds 108 bytes including the NUL.
  CHECK(MustParse("/" + std::string(106, 'a')).path.size() == 107);
  CHECK(ErrorOf("/" + std::string(107, 'a')) ==
        "listen address \"/" + std::string(79, 'a') +
            "...\": unix socket path is 108 bytes, longer than the 107 that fit in sun_path");
  CHECK(ErrorOf("unix:") == "listen address \"unix:\": empty unix socket path");
  CHECK(ErrorOf(std::string("unix:/a\0b", 9)) ==
        "listen address \"unix:/a\\x00b\": unix socket path contains NUL");
}

TEST_CASE("ParseListenAddress: TCP", "[listen_address]") {
  ListenAddress a = MustParse("tcp:127.0.0.1:9000");
  CHECK(a.kind == Kind::kTcp);
  CHECK(a.host == "127.0.0.1");
  CHECK(a.port == 9000);
  CHECK(a.ToString() == "tcp:127.0.0.1:9000");

  a = MustParse("tcp:[::1]:9000");
  CHECK(a.host == "::1");
  CHECK(a.port == 9000);
  CHECK(a.ToString() == "tcp:[::1]:9000");

  a = MustParse("tcp:localhost:1");
  CHECK(a.host == "localhost");
  CHECK(a.port == 1);
  CHECK(MustParse("tcp:0.0.0.0:65535").port == 65535);
  CHECK(MustParse("tcp:[::]:80").host == "::");
  CHECK(MustParse("tcp:backend-1.example.org:8080").host == "backend-1.example.org");
  CHECK(MustParse("tcp:[::ffff:10.0.0.1]:80").host == "::ffff:10.0.0.1");

  SECTION("bare forms") {
    CHECK(MustParse("127.0.0.1:9000") == MustParse("tcp:127.0.0.1:9000"));
    CHECK(MustParse("[::1]:9000") == MustParse("tcp:[::1]:9000"));
    CHECK(MustParse("localhost:9000") == MustParse("tcp:localhost:9000"));
  }
}

TEST_CASE("ParseListenAddress: TCP errors", "[listen_address]") {
  CHECK(ErrorOf("tcp:1.2.3.4") == "listen address \"tcp:1.2.3.4\": missing :PORT");
  CHECK(ErrorOf("tcp:localhost") == "listen address \"tcp:localhost\": missing :PORT");
  CHECK(ErrorOf("tcp:[::1]") == "listen address \"tcp:[::1]\": missing :PORT");
  CHECK(ErrorOf("tcp:1.2.3.4:") == "listen address \"tcp:1.2.3.4:\": missing port number after ':'");
  CHECK(ErrorOf("tcp:1.2.3.4:0") == "listen address \"tcp:1.2.3.4:0\": port 0 out of range 1-65535");
  CHECK(ErrorOf("tcp:1.2.3.4:65536").find("out of range 1-65535") != std::string::npos);
  CHECK(ErrorOf("tcp:1.2.3.4:9999999999").find("out of range") != std::string::npos);
  CHECK(ErrorOf("tcp:1.2.3.4:http") == "listen address \"tcp:1.2.3.4:http\": invalid port \"http\"");
  CHECK(ErrorOf("tcp:1.2.3.4:-1").find("invalid port") != std::string::npos);
  CHECK(ErrorOf("tcp:1.2.3.4: 80").find("invalid port") != std::string::npos);
  CHECK(ErrorOf(":9000").find("missing host; to listen on every interface") != std::string::npos);
  CHECK(ErrorOf("tcp::9000").find("tcp:0.0.0.0:PORT") != std::string::npos);
  CHECK(ErrorOf("tcp:") == "listen address \"tcp:\": missing HOST:PORT");
  for (const char* v6 : {"tcp:::1:9000", "::1:9000", "fe80::1:9000", "tcp:::1", "2001:db8::1"}) {
    CHECK(ErrorOf(v6).find("IPv6 address needs brackets, e.g. tcp:[::1]:9000") != std::string::npos);
  }
  CHECK(ErrorOf("tcp:[::1:9000").find("missing ']'") != std::string::npos);
  CHECK(ErrorOf("tcp:[::1]9000").find("expected :PORT after ']'") != std::string::npos);
  CHECK(ErrorOf("tcp:[1.2.3.4]:80") ==
        "listen address \"tcp:[1.2.3.4]:80\": invalid IPv6 address \"1.2.3.4\"");
  CHECK(ErrorOf("tcp:999.1.1.1:80").find("invalid host \"999.1.1.1\"") != std::string::npos);
  CHECK(ErrorOf("tcp:1.2.3:80").find("invalid host") != std::string::npos);
  CHECK(ErrorOf("tcp:bad host:80").find("invalid host") != std::string::npos);
  CHECK(ErrorOf("tcp:a..b:80").find("invalid host") != std::string::npos);
}

TEST_CASE("ParseListenAddress: inherited descriptors", "[listen_address]") {
  ListenAddress a = MustParse("fd:3");
  CHECK(a.kind == Kind::kFd);
  CHECK(a.fd == 3);
  CHECK(a.ToString() == "fd:3");
  CHECK(MustParse("fd:0").fd == 0);
  CHECK(MustParse("fd:2147483647").fd == 2147483647);
  CHECK(ErrorOf("fd:-1") == "listen address \"fd:-1\": negative file descriptor");
  CHECK(ErrorOf("fd:x") == "listen address \"fd:x\": file descriptor \"x\" is not a number");
  CHECK(ErrorOf("fd:3 ").find("is not a number") != std::string::npos);
  CHECK(ErrorOf("fd:") == "listen address \"fd:\": fd:N needs a descriptor number");
  CHECK(ErrorOf("fd:2147483648") == "listen address \"fd:2147483648\": file descriptor too large");
}

TEST_CASE("ParseListenAddress: unknown forms", "[listen_address]") {
  CHECK(ErrorOf("") == "listen address \"\": expected unix:PATH, tcp:HOST:PORT or fd:N");
  CHECK(ErrorOf("localhost") == "listen address \"localhost\": expected unix:PATH, tcp:HOST:PORT or fd:N");
  CHECK(ErrorOf("app.sock").find("expected unix:PATH") != std::string::npos);
  CHECK(ErrorOf("udp:1.2.3.4:53") ==
        "listen address \"udp:1.2.3.4:53\": unknown scheme \"udp\"; "
        "expected unix:PATH, tcp:HOST:PORT or fd:N");
  CHECK(ErrorOf("http://localhost/").find("unknown scheme \"http\"") != std::string::npos);
  CHECK(ErrorOf("TCP:1.2.3.4:80").find("unknown scheme \"TCP\"") != std::string::npos);
}

TEST_CASE("IsLoopbackHost", "[listen_address]") {
  for (const char* yes : {"localhost", "LocalHost", "localhost.", "127.0.0.1", "127.255.0.9", "::1", "[::1]",
                          "::ffff:127.0.0.1", "0:0:0:0:0:0:0:1"}) {
    INFO(yes);
    CHECK(IsLoopbackHost(yes));
  }
  for (const char* no : {"0.0.0.0", "::", "[::]", "10.0.0.1", "128.0.0.1", "::2", "::ffff:10.0.0.1",
                         "example.org", "localhost.example.org", "mylocalhost", "", "[", "126.0.0.1"}) {
    INFO(no);
    CHECK_FALSE(IsLoopbackHost(no));
  }
}

}  // namespace
}  // namespace fcgi
