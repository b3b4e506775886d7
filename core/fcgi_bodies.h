// Typed bodies of FastCGI records with fixed layouts: BEGIN_REQUEST,
// END_REQUEST, UNKNOWN_TYPE. Pure; no I/O. Encoding lives in
// fcgi_record_writer.h; these functions decode and validate.
#ifndef FCGI_RUN_CORE_FCGI_BODIES_H_
#define FCGI_RUN_CORE_FCGI_BODIES_H_

#include <cstdint>
#include <string_view>

#include "core/fcgi_protocol.h"
#include "core/status.h"

namespace fcgi {

struct BeginRequestBody {
  uint16_t role = 0;  // raw: may be an unknown role
  uint8_t flags = 0;
  bool keep_conn() const { return (flags & kFlagKeepConn) != 0; }
};
struct EndRequestBody {
  uint32_t app_status = 0;
  uint8_t protocol_status = 0;  // raw
};
struct UnknownTypeBody {
  uint8_t type = 0;
};

// Each returns a protocol error naming the record when the content is shorter
// than the fixed body size (8 bytes). Longer content is accepted (extra ignored).
Status DecodeBeginRequestBody(std::string_view content, BeginRequestBody* out);
Status DecodeEndRequestBody(std::string_view content, EndRequestBody* out);
Status DecodeUnknownTypeBody(std::string_view content, UnknownTypeBody* out);

}  // namespace fcgi

#endif  // FCGI_RUN_CORE_FCGI_BODIES_H_
