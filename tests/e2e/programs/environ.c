/* environ.cgi: prints what a program receives, for the hardening tests
 * (tests/e2e/hardening_test.cc): a text/plain page with
 *   uid=R euid=E gid=G egid=F   the real and effective ids (a set-uid copy
 *                               shows whether the kernel honoured the bit)
 *   entries=N bytes=B           environ's entry count and total size
 *   NAME=VALUE ...              every entry, one per line, unless QUERY_STRING
 *                               is "count"
 * Compiled: persistent mode runs it as it is, and a set-uid copy keeps its bit
 * (the kernel ignores set-id bits on scripts). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern char** environ;

int main(void) {
  const char* q = getenv("QUERY_STRING");
  size_t entries = 0, bytes = 0;
  for (char** e = environ; *e != NULL; ++e) {
    ++entries;
    bytes += strlen(*e) + 1;
  }
  printf("Content-Type: text/plain\r\n\r\n");
  printf("uid=%d euid=%d gid=%d egid=%d\n", (int)getuid(), (int)geteuid(), (int)getgid(), (int)getegid());
  printf("entries=%zu bytes=%zu\n", entries, bytes);
  if (q == NULL || strcmp(q, "count") != 0) {
    for (char** e = environ; *e != NULL; ++e) printf("%s\n", *e);
  }
  return 0;
}
