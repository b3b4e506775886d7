#include "core/access_format.h"

#include <cstdio>
#include <ctime>

#include "core/cgi_environment.h"

namespace fcgi {

namespace {

constexpr std::string_view kTokens = "tTmuqsbBdDpPMrH";

void AppendEscaped(std::string_view value, std::string* out) {
  if (value.empty()) {
    *out += '-';
    return;
  }
  for (char c : value) {
    const unsigned char u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f || c == '"' || c == '\\') {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02X", u);
      *out += buf;
    } else {
      *out += c;
    }
  }
}

std::string FormatTime(const AccessRecord& r, bool iso) {
  static const char* const kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                        "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  time_t t = static_cast<time_t>(r.end_unix + r.utc_offset_seconds);
  struct tm tm;
  gmtime_r(&t, &tm);
  const int off = r.utc_offset_seconds;
  const char sign = off < 0 ? '-' : '+';
  const int abs_off = off < 0 ? -off : off;
  char buf[64];
  if (iso) {
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d%c%02d%02d", tm.tm_year + 1900,
                  tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, sign, abs_off / 3600,
                  (abs_off / 60) % 60);
  } else {
    std::snprintf(buf, sizeof buf, "%02d/%s/%04d:%02d:%02d:%02d %c%02d%02d", tm.tm_mday, kMonths[tm.tm_mon],
                  tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec, sign, abs_off / 3600,
                  (abs_off / 60) % 60);
  }
  return buf;
}

}  // namespace

Status AccessFormat::Parse(std::string_view format, AccessFormat* out) {
  AccessFormat f;
  std::string literal;
  for (size_t i = 0; i < format.size(); ++i) {
    if (format[i] != '%') {
      literal += format[i];
      continue;
    }
    if (i + 1 >= format.size()) return Status::Invalid("access format ends with a lone '%'");
    const char c = format[++i];
    if (c == '%') {
      literal += '%';
      continue;
    }
    Piece piece;
    if (c == '{') {
      const size_t close = format.find('}', i);
      if (close == std::string_view::npos || close + 1 >= format.size() || format[close + 1] != 'e' ||
          close == i + 1) {
        return Status::Invalid("access format: %{NAME}e expected at offset " + std::to_string(i - 1));
      }
      piece.token = 'e';
      piece.text = std::string(format.substr(i + 1, close - i - 1));
      f.uses_params_ = true;
      i = close + 1;
    } else if (kTokens.find(c) != std::string_view::npos) {
      piece.token = c;
    } else {
      return Status::Invalid(std::string("access format: unknown token %") + c);
    }
    if (!literal.empty()) f.pieces_.push_back(Piece{0, std::move(literal)});
    literal.clear();
    f.pieces_.push_back(std::move(piece));
  }
  if (!literal.empty()) f.pieces_.push_back(Piece{0, std::move(literal)});
  *out = std::move(f);
  return Status::Ok();
}

std::string AccessFormat::Render(const AccessRecord& r) const {
  std::string out;
  for (const Piece& p : pieces_) {
    switch (p.token) {
      case 0:
        out += p.text;
        break;
      case 't':
        out += FormatTime(r, false);
        break;
      case 'T':
        out += FormatTime(r, true);
        break;
      case 'm':
        AppendEscaped(r.method, &out);
        break;
      case 'u':
        AppendEscaped(r.uri, &out);
        break;
      case 'q':
        AppendEscaped(r.query, &out);
        break;
      case 's':
        out += std::to_string(r.status);
        break;
      case 'b':
        out += std::to_string(r.body_bytes);
        break;
      case 'B':
        out += std::to_string(r.response_bytes);
        break;
      case 'd':
        out += std::to_string(r.duration_us / 1000);
        break;
      case 'D':
        out += std::to_string(r.duration_us);
        break;
      case 'p':
        out += r.pid > 0 ? std::to_string(r.pid) : std::string("-");
        break;
      case 'P':
        AppendEscaped(r.program, &out);
        break;
      case 'M':
        AppendEscaped(r.mode, &out);
        break;
      case 'r':
        AppendEscaped(r.remote_addr, &out);
        break;
      case 'H':
        AppendEscaped(r.protocol, &out);
        break;
      case 'e': {
        const std::string* v = r.params != nullptr ? FindParam(*r.params, p.text) : nullptr;
        AppendEscaped(v != nullptr ? std::string_view(*v) : std::string_view(), &out);
        break;
      }
    }
  }
  return out;
}

}  // namespace fcgi
