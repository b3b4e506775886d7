// Encoders for FastCGI records (pure; no I/O). Each Append* function appends
// complete records to *out. Padding policy: content is padded to a multiple of
// 8 bytes (the specification's recommendation), so paddingLength is 0-7.
#ifndef FCGI_RUN_CORE_FCGI_RECORD_WRITER_H_
#define FCGI_RUN_CORE_FCGI_RECORD_WRITER_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/fcgi_protocol.h"

namespace fcgi {

// Padding that brings `content_length` to a multiple of 8.
inline uint8_t PaddingFor(size_t content_length) {
  return static_cast<uint8_t>((8 - (content_length % 8)) % 8);
}

// Writes an 8-byte header into out[0..7].
void EncodeHeader(char* out, uint8_t type, uint16_t request_id, uint16_t content_length,
                  uint8_t padding_length);

// One record. A record holds at most kMaxContentLength (65,535) bytes: with
// more content nothing is appended and the result is false (a header cannot
// say the length, so the peer's record stream would go out of step).
[[nodiscard]] bool AppendRecord(std::string* out, uint8_t type, uint16_t request_id,
                                std::string_view content);

// A stream's data (PARAMS, STDIN, STDOUT, STDERR, DATA), split into as many
// records as needed (each <= 65535 bytes). Empty `data` appends nothing: the
// end of a stream is written by AppendStreamEnd.
void AppendStreamData(std::string* out, RecordType type, uint16_t request_id, std::string_view data);
// The empty record that ends a stream.
void AppendStreamEnd(std::string* out, RecordType type, uint16_t request_id);

void AppendBeginRequest(std::string* out, uint16_t request_id, Role role, bool keep_conn);
// Same with a raw role value (for tests of unknown roles).
void AppendBeginRequestRaw(std::string* out, uint16_t request_id, uint16_t role, uint8_t flags);
void AppendAbortRequest(std::string* out, uint16_t request_id);
void AppendEndRequest(std::string* out, uint16_t request_id, uint32_t app_status,
                      ProtocolStatus protocol_status);
void AppendUnknownType(std::string* out, uint8_t unknown_type);
// GET_VALUES with the given names (empty values), and GET_VALUES_RESULT with
// the given pairs: management records (id 0), one each. The names or pairs
// that would take the record past kMaxContentLength are left out (from the
// first one that does not fit); the result is how many went in.
size_t AppendGetValues(std::string* out, const std::vector<std::string>& names);
size_t AppendGetValuesResult(std::string* out,
                             const std::vector<std::pair<std::string, std::string>>& values);

}  // namespace fcgi

#endif  // FCGI_RUN_CORE_FCGI_RECORD_WRITER_H_
