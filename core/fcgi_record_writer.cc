#include "core/fcgi_record_writer.h"

#include <algorithm>

#include "core/fcgi_name_value.h"

namespace fcgi {

namespace {

// One management record of `type` holding the name-value pairs pair_at(0),
// pair_at(1), ... (`count` of them), as many as fit in one record; returns
// how many went in.
template <typename PairAt>
size_t AppendPairsRecord(std::string* out, RecordType type, size_t count, PairAt pair_at) {
  std::string content;
  size_t n = 0;
  for (; n < count; ++n) {
    const size_t before = content.size();
    const auto [name, value] = pair_at(n);
    AppendNameValue(&content, name, value);
    if (content.size() > kMaxContentLength) {
      content.resize(before);
      break;
    }
  }
  (void)AppendRecord(out, static_cast<uint8_t>(type), kNullRequestId, content);  // fits by construction
  return n;
}

}  // namespace

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

bool AppendRecord(std::string* out, uint8_t type, uint16_t request_id, std::string_view content) {
  if (content.size() > kMaxContentLength) return false;
  const uint8_t padding = PaddingFor(content.size());
  const size_t start = out->size();
  out->resize(start + kHeaderSize);
  EncodeHeader(out->data() + start, type, request_id, static_cast<uint16_t>(content.size()), padding);
  out->append(content);
  out->append(padding, '\0');
  return true;
}

void AppendStreamData(std::string* out, RecordType type, uint16_t request_id, std::string_view data) {
  while (!data.empty()) {
    const size_t n = std::min(data.size(), kMaxContentLength);
    (void)AppendRecord(out, static_cast<uint8_t>(type), request_id, data.substr(0, n));  // n fits
    data.remove_prefix(n);
  }
}

void AppendStreamEnd(std::string* out, RecordType type, uint16_t request_id) {
  (void)AppendRecord(out, static_cast<uint8_t>(type), request_id, std::string_view());
}

void AppendBeginRequest(std::string* out, uint16_t request_id, Role role, bool keep_conn) {
  AppendBeginRequestRaw(out, request_id, static_cast<uint16_t>(role), keep_conn ? kFlagKeepConn : 0);
}

void AppendBeginRequestRaw(std::string* out, uint16_t request_id, uint16_t role, uint8_t flags) {
  char body[kBeginRequestBodySize] = {};
  body[0] = static_cast<char>(role >> 8);
  body[1] = static_cast<char>(role & 0xff);
  body[2] = static_cast<char>(flags);
  (void)AppendRecord(out, static_cast<uint8_t>(RecordType::kBeginRequest), request_id,
                     std::string_view(body, sizeof(body)));
}

void AppendAbortRequest(std::string* out, uint16_t request_id) {
  (void)AppendRecord(out, static_cast<uint8_t>(RecordType::kAbortRequest), request_id, std::string_view());
}

void AppendEndRequest(std::string* out, uint16_t request_id, uint32_t app_status,
                      ProtocolStatus protocol_status) {
  char body[kEndRequestBodySize] = {};
  body[0] = static_cast<char>((app_status >> 24) & 0xff);
  body[1] = static_cast<char>((app_status >> 16) & 0xff);
  body[2] = static_cast<char>((app_status >> 8) & 0xff);
  body[3] = static_cast<char>(app_status & 0xff);
  body[4] = static_cast<char>(protocol_status);
  (void)AppendRecord(out, static_cast<uint8_t>(RecordType::kEndRequest), request_id,
                     std::string_view(body, sizeof(body)));
}

void AppendUnknownType(std::string* out, uint8_t unknown_type) {
  char body[kUnknownTypeBodySize] = {};
  body[0] = static_cast<char>(unknown_type);
  (void)AppendRecord(out, static_cast<uint8_t>(RecordType::kUnknownType), kNullRequestId,
                     std::string_view(body, sizeof(body)));
}

size_t AppendGetValues(std::string* out, const std::vector<std::string>& names) {
  return AppendPairsRecord(out, RecordType::kGetValues, names.size(), [&names](size_t i) {
    return std::pair<std::string_view, std::string_view>(names[i], std::string_view());
  });
}

size_t AppendGetValuesResult(std::string* out,
                             const std::vector<std::pair<std::string, std::string>>& values) {
  return AppendPairsRecord(out, RecordType::kGetValuesResult, values.size(), [&values](size_t i) {
    return std::pair<std::string_view, std::string_view>(values[i].first, values[i].second);
  });
}

}  // namespace fcgi
