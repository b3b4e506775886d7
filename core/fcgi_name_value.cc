#include "core/fcgi_name_value.h"

#include <cassert>

namespace fcgi {

const std::string* FindParam(const NameValuePairs& params, std::string_view name) {
  for (auto it = params.rbegin(); it != params.rend(); ++it) {
    if (it->first == name) return &it->second;
  }
  return nullptr;
}

namespace {

inline constexpr size_t kMaxOneByteLength = 127;
inline constexpr uint32_t kLongLengthFlag = 0x80000000u;

void AppendLength(std::string* out, size_t length) {
  assert(length < kLongLengthFlag);
  if (length <= kMaxOneByteLength) {
    out->push_back(static_cast<char>(length));
    return;
  }
  const uint32_t v = static_cast<uint32_t>(length) | kLongLengthFlag;
  out->push_back(static_cast<char>((v >> 24) & 0xff));
  out->push_back(static_cast<char>((v >> 16) & 0xff));
  out->push_back(static_cast<char>((v >> 8) & 0xff));
  out->push_back(static_cast<char>(v & 0xff));
}

// Reads one length at in[*pos]. False when `in` ends inside the length.
bool ReadLength(std::string_view in, size_t* pos, size_t* length) {
  if (*pos >= in.size()) return false;
  const uint8_t first = static_cast<uint8_t>(in[*pos]);
  if ((first & 0x80) == 0) {
    *length = first;
    *pos += 1;
    return true;
  }
  if (in.size() - *pos < 4) return false;
  const auto byte = [&](size_t i) { return static_cast<uint32_t>(static_cast<uint8_t>(in[*pos + i])); };
  *length = ((byte(0) & 0x7f) << 24) | (byte(1) << 16) | (byte(2) << 8) | byte(3);
  *pos += 4;
  return true;
}

// Parses the two lengths of the pair at the front of `in`. False when they are
// not both there yet. *header_size: bytes taken by the lengths.
bool ReadLengths(std::string_view in, size_t* header_size, size_t* name_length, size_t* value_length) {
  size_t pos = 0;
  if (!ReadLength(in, &pos, name_length)) return false;
  if (!ReadLength(in, &pos, value_length)) return false;
  *header_size = pos;
  return true;
}

}  // namespace

void AppendNameValue(std::string* out, std::string_view name, std::string_view value) {
  AppendLength(out, name.size());
  AppendLength(out, value.size());
  out->append(name);
  out->append(value);
}

std::string EncodeNameValues(const NameValuePairs& pairs) {
  std::string out;
  for (const auto& [name, value] : pairs) AppendNameValue(&out, name, value);
  return out;
}

DecodeResult DecodeNameValue(std::string_view in, size_t* consumed, std::string_view* name,
                             std::string_view* value) {
  size_t header = 0, name_length = 0, value_length = 0;
  if (!ReadLengths(in, &header, &name_length, &value_length)) return DecodeResult::kNeedMore;
  // Each length is < 2^31, so the sum cannot overflow a 64-bit size_t.
  const size_t total = header + name_length + value_length;
  if (in.size() < total) return DecodeResult::kNeedMore;
  *name = in.substr(header, name_length);
  *value = in.substr(header + name_length, value_length);
  *consumed = total;
  return DecodeResult::kOk;
}

Status DecodeNameValues(std::string_view in, NameValuePairs* out) {
  size_t offset = 0;
  while (offset < in.size()) {
    size_t consumed = 0;
    std::string_view name, value;
    if (DecodeNameValue(in.substr(offset), &consumed, &name, &value) != DecodeResult::kOk) {
      return Status::Protocol("name-value pair at offset " + std::to_string(offset) +
                              " runs past the end of the " + std::to_string(in.size()) + "-byte content");
    }
    out->emplace_back(std::string(name), std::string(value));
    offset += consumed;
  }
  return Status::Ok();
}

Status NameValueStreamDecoder::Feed(std::string_view chunk) {
  if (!error_.ok()) return error_;
  if (chunk.size() > max_total_bytes_ - total_bytes_) {
    error_ =
        Status::Limit("FastCGI params exceed the limit of " + std::to_string(max_total_bytes_) + " bytes");
    std::string().swap(pending_);  // release the partial pair
    return error_;
  }
  total_bytes_ += chunk.size();

  // Decode straight from `chunk` when nothing is pending (the common case:
  // whole pairs in one record); otherwise join the partial pair with the chunk.
  const bool joined = !pending_.empty();
  if (joined) pending_.append(chunk);
  const std::string_view in = joined ? std::string_view(pending_) : chunk;
  size_t offset = 0;
  for (;;) {
    std::string_view rest = in.substr(offset);
    size_t consumed = 0;
    std::string_view name, value;
    if (DecodeNameValue(rest, &consumed, &name, &value) == DecodeResult::kOk) {
      pairs_.emplace_back(std::string(name), std::string(value));
      offset += consumed;
      continue;
    }
    // A pair whose declared size cannot fit in what the limit still allows
    // will never complete: fail now rather than buffer towards it.
    size_t header = 0, name_length = 0, value_length = 0;
    if (ReadLengths(rest, &header, &name_length, &value_length)) {
      const size_t pair_size = header + name_length + value_length;
      const size_t pair_start = total_bytes_ - rest.size();  // stream offset of this pair
      if (pair_size > max_total_bytes_ - pair_start) {
        error_ = Status::Limit("FastCGI param of " + std::to_string(pair_size) +
                               " bytes exceeds the limit of " + std::to_string(max_total_bytes_) + " bytes");
        std::string().swap(pending_);
        return error_;
      }
    }
    break;
  }
  if (joined) {
    pending_.erase(0, offset);
  } else {
    pending_.assign(in.substr(offset));
  }
  return Status::Ok();
}

size_t NameValueStreamDecoder::BufferedBytes() const {
  size_t n = pending_.size();
  for (const auto& [name, value] : pairs_) n += name.size() + value.size();
  return n;
}

Status NameValueStreamDecoder::Finish() {
  if (!error_.ok()) return error_;
  if (!pending_.empty()) {
    return Status::Protocol("PARAMS stream ends inside a name-value pair (" +
                            std::to_string(pending_.size()) + " bytes left over)");
  }
  return Status::Ok();
}

}  // namespace fcgi
