/* write_before_read.cgi: writes 10 MiB of output (large_pattern.h) BEFORE
 * reading its stdin, then reads the whole body and prints its length and
 * SHA-256. A gateway that writes the whole body before reading output
 * deadlocks here once both pipe buffers are full. */
#include <stdio.h>

#include "cgi_io.h"
#include "large_pattern.h"

enum { kOutputBytes = 10 * 1024 * 1024 };

int main(void) {
  static const char kHeader[] = "Content-Type: application/octet-stream\r\n\r\n";
  if (WriteAll(kHeader, sizeof kHeader - 1) != 0) return 1;
  static char buffer[1 << 16];
  for (size_t written = 0; written < kOutputBytes; written += sizeof buffer) {
    LargePatternFill(buffer, sizeof buffer, written);
    if (WriteAll(buffer, sizeof buffer) != 0) {
      perror("write_before_read.cgi: write(2) stdout");
      return 1;
    }
  }
  char hex[65];
  unsigned long long length = 0;
  if (Sha256OfStdin(hex, &length) != 0) {
    perror("write_before_read.cgi: read(2) stdin");
    return 1;
  }
  char tail[128];
  int tail_length = snprintf(tail, sizeof tail, "\nlength=%llu\nsha256=%s\n", length, hex);
  return WriteAll(tail, (size_t)tail_length) == 0 ? 0 : 1;
}
