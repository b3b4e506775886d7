/* large.cgi: writes N bytes of a deterministic pattern (large_pattern.h);
 * N comes from QUERY_STRING "size=N" (default 1 MiB). Tests large responses. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cgi_io.h"
#include "large_pattern.h"

int main(void) {
  unsigned long long size = 1024 * 1024;
  const char* query = getenv("QUERY_STRING");
  const char* arg = query != NULL ? strstr(query, "size=") : NULL;
  if (arg != NULL) size = strtoull(arg + 5, NULL, 10);
  char header[128];
  int header_length = snprintf(header, sizeof header,
                               "Content-Type: application/octet-stream\r\n"
                               "Content-Length: %llu\r\n\r\n",
                               size);
  if (WriteAll(header, (size_t)header_length) != 0) return 1;
  static char buffer[1 << 16];
  unsigned long long written = 0;
  while (written < size) {
    size_t chunk = sizeof buffer;
    if (size - written < chunk) chunk = (size_t)(size - written);
    LargePatternFill(buffer, chunk, written);
    if (WriteAll(buffer, chunk) != 0) {
      perror("large.cgi: write(2) stdout");
      return 1;
    }
    written += chunk;
  }
  return 0;
}
