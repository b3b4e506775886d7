/* mixed.cgi: the program of the "mixed" workload. QUERY_STRING "slow" sleeps
 * 100 ms before answering; anything else answers at once with the hello page.
 * The X-Bench request header (HTTP_X_BENCH, set by bench/wrk.lua to the kind and
 * the client's send time in microseconds) is echoed as the X-Bench response
 * header, so the wrk script can time fast and slow requests separately.
 * Build: cc -O2 mixed.c */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Only [a-z0-9] is echoed: the value goes into a response header. */
static int IsSafeToken(const char* s) {
  if (s == NULL || *s == '\0' || strlen(s) > 40) return 0;
  for (; *s != '\0'; ++s) {
    if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9'))) return 0;
  }
  return 1;
}

int main(void) {
  const char* query = getenv("QUERY_STRING");
  if (query != NULL && strcmp(query, "slow") == 0) {
    struct timespec delay = {0, 100 * 1000 * 1000};
    while (nanosleep(&delay, &delay) != 0) {
    }
  }
  const char* token = getenv("HTTP_X_BENCH");
  fputs("Content-Type: text/plain\r\n", stdout);
  if (IsSafeToken(token)) printf("X-Bench: %s\r\n", token);
  fputs("\r\nHello, world!\n", stdout);
  return 0;
}
