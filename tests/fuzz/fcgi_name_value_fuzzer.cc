// libFuzzer target for name-value pair decoding.
//
// Invariants checked (abort() on violation):
//  - DecodeNameValues on the whole buffer and NameValueStreamDecoder fed the
//    same bytes in input-derived chunks agree (pairs, success or failure);
//  - with a limit below the input size the stream decoder fails with
//    kLimitExceeded, never takes more than the limit, and the pairs it did
//    decode are a prefix of the unlimited result;
//  - decoded pairs re-encode canonically (never longer) and decode back equal.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <string>
#include <string_view>

#include "core/fcgi_name_value.h"

namespace {

void Check(bool condition, const char* what) {
  if (!condition) {
    std::fprintf(stderr, "fcgi_name_value_fuzzer: invariant violated: %s\n", what);
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);

  fcgi::NameValuePairs whole;
  fcgi::Status whole_status = fcgi::DecodeNameValues(input, &whole);
  Check(whole_status.ok() || whole_status.code() == fcgi::Status::Code::kProtocolError,
        "whole decode failed with an unexpected code");

  // Unlimited stream, chunks derived from the input.
  constexpr size_t kUnlimited = std::numeric_limits<size_t>::max();
  {
    fcgi::NameValueStreamDecoder decoder(kUnlimited);
    size_t off = 0, i = 0;
    while (off < size) {
      size_t n = 1 + (data[(i * 13 + 5) % size] + i) % 97;
      ++i;
      std::string_view piece = input.substr(off, n);
      off += piece.size();
      Check(decoder.Feed(piece).ok(), "unlimited stream decoder failed");
    }
    fcgi::Status finish = decoder.Finish();
    Check(finish.ok() == whole_status.ok(), "stream and whole decode disagree on success");
    if (finish.ok()) Check(decoder.pairs() == whole, "stream and whole decode disagree on pairs");
    Check(decoder.total_bytes() == size, "stream total_bytes wrong");
  }

  // Limited stream: limit derived from the first byte, below the input size.
  if (size > 1) {
    const size_t limit = data[0] % size;
    fcgi::NameValueStreamDecoder decoder(limit);
    fcgi::Status last;
    size_t off = 0, i = 0;
    while (off < size) {
      size_t n = 1 + (data[(i * 5 + 1) % size] ^ i) % 31;
      ++i;
      std::string_view piece = input.substr(off, n);
      off += piece.size();
      last = decoder.Feed(piece);
      Check(decoder.total_bytes() <= limit, "stream decoder took more than its limit");
      if (!last.ok()) break;
    }
    Check(!last.ok(), "input over the limit was accepted");
    fcgi::Status finish = decoder.Finish();
    Check(finish.code() == fcgi::Status::Code::kLimitExceeded,
          "over-limit stream did not end in kLimitExceeded");
    const fcgi::NameValuePairs& got = decoder.pairs();
    fcgi::NameValueStreamDecoder reference(kUnlimited);
    (void)reference.Feed(input);
    const fcgi::NameValuePairs& all = reference.pairs();
    Check(got.size() <= all.size(), "limited decoder found more pairs");
    for (size_t k = 0; k < got.size(); ++k) Check(got[k] == all[k], "limited pairs not a prefix");
  }

  if (whole_status.ok()) {
    std::string re = fcgi::EncodeNameValues(whole);
    Check(re.size() <= size, "canonical encoding is longer than the input");
    fcgi::NameValuePairs back;
    Check(fcgi::DecodeNameValues(re, &back).ok() && back == whole, "re-encoded pairs differ");
  }
  return 0;
}
