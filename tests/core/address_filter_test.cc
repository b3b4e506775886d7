#include "core/address_filter.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/un.h>

#include <catch2/catch.hpp>

#include <cstring>
#include <string>

namespace fcgi {
namespace {

AddressFilter MustParse(std::string_view list) {
  AddressFilter f;
  Status s = AddressFilter::Parse(list, &f);
  INFO(list << ": " << s.ToString());
  REQUIRE(s.ok());
  return f;
}

std::string ErrorOf(std::string_view list) {
  AddressFilter f = MustParse("1.2.3.4");
  Status s = AddressFilter::Parse(list, &f);
  INFO(list);
  CHECK_FALSE(s.ok());
  CHECK(s.code() == Status::Code::kInvalidArgument);
  CHECK(f.ToString() == "1.2.3.4");  // left unchanged
  return s.message();
}

sockaddr_in V4(const char* ip) {
  sockaddr_in sa;
  std::memset(&sa, 0, sizeof sa);
  sa.sin_family = AF_INET;
  sa.sin_port = htons(1234);
  REQUIRE(inet_pton(AF_INET, ip, &sa.sin_addr) == 1);
  return sa;
}

sockaddr_in6 V6(const char* ip) {
  sockaddr_in6 sa;
  std::memset(&sa, 0, sizeof sa);
  sa.sin6_family = AF_INET6;
  sa.sin6_port = htons(1234);
  REQUIRE(inet_pton(AF_INET6, ip, &sa.sin6_addr) == 1);
  return sa;
}

bool AllowsV4(const AddressFilter& f, const char* ip) {
  sockaddr_in sa = V4(ip);
  return f.Allows(reinterpret_cast<const sockaddr*>(&sa));
}

bool AllowsV6(const AddressFilter& f, const char* ip) {
  sockaddr_in6 sa = V6(ip);
  return f.Allows(reinterpret_cast<const sockaddr*>(&sa));
}

TEST_CASE("AddressFilter: single addresses and prefixes", "[address_filter]") {
  AddressFilter f = MustParse("127.0.0.1,10.0.0.0/8,::1,fd00::/8");
  CHECK(f.size() == 4);
  CHECK(f.ToString() == "127.0.0.1,10.0.0.0/8,::1,fd00::/8");

  CHECK(AllowsV4(f, "127.0.0.1"));
  CHECK_FALSE(AllowsV4(f, "127.0.0.2"));
  CHECK(AllowsV4(f, "10.0.0.0"));
  CHECK(AllowsV4(f, "10.255.255.255"));
  CHECK_FALSE(AllowsV4(f, "11.0.0.0"));
  CHECK_FALSE(AllowsV4(f, "9.255.255.255"));
  CHECK(AllowsV6(f, "::1"));
  CHECK_FALSE(AllowsV6(f, "::2"));
  CHECK(AllowsV6(f, "fd12:3456::1"));
  CHECK(AllowsV6(f, "fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"));
  CHECK_FALSE(AllowsV6(f, "fe00::1"));
  CHECK_FALSE(AllowsV6(f, "fc00::1"));

  CHECK(f.Allows(std::string_view("10.1.2.3")));
  CHECK(f.Allows(std::string_view("fd00::abcd")));
  CHECK_FALSE(f.Allows(std::string_view("192.168.1.1")));
  CHECK_FALSE(f.Allows(std::string_view("not an address")));
  CHECK_FALSE(f.Allows(std::string_view("")));
}

TEST_CASE("AddressFilter: prefixes that do not fall on a byte", "[address_filter]") {
  AddressFilter f = MustParse("192.168.4.0/22, 2001:db8:8000::/33");
  CHECK(f.Allows(std::string_view("192.168.4.0")));
  CHECK(f.Allows(std::string_view("192.168.7.255")));
  CHECK_FALSE(f.Allows(std::string_view("192.168.8.0")));
  CHECK_FALSE(f.Allows(std::string_view("192.168.3.255")));
  CHECK(f.Allows(std::string_view("2001:db8:8000::1")));
  CHECK(f.Allows(std::string_view("2001:db8:ffff::1")));
  CHECK_FALSE(f.Allows(std::string_view("2001:db8:7fff::1")));
  // Host bits are ignored; /0 matches the whole family only.
  CHECK(MustParse("10.1.2.3/8").ToString() == "10.0.0.0/8");
  AddressFilter any4 = MustParse("0.0.0.0/0");
  CHECK(any4.Allows(std::string_view("203.0.113.9")));
  CHECK_FALSE(any4.Allows(std::string_view("2001:db8::1")));
  AddressFilter any6 = MustParse("::/0");
  CHECK(any6.Allows(std::string_view("2001:db8::1")));
  CHECK_FALSE(any6.Allows(std::string_view("203.0.113.9")));
}

TEST_CASE("AddressFilter: IPv4-mapped IPv6 peers match IPv4 rules", "[address_filter]") {
  AddressFilter f = MustParse("127.0.0.1, 10.0.0.0/8");
  CHECK(AllowsV6(f, "::ffff:127.0.0.1"));
  CHECK(AllowsV6(f, "::ffff:10.9.8.7"));
  CHECK_FALSE(AllowsV6(f, "::ffff:11.0.0.1"));
  CHECK(f.Allows(std::string_view("::ffff:10.0.0.1")));
  // ...but the IPv4-compatible or NAT64 forms are not IPv4.
  CHECK_FALSE(f.Allows(std::string_view("::10.0.0.1")));
  CHECK_FALSE(f.Allows(std::string_view("64:ff9b::10.0.0.1")));

  // A mapped rule is an IPv4 rule.
  AddressFilter mapped = MustParse("::ffff:192.0.2.0/120");
  CHECK(mapped.ToString() == "192.0.2.0/24");
  CHECK(AllowsV4(mapped, "192.0.2.77"));
  CHECK(AllowsV6(mapped, "::ffff:192.0.2.77"));
  CHECK_FALSE(AllowsV4(mapped, "192.0.3.1"));
}

TEST_CASE("AddressFilter: other families and the empty filter", "[address_filter]") {
  AddressFilter f = MustParse("0.0.0.0/0,::/0");
  sockaddr_un un;
  std::memset(&un, 0, sizeof un);
  un.sun_family = AF_UNIX;
  CHECK_FALSE(f.Allows(reinterpret_cast<const sockaddr*>(&un)));
  CHECK_FALSE(f.Allows(static_cast<const sockaddr*>(nullptr)));
  CHECK(AllowsV4(f, "1.2.3.4"));

  AddressFilter none;
  CHECK(none.empty());
  CHECK_FALSE(AllowsV4(none, "127.0.0.1"));
  CHECK_FALSE(none.Allows(std::string_view("::1")));
}

TEST_CASE("AddressFilter: bad entries are errors quoting the entry", "[address_filter]") {
  CHECK(ErrorOf("") == "allow-list is empty");
  CHECK(ErrorOf(" \t ") == "allow-list is empty");
  CHECK(ErrorOf("127.0.0.1,,::1") == "allow-list \"127.0.0.1,,::1\": empty entry");
  CHECK(ErrorOf("127.0.0.1,") == "allow-list \"127.0.0.1,\": empty entry");
  CHECK(ErrorOf("127.0.0.1, localhost") == "allow-list entry \"localhost\": not an IPv4 or IPv6 address");
  CHECK(ErrorOf("300.1.1.1") == "allow-list entry \"300.1.1.1\": not an IPv4 or IPv6 address");
  CHECK(ErrorOf("10.0.0.0/33") == "allow-list entry \"10.0.0.0/33\": prefix length must be 0-32");
  CHECK(ErrorOf("::/129") == "allow-list entry \"::/129\": prefix length must be 0-128");
  CHECK(ErrorOf("10.0.0.0/") == "allow-list entry \"10.0.0.0/\": prefix length must be a number 0-32");
  CHECK(ErrorOf("10.0.0.0/-1").find("must be a number") != std::string::npos);
  CHECK(ErrorOf("10.0.0.0/8/8").find("must be a number") != std::string::npos);
  CHECK(ErrorOf("10.0.0.0/0008").find("must be a number") != std::string::npos);
  CHECK(ErrorOf("fe80::1%eth0").find("not an IPv4 or IPv6 address") != std::string::npos);
  CHECK(ErrorOf("10.0.0.0 /8").find("not an IPv4") != std::string::npos);
}

}  // namespace
}  // namespace fcgi
