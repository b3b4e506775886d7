/* echo.cgi: reads the request body (stdin) to EOF and prints its length and
 * SHA-256, so a test can check that every byte of a large POST arrived intact. */
#include <errno.h>
#include <stdio.h>
#include <unistd.h>

#include "sha256.h"

int main(void) {
  static char buffer[1 << 16];
  Sha256 sha;
  Sha256Init(&sha);
  unsigned long long length = 0;
  for (;;) {
    ssize_t n = read(0, buffer, sizeof buffer);
    if (n == 0) break;
    if (n < 0) {
      if (errno == EINTR) continue;
      perror("echo.cgi: read(2) stdin");
      return 1;
    }
    Sha256Update(&sha, buffer, (size_t)n);
    length += (unsigned long long)n;
  }
  char hex[65];
  Sha256FinalHex(&sha, hex);
  printf("Content-Type: text/plain\r\n\r\nlength=%llu\nsha256=%s\n", length, hex);
  return 0;
}
