#include "core/fcgi_record_writer.h"

#include <algorithm>
#include <cassert>

#include "core/fcgi_name_value.h"

namespace fcgi {

void EncodeHeader(char* out, uint8_t type, uint16_t request_id, uint16_t content_length,
                  uint8_t padding_length) {
  out[0] = static_cast<char>(kVersion1);
  out[1] = static_cast<char>(type);
  out[2] = static_cast<char>(request_id >> 8);
  out[3] = static_cast<char>(request_id & 0xff);
  out[4] = static_cast<char>(content_length >> 8);
  out[5] = static_cast<char>(content_length & 0xff);
  out[6] = static_cast<char>(padding_length);
  out[7] = 0;
}

void AppendRecord(std::string* out, uint8_t type, uint16_t request_id, std::string_view content) {
  assert(content.size() <= kMaxContentLength);
  const uint8_t padding = PaddingFor(content.size());
  const size_t start = out->size();
  out->resize(start + kHeaderSize);
  EncodeHeader(out->data() + start, type, request_id, static_cast<uint16_t>(content.size()), padding);
  out->append(content);
  out->append(padding, '\0');
}

void AppendStreamData(std::string* out, RecordType type, uint16_t request_id, std::string_view data) {
  while (!data.empty()) {
    const size_t n = std::min(data.size(), kMaxContentLength);
    AppendRecord(out, static_cast<uint8_t>(type), request_id, data.substr(0, n));
    data.remove_prefix(n);
  }
}

void AppendStreamEnd(std::string* out, RecordType type, uint16_t request_id) {
  AppendRecord(out, static_cast<uint8_t>(type), request_id, std::string_view());
}

void AppendBeginRequest(std::string* out, uint16_t request_id, Role role, bool keep_conn) {
  AppendBeginRequestRaw(out, request_id, static_cast<uint16_t>(role), keep_conn ? kFlagKeepConn : 0);
}

void AppendBeginRequestRaw(std::string* out, uint16_t request_id, uint16_t role, uint8_t flags) {
  char body[kBeginRequestBodySize] = {};
  body[0] = static_cast<char>(role >> 8);
  body[1] = static_cast<char>(role & 0xff);
  body[2] = static_cast<char>(flags);
  AppendRecord(out, static_cast<uint8_t>(RecordType::kBeginRequest), request_id,
               std::string_view(body, sizeof(body)));
}

void AppendAbortRequest(std::string* out, uint16_t request_id) {
  AppendRecord(out, static_cast<uint8_t>(RecordType::kAbortRequest), request_id, std::string_view());
}

void AppendEndRequest(std::string* out, uint16_t request_id, uint32_t app_status,
                      ProtocolStatus protocol_status) {
  char body[kEndRequestBodySize] = {};
  body[0] = static_cast<char>((app_status >> 24) & 0xff);
  body[1] = static_cast<char>((app_status >> 16) & 0xff);
  body[2] = static_cast<char>((app_status >> 8) & 0xff);
  body[3] = static_cast<char>(app_status & 0xff);
  body[4] = static_cast<char>(protocol_status);
  AppendRecord(out, static_cast<uint8_t>(RecordType::kEndRequest), request_id,
               std::string_view(body, sizeof(body)));
}

void AppendUnknownType(std::string* out, uint8_t unknown_type) {
  char body[kUnknownTypeBodySize] = {};
  body[0] = static_cast<char>(unknown_type);
  AppendRecord(out, static_cast<uint8_t>(RecordType::kUnknownType), kNullRequestId,
               std::string_view(body, sizeof(body)));
}

void AppendGetValues(std::string* out, const std::vector<std::string>& names) {
  std::string content;
  for (const std::string& name : names) AppendNameValue(&content, name, std::string_view());
  AppendRecord(out, static_cast<uint8_t>(RecordType::kGetValues), kNullRequestId, content);
}

void AppendGetValuesResult(std::string* out, const std::vector<std::pair<std::string, std::string>>& values) {
  AppendRecord(out, static_cast<uint8_t>(RecordType::kGetValuesResult), kNullRequestId,
               EncodeNameValues(values));
}

}  // namespace fcgi
