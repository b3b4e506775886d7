// AddressFilter: which peers may connect over TCP. Pure; no I/O.
//
// The list syntax is that of FCGI_WEB_SERVER_ADDRS and --allow-from: addresses
// and CIDR prefixes separated by commas, whitespace around entries allowed:
//   "127.0.0.1, 10.0.0.0/8, ::1, fd00::/8"
// An IPv4-mapped IPv6 peer (::ffff:1.2.3.4, what a dual-stack socket reports)
// is matched against the IPv4 rules; a rule written as ::ffff:a.b.c.d/N with
// N >= 96 is an IPv4 rule. Host bits below the prefix are ignored
// ("10.1.2.3/8" means 10.0.0.0/8). Unix-socket peers are outside its scope:
// callers apply the filter to TCP connections only.
#ifndef FCGI_RUN_CORE_ADDRESS_FILTER_H_
#define FCGI_RUN_CORE_ADDRESS_FILTER_H_

#include <sys/socket.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace fcgi {

class AddressFilter {
 public:
  AddressFilter() = default;  // no rules: allows nobody

  // Parses `list` into *out (left unchanged on error). Errors are
  // kInvalidArgument and quote the bad entry:
  //   allow-list entry "10.0.0.0/33": prefix length must be 0-32
  // An empty list, or an empty entry ("a,,b", "a,"), is an error.
  static Status Parse(std::string_view list, AddressFilter* out);

  // True when the peer matches a rule. Only AF_INET and AF_INET6 addresses can
  // match; nullptr and other families give false.
  // REQUIRES: `peer` points to a full sockaddr_in / sockaddr_in6 for its family.
  bool Allows(const sockaddr* peer) const;
  // Same for a textual address ("10.1.2.3", "::ffff:10.1.2.3"); false when
  // `ip` is not a valid IPv4 or IPv6 literal.
  bool Allows(std::string_view ip) const;

  bool empty() const { return rules_.empty(); }
  size_t size() const { return rules_.size(); }
  // The rules in canonical form, for logs: "127.0.0.1,10.0.0.0/8,::1".
  std::string ToString() const;

 private:
  struct Rule {
    bool v6 = false;
    std::array<uint8_t, 16> bytes{};  // v4 uses the first 4; host bits zeroed
    int prefix = 0;                   // 0-32 (v4) or 0-128 (v6)
  };
  // `bytes` holds 4 (v4) or 16 (v6, never IPv4-mapped) address bytes.
  bool Matches(bool v6, const uint8_t* bytes) const;

  std::vector<Rule> rules_;
};

}  // namespace fcgi

#endif  // FCGI_RUN_CORE_ADDRESS_FILTER_H_
