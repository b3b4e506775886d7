/* latch.cgi: unsafe for persistent mode, but only for one request: the query
 * "remember" bumps a global counter that every later answer shows. The
 * default GET of `fcgi-run --check` never sends it, so only a check that
 * really runs a `--request` file with QUERY_STRING=remember can see the
 * carried-over state (tests/e2e/persistent_check_test.cc). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int remembered;

int main(int argc, char **argv) {
  const char *q = getenv("QUERY_STRING");
  if (q != NULL && strcmp(q, "remember") == 0) remembered++;
  printf("Content-Type: text/plain\r\n\r\nremembered=%d\n", remembered);
  for (int i = 1; i < argc; i++) printf("arg=%s\n", argv[i]);
  return 0;
}
