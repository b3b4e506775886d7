/* soak.cgi: the soak test's program (bench/soak). One C program with several
 * behaviours chosen by QUERY_STRING, so one fcgi-run instance serves a mix:
 *   hello      a short page
 *   crash      dies of SIGSEGV before any output (the launcher answers 502)
 *   stream     a header, then 4 KiB every 2 ms for up to 10 s (to be aborted)
 *   sleep=MS   sleeps MS milliseconds, then a page (past --timeout: killed)
 *   echo       reads its body to EOF, prints "length=N sum=S" (S: byte sum)
 * Anything else gets a 400 page. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

static void SleepMillis(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

static int Echo(void) {
  static unsigned char buffer[1 << 16];
  unsigned long long length = 0, sum = 0;
  for (;;) {
    ssize_t n = read(0, buffer, sizeof buffer);
    if (n == 0) break;
    if (n < 0) {
      if (errno == EINTR) continue;
      return 1;
    }
    for (ssize_t i = 0; i < n; ++i) sum += buffer[i];
    length += (unsigned long long)n;
  }
  printf("Content-Type: text/plain\r\n\r\nlength=%llu sum=%llu\n", length, sum);
  return 0;
}

int main(void) {
  const char* q = getenv("QUERY_STRING");
  if (q == NULL) q = "";
  if (strcmp(q, "hello") == 0) {
    printf("Content-Type: text/plain\r\n\r\nhello from soak.cgi\n");
    return 0;
  }
  if (strcmp(q, "crash") == 0) {
    struct rlimit no_core = {0, 0};
    setrlimit(RLIMIT_CORE, &no_core);
    signal(SIGSEGV, SIG_DFL);
    raise(SIGSEGV);
    return 1;
  }
  if (strcmp(q, "stream") == 0) {
    static char chunk[4096];
    memset(chunk, 'x', sizeof chunk);
    chunk[sizeof chunk - 1] = '\n';
    if (write(1, "Content-Type: text/plain\r\n\r\n", 28) != 28) return 1;
    for (int i = 0; i < 5000; ++i) {
      if (write(1, chunk, sizeof chunk) < 0) return 1;
      SleepMillis(2);
    }
    return 0;
  }
  if (strncmp(q, "sleep=", 6) == 0) {
    long ms = strtol(q + 6, NULL, 10);
    SleepMillis(ms);
    printf("Content-Type: text/plain\r\n\r\nslept %ld ms\n", ms);
    return 0;
  }
  if (strcmp(q, "echo") == 0) return Echo();
  printf("Status: 400 Bad Request\r\nContent-Type: text/plain\r\n\r\nunknown query\n");
  return 0;
}
