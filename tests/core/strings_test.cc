#include "core/strings.h"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

namespace fcgi {
namespace {

TEST_CASE("Trim drops blanks at both ends only", "[strings]") {
  CHECK(Trim("  a b\t") == "a b");
  CHECK(Trim("\t \t").empty());
  CHECK(Trim("").empty());
  CHECK(Trim("x") == "x");
  CHECK(Trim(" x\r\n") == "x\r\n");  // OWS is space and tab
  CHECK(Trim(" x\r\n", " \t\r\n") == "x");
}

TEST_CASE("IsBlank is space and tab only", "[strings]") {
  CHECK(IsBlank(' '));
  CHECK(IsBlank('\t'));
  CHECK_FALSE(IsBlank('\r'));
  CHECK_FALSE(IsBlank('\n'));
  CHECK_FALSE(IsBlank('x'));
}

TEST_CASE("TrimLineEnds drops trailing CR and LF", "[strings]") {
  CHECK(TrimLineEnds("oops\r\n\n") == "oops");
  CHECK(TrimLineEnds("\n").empty());
  CHECK(TrimLineEnds("a\nb") == "a\nb");
}

TEST_CASE("IsAllDigits", "[strings]") {
  CHECK(IsAllDigits("0123456789"));
  CHECK_FALSE(IsAllDigits(""));
  CHECK_FALSE(IsAllDigits("-1"));
  CHECK_FALSE(IsAllDigits("1 "));
}

TEST_CASE("Lower and EqualsIgnoreCase are ASCII only", "[strings]") {
  CHECK(Lower("Content-TYPE") == "content-type");
  CHECK(Lower('Z') == 'z');
  CHECK(Lower('\xc3') == '\xc3');
  CHECK(EqualsIgnoreCase("Cookie", "cOOKIE"));
  CHECK_FALSE(EqualsIgnoreCase("Cookie", "Cookies"));
  CHECK_FALSE(EqualsIgnoreCase("[", "{"));  // 0x5b and 0x7b differ by 0x20 but are not letters
}

TEST_CASE("HexValue", "[strings]") {
  CHECK(HexValue('0') == 0);
  CHECK(HexValue('9') == 9);
  CHECK(HexValue('a') == 10);
  CHECK(HexValue('F') == 15);
  CHECK(HexValue('g') == -1);
  CHECK(HexValue('%') == -1);
}

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
