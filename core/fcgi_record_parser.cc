#include "core/fcgi_record_parser.h"

#include <algorithm>
#include <cstring>

namespace fcgi {

namespace {

uint16_t ReadBigEndian16(const char* p) {
  return static_cast<uint16_t>((static_cast<uint8_t>(p[0]) << 8) | static_cast<uint8_t>(p[1]));
}

}  // namespace

RecordHeader DecodeHeader(std::string_view bytes) {
  RecordHeader h;
  const char* p = bytes.data();
  h.version = static_cast<uint8_t>(p[0]);
  h.type = static_cast<uint8_t>(p[1]);
  h.request_id = ReadBigEndian16(p + 2);
  h.content_length = ReadBigEndian16(p + 4);
  h.padding_length = static_cast<uint8_t>(p[6]);
  h.reserved = static_cast<uint8_t>(p[7]);
  return h;
}

bool RecordParser::AtRecordBoundary() const { return state_ == State::kHeader && header_have_ == 0; }

RecordParser::Result RecordParser::Parse(std::string_view input, size_t* consumed, Record* record) {
  size_t pos = 0;
  *consumed = 0;
  if (state_ == State::kFailed) return Result::kError;
  // The content of the record returned by the previous call is no longer needed.
  if (state_ != State::kContent) content_.clear();

  for (;;) {
    switch (state_) {
      case State::kPadding: {
        size_t skip = std::min(padding_left_, input.size() - pos);
        pos += skip;
        padding_left_ -= skip;
        if (padding_left_ > 0) {
          *consumed = pos;
          return Result::kNeedMore;
        }
        state_ = State::kHeader;
        break;
      }

      case State::kHeader: {
        size_t available = input.size() - pos;
        if (header_have_ == 0 && available >= kHeaderSize) {
          header_ = DecodeHeader(input.substr(pos, kHeaderSize));  // fast path
          pos += kHeaderSize;
        } else {
          size_t take = std::min(kHeaderSize - header_have_, available);
          std::memcpy(header_bytes_.data() + header_have_, input.data() + pos, take);
          header_have_ += take;
          pos += take;
          if (header_have_ < kHeaderSize) {
            *consumed = pos;
            return Result::kNeedMore;
          }
          header_ = DecodeHeader(std::string_view(header_bytes_.data(), kHeaderSize));
          header_have_ = 0;
        }
        if (header_.version != kVersion1) {
          error_ = Status::Protocol("FastCGI version " + std::to_string(header_.version) +
                                    " in record header (expected 1)");
          state_ = State::kFailed;
          *consumed = pos;
          return Result::kError;
        }
        state_ = State::kContent;
        break;
      }

      case State::kContent: {
        const size_t need = header_.content_length;
        size_t available = input.size() - pos;
        if (content_.empty() && available >= need) {
          // Zero-copy: the whole content is in the caller's input.
          record->content = input.substr(pos, need);
          pos += need;
        } else {
          size_t take = std::min(need - content_.size(), available);
          if (content_.capacity() < need) content_.reserve(need);
          content_.append(input.data() + pos, take);
          pos += take;
          if (content_.size() < need) {
            *consumed = pos;
            return Result::kNeedMore;
          }
          record->content = std::string_view(content_);
        }
        record->header = header_;
        // Skip as much padding as the input already holds; the rest is skipped
        // at the start of the next call.
        padding_left_ = header_.padding_length;
        size_t skip = std::min(padding_left_, input.size() - pos);
        pos += skip;
        padding_left_ -= skip;
        state_ = padding_left_ > 0 ? State::kPadding : State::kHeader;
        *consumed = pos;
        return Result::kRecord;
      }

      case State::kFailed:
        *consumed = pos;
        return Result::kError;
    }
  }
}

}  // namespace fcgi
