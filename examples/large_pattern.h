/* large_pattern.h: the deterministic byte pattern large.cgi and
 * write_before_read.cgi write. Byte i is LargePatternByte(i); the tests compute
 * the same function (the e2e tests include this header) to check the output byte for
 * byte. The period is long, so a lost, repeated or reordered chunk shows. */
#ifndef FCGI_RUN_EXAMPLES_LARGE_PATTERN_H_
#define FCGI_RUN_EXAMPLES_LARGE_PATTERN_H_

#include <stddef.h>
#include <stdint.h>

static inline char LargePatternByte(uint64_t i) { return (char)('a' + (i + i / 26 + i / 4093) % 26); }

/* Fills buf[0..size) with the pattern's bytes starting at offset `start`. */
static inline void LargePatternFill(char* buf, size_t size, uint64_t start) {
  for (size_t k = 0; k < size; ++k) buf[k] = LargePatternByte(start + k);
}

#endif /* FCGI_RUN_EXAMPLES_LARGE_PATTERN_H_ */
