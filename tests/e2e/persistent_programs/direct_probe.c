/* direct_probe.cgi: the test program of direct mode (tests/e2e/direct_test.cc);
 * compiled C, so that persistent mode (and hence --direct) serves it.
 * QUERY_STRING picks what it does:
 *   env       the page is the environment, one NAME=VALUE per line, as is
 *   exit3     prints a page, then exit(3) three calls deep
 *   crash     SIGSEGV before any output
 *   sleep=N   creates the file named by HTTP_X_STARTED_FILE (if set), sleeps
 *             N seconds (nanosleep, restarted after signals), then a page
 *   stderr    "direct-probe: to stderr" on stderr, then a page
 *   noheader  output without a CGI header block
 *   anything else: "pid=<pid>\nvisits=<count>\n", where the count is a global
 *             that grows with every request this process serves. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

extern char **environ;
static int visits;

static void page(void) { printf("Content-Type: text/plain\r\n\r\n"); }

static void exit_level3(void) {
  printf("about to exit(3)\n");
  exit(3);
}
static void exit_level2(void) { exit_level3(); }
static void exit_level1(void) { exit_level2(); }

static void sleep_seconds(long seconds) {
  struct timespec left = {seconds, 0};
  while (nanosleep(&left, &left) != 0) {
  }
}

int main(void) {
  const char *q = getenv("QUERY_STRING");
  if (q == NULL) q = "";
  visits++;
  if (strcmp(q, "crash") == 0) {
    volatile int *nowhere = NULL;
    *nowhere = 1;
  }
  if (strcmp(q, "noheader") == 0) {
    printf("no header block here\n");
    return 0;
  }
  if (strcmp(q, "env") == 0) {
    page();
    for (char **e = environ; e != NULL && *e != NULL; ++e) printf("%s\n", *e);
    return 0;
  }
  if (strcmp(q, "exit3") == 0) {
    page();
    exit_level1();
  }
  if (strncmp(q, "sleep=", 6) == 0) {
    const char *started = getenv("HTTP_X_STARTED_FILE");
    if (started != NULL) close(open(started, O_WRONLY | O_CREAT, 0644));
    sleep_seconds(strtol(q + 6, NULL, 10));
    page();
    printf("slept pid=%d\n", (int)getpid());
    return 0;
  }
  if (strcmp(q, "stderr") == 0) {
    fprintf(stderr, "direct-probe: to stderr\n");
    page();
    printf("wrote to stderr\n");
    return 0;
  }
  page();
  printf("pid=%d\nvisits=%d\n", (int)getpid(), visits);
  return 0;
}
