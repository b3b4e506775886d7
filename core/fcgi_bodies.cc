#include "core/fcgi_bodies.h"

#include <string>

namespace fcgi {

namespace {

Status CheckSize(std::string_view content, size_t expected, const char* record) {
  if (content.size() >= expected) return Status::Ok();
  return Status::Protocol(std::string(record) + " body is " + std::to_string(content.size()) +
                          " bytes (expected " + std::to_string(expected) + ")");
}

uint8_t Byte(std::string_view content, size_t i) { return static_cast<uint8_t>(content[i]); }

}  // namespace

Status DecodeBeginRequestBody(std::string_view content, BeginRequestBody* out) {
  Status s = CheckSize(content, kBeginRequestBodySize, "BEGIN_REQUEST");
  if (!s.ok()) return s;
  out->role = static_cast<uint16_t>((Byte(content, 0) << 8) | Byte(content, 1));
  out->flags = Byte(content, 2);
  return Status::Ok();
}

Status DecodeEndRequestBody(std::string_view content, EndRequestBody* out) {
  Status s = CheckSize(content, kEndRequestBodySize, "END_REQUEST");
  if (!s.ok()) return s;
  out->app_status = (static_cast<uint32_t>(Byte(content, 0)) << 24) |
                    (static_cast<uint32_t>(Byte(content, 1)) << 16) |
                    (static_cast<uint32_t>(Byte(content, 2)) << 8) | static_cast<uint32_t>(Byte(content, 3));
  out->protocol_status = Byte(content, 4);
  return Status::Ok();
}

Status DecodeUnknownTypeBody(std::string_view content, UnknownTypeBody* out) {
  Status s = CheckSize(content, kUnknownTypeBodySize, "UNKNOWN_TYPE");
  if (!s.ok()) return s;
  out->type = Byte(content, 0);
  return Status::Ok();
}

}  // namespace fcgi
