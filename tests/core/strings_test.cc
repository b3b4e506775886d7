#include "core/strings.h"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

namespace fcgi {
namespace {

TEST_CASE("one line: control characters become blanks", "[strings]") {
  CHECK(OneLine("a\nb\tc\x7f") == "a b c ");
}

TEST_CASE("closest match: likely typos of option names", "[strings]") {
  const std::vector<std::string> names = {"socket-owner", "socket-mode", "workers", "timeout",
                                          "log",          "log-level",   "listen",  "max-body"};
  CHECK(ClosestMatch("socket_owner", names) == "socket-owner");  // '_' for '-' costs nothing
  CHECK(ClosestMatch("workerz", names) == "workers");
  CHECK(ClosestMatch("timout", names) == "timeout");
  CHECK(ClosestMatch("tiemout", names) == "timeout");  // two letters swapped: one edit
  CHECK(ClosestMatch("lsiten", names) == "listen");
  CHECK(ClosestMatch("maxbody", names) == "max-body");
  CHECK(ClosestMatch("lg", names) == "log");
  CHECK(ClosestMatch("loglevel", names) == "log-level");
  CHECK(ClosestMatch("colour", names).empty());
  CHECK(ClosestMatch("x", names).empty());
  CHECK(ClosestMatch("workers", {}).empty());
}

}  // namespace
}  // namespace fcgi
