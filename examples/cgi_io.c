#include "cgi_io.h"

#include <errno.h>
#include <unistd.h>

#include "sha256.h"

int WriteAll(const char* data, size_t size) {
  while (size > 0) {
    ssize_t n = write(1, data, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    data += n;
    size -= (size_t)n;
  }
  return 0;
}

int Sha256OfStdin(char hex[65], unsigned long long* length) {
  static char buffer[1 << 16];
  Sha256 sha;
  Sha256Init(&sha);
  *length = 0;
  for (;;) {
    ssize_t n = read(0, buffer, sizeof buffer);
    if (n == 0) break;
    if (n < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    Sha256Update(&sha, buffer, (size_t)n);
    *length += (unsigned long long)n;
  }
  Sha256FinalHex(&sha, hex);
  return 0;
}
