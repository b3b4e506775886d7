// RecordParser: incremental FastCGI record parser (pure; no I/O).
//
// Contract (after picohttpparser): Parse() is handed whatever bytes arrived, in
// chunks of any size (one byte at a time included). It consumes as much as it can
// and reports one of: a complete record, need-more (all input consumed, no record
// yet), or error (the stream is unusable; the connection should be closed).
// Padding is skipped; reserved bytes are accepted whatever their value; a version
// other than 1 is an error naming the version.
//
// Ownership: Record::content points either into the caller's input or into the
// parser's own buffer; it stays valid until the next call to Parse() or the
// input buffer changes, whichever comes first. The parser buffers at most one
// record's content (<= 65535 bytes).
#ifndef FCGI_RUN_CORE_FCGI_RECORD_PARSER_H_
#define FCGI_RUN_CORE_FCGI_RECORD_PARSER_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/fcgi_protocol.h"
#include "core/status.h"

namespace fcgi {

struct RecordHeader {
  uint8_t version = kVersion1;
  uint8_t type = 0;  // raw: may be an unknown type
  uint16_t request_id = 0;
  uint16_t content_length = 0;
  uint8_t padding_length = 0;
  uint8_t reserved = 0;
};

// Decodes an 8-byte header. REQUIRES: bytes.size() >= kHeaderSize.
RecordHeader DecodeHeader(std::string_view bytes);

struct Record {
  RecordHeader header;
  std::string_view content;  // header.content_length bytes; see lifetime above
};

class RecordParser {
 public:
  enum class Result { kRecord, kNeedMore, kError };

  RecordParser() = default;
  RecordParser(const RecordParser&) = delete;
  RecordParser& operator=(const RecordParser&) = delete;

  // Consumes bytes from the front of `input`, setting *consumed to how many.
  // kRecord: *record is complete (its padding is consumed too, as far as the
  //   input holds it; any padding left is skipped by the next call).
  // kNeedMore: *consumed == input.size(); call again with more bytes.
  // kError: error() says why; every later call returns kError.
  Result Parse(std::string_view input, size_t* consumed, Record* record);

  const Status& error() const { return error_; }
  // True when no partial record is buffered (a clean place for the peer to close).
  bool AtRecordBoundary() const;

 private:
  enum class State { kHeader, kContent, kPadding, kFailed };
  State state_ = State::kHeader;
  std::array<char, kHeaderSize> header_bytes_{};
  size_t header_have_ = 0;
  RecordHeader header_;
  std::string content_;  // used only when a record's content spans calls
  size_t padding_left_ = 0;
  Status error_;
};

}  // namespace fcgi

#endif  // FCGI_RUN_CORE_FCGI_RECORD_PARSER_H_
