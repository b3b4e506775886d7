/* sha256.h: a small SHA-256 (FIPS 180-4) for the example CGI programs
 * (echo.cgi, write_before_read.cgi). Streaming: init, update any number of
 * times with chunks of any size, final. No allocation, no I/O. */
#ifndef FCGI_RUN_EXAMPLES_SHA256_H_
#define FCGI_RUN_EXAMPLES_SHA256_H_

#include <stddef.h>
#include <stdint.h>

typedef struct {
  uint32_t state[8];
  uint64_t total_bytes;
  unsigned char block[64];
  size_t block_used;
} Sha256;

void Sha256Init(Sha256* ctx);
void Sha256Update(Sha256* ctx, const void* data, size_t size);
/* Writes the 32-byte digest to out. ctx must be re-initialised before reuse. */
void Sha256Final(Sha256* ctx, unsigned char out[32]);
/* Writes the digest as 64 lowercase hex characters plus a NUL to hex. */
void Sha256FinalHex(Sha256* ctx, char hex[65]);

#endif /* FCGI_RUN_EXAMPLES_SHA256_H_ */
