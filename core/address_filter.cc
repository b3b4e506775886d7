#include "core/address_filter.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstring>

#include "core/cgi_environment.h"  // EscapeForLog
#include "core/strings.h"

namespace fcgi {
namespace {

constexpr uint8_t kV4MappedPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

bool IsV4Mapped(const uint8_t* v6) { return std::memcmp(v6, kV4MappedPrefix, 12) == 0; }

// True when the first `prefix` bits of a and b are equal.
bool PrefixEquals(const uint8_t* a, const uint8_t* b, int prefix) {
  const int whole = prefix / 8, rest = prefix % 8;
  if (std::memcmp(a, b, static_cast<size_t>(whole)) != 0) return false;
  if (rest == 0) return true;
  const uint8_t mask = static_cast<uint8_t>(0xff << (8 - rest));
  return (a[whole] & mask) == (b[whole] & mask);
}

void ClearHostBits(uint8_t* bytes, size_t size, int prefix) {
  for (size_t i = 0; i < size; ++i) {
    const int bit = static_cast<int>(i) * 8;
    if (bit >= prefix) {
      bytes[i] = 0;
    } else if (prefix - bit < 8) {
      bytes[i] &= static_cast<uint8_t>(0xff << (8 - (prefix - bit)));
    }
  }
}

}  // namespace

Status AddressFilter::Parse(std::string_view list, AddressFilter* out) {
  if (Trim(list).empty()) return Status::Invalid("allow-list is empty");
  std::vector<Rule> rules;
  size_t start = 0;
  while (true) {
    const size_t comma = list.find(',', start);
    const std::string_view entry =
        Trim(list.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start));
    auto error = [&](std::string_view why) {
      return Status::Invalid("allow-list entry \"" + EscapeForLog(entry) + "\": " + std::string(why));
    };
    if (entry.empty()) {
      return Status::Invalid("allow-list \"" + EscapeForLog(list) + "\": empty entry");
    }
    const size_t slash = entry.find('/');
    const std::string address(entry.substr(0, slash));
    Rule rule;
    if (inet_pton(AF_INET, address.c_str(), rule.bytes.data()) == 1) {
      rule.v6 = false;
    } else if (inet_pton(AF_INET6, address.c_str(), rule.bytes.data()) == 1) {
      rule.v6 = true;
    } else {
      return error("not an IPv4 or IPv6 address");
    }
    const int max_prefix = rule.v6 ? 128 : 32;
    rule.prefix = max_prefix;
    if (slash != std::string_view::npos) {
      const std::string_view digits = entry.substr(slash + 1);
      if (digits.empty() || digits.size() > 3 ||
          digits.find_first_not_of("0123456789") != std::string_view::npos) {
        return error("prefix length must be a number 0-" + std::to_string(max_prefix));
      }
      rule.prefix = std::stoi(std::string(digits));
      if (rule.prefix > max_prefix) {
        return error("prefix length must be 0-" + std::to_string(max_prefix));
      }
    }
    if (rule.v6 && rule.prefix >= 96 && IsV4Mapped(rule.bytes.data())) {
      // ::ffff:a.b.c.d/N is the IPv4 rule a.b.c.d/(N-96).
      std::memmove(rule.bytes.data(), rule.bytes.data() + 12, 4);
      std::memset(rule.bytes.data() + 4, 0, 12);
      rule.v6 = false;
      rule.prefix -= 96;
    }
    ClearHostBits(rule.bytes.data(), rule.v6 ? 16 : 4, rule.prefix);
    rules.push_back(rule);
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  out->rules_ = std::move(rules);
  return Status::Ok();
}

bool AddressFilter::Matches(bool v6, const uint8_t* bytes) const {
  for (const Rule& rule : rules_) {
    if (rule.v6 == v6 && PrefixEquals(rule.bytes.data(), bytes, rule.prefix)) return true;
  }
  return false;
}

bool AddressFilter::Allows(const sockaddr* peer) const {
  if (peer == nullptr) return false;
  if (peer->sa_family == AF_INET) {
    sockaddr_in in;
    std::memcpy(&in, peer, sizeof in);
    uint8_t bytes[4];
    std::memcpy(bytes, &in.sin_addr, 4);
    return Matches(false, bytes);
  }
  if (peer->sa_family == AF_INET6) {
    sockaddr_in6 in6;
    std::memcpy(&in6, peer, sizeof in6);
    uint8_t bytes[16];
    std::memcpy(bytes, &in6.sin6_addr, 16);
    if (IsV4Mapped(bytes)) return Matches(false, bytes + 12);
    return Matches(true, bytes);
  }
  return false;
}

bool AddressFilter::Allows(std::string_view ip) const {
  const std::string text(ip);
  uint8_t bytes[16];
  if (inet_pton(AF_INET, text.c_str(), bytes) == 1) return Matches(false, bytes);
  if (inet_pton(AF_INET6, text.c_str(), bytes) == 1) {
    if (IsV4Mapped(bytes)) return Matches(false, bytes + 12);
    return Matches(true, bytes);
  }
  return false;
}

std::string AddressFilter::ToString() const {
  std::string out;
  for (const Rule& rule : rules_) {
    char buf[INET6_ADDRSTRLEN];
    if (inet_ntop(rule.v6 ? AF_INET6 : AF_INET, rule.bytes.data(), buf, sizeof buf) == nullptr) {
      continue;
    }
    if (!out.empty()) out += ',';
    out += buf;
    if (rule.prefix != (rule.v6 ? 128 : 32)) out += "/" + std::to_string(rule.prefix);
  }
  return out;
}

}  // namespace fcgi
