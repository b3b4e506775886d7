// FastCGI name-value pairs (the body of PARAMS, GET_VALUES, GET_VALUES_RESULT).
// Lengths are 1 byte when <= 127, else 4 bytes big-endian with the top bit set.
// Pure; no I/O.
#ifndef FCGI_RUN_CORE_FCGI_NAME_VALUE_H_
#define FCGI_RUN_CORE_FCGI_NAME_VALUE_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/status.h"

namespace fcgi {

using NameValuePairs = std::vector<std::pair<std::string, std::string>>;

// The value of the pair named `name`, or nullptr. The last occurrence wins,
// as in the CGI environment built from the params.
const std::string* FindParam(const NameValuePairs& params, std::string_view name);

inline constexpr size_t kDefaultMaxParamsBytes = 1 << 20;  // 1 MiB

// Appends one encoded pair. REQUIRES: lengths < 2^31.
void AppendNameValue(std::string* out, std::string_view name, std::string_view value);
// Encodes all pairs, in order.
std::string EncodeNameValues(const NameValuePairs& pairs);

enum class DecodeResult { kOk, kNeedMore, kError };

// Decodes one pair from the front of `in`. kOk: *consumed bytes used, name/value
// point into `in`. kNeedMore: `in` holds only part of a pair. (Lengths alone can
// never be an error here; callers enforce size limits.)
DecodeResult DecodeNameValue(std::string_view in, size_t* consumed, std::string_view* name,
                             std::string_view* value);

// Decodes a whole, complete buffer of pairs (GET_VALUES bodies). Error when the
// buffer ends inside a pair.
Status DecodeNameValues(std::string_view in, NameValuePairs* out);

// Decodes a stream of pairs delivered in arbitrary chunks (a pair may straddle
// PARAMS records). The total of bytes fed is limited; exceeding it is an error
// value (kLimitExceeded) and the decoder then stops buffering (memory never
// grows past the limit). A pair whose declared lengths would end beyond the
// limit fails as soon as its lengths are read, before its bytes arrive.
// A chunk that would cross the limit is rejected whole (total_bytes() excludes it).
class NameValueStreamDecoder {
 public:
  explicit NameValueStreamDecoder(size_t max_total_bytes = kDefaultMaxParamsBytes)
      : max_total_bytes_(max_total_bytes) {}
  NameValueStreamDecoder(const NameValueStreamDecoder&) = delete;
  NameValueStreamDecoder& operator=(const NameValueStreamDecoder&) = delete;

  // Feeds the next chunk. After an error every call returns that error.
  Status Feed(std::string_view chunk);
  // End of stream: an error if a partial pair is left over.
  Status Finish();

  const NameValuePairs& pairs() const { return pairs_; }
  NameValuePairs TakePairs() { return std::move(pairs_); }
  size_t total_bytes() const { return total_bytes_; }
  // Bytes held right now: the partial pair plus the decoded names and values
  // (never more than the limit; checked by the connection_state fuzzer).
  size_t BufferedBytes() const;

 private:
  size_t max_total_bytes_;
  size_t total_bytes_ = 0;
  std::string pending_;  // bytes of an incomplete pair
  NameValuePairs pairs_;
  Status error_;
};

}  // namespace fcgi

#endif  // FCGI_RUN_CORE_FCGI_NAME_VALUE_H_
