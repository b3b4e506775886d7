/* echo.cgi: reads the request body (stdin) to EOF and prints its length and
 * SHA-256, so a test can check that every byte of a large POST arrived intact. */
#include <stdio.h>

#include "cgi_io.h"

int main(void) {
  char hex[65];
  unsigned long long length = 0;
  if (Sha256OfStdin(hex, &length) != 0) {
    perror("echo.cgi: read(2) stdin");
    return 1;
  }
  printf("Content-Type: text/plain\r\n\r\nlength=%llu\nsha256=%s\n", length, hex);
  return 0;
}
