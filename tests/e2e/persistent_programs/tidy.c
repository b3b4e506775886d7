/* tidy.cgi: output that depends only on the request (no pid, no counter),
 * but each QUERY_STRING leaves something behind for libcompat to repair or
 * for fcgi-run to recycle the worker for. `fcgi-run --check` must call it
 * safe and say what it saw (tests/e2e/persistent_check_test.cc):
 *   exit     exit(0) from a helper (exit intercepted)
 *   alarm    a SIGALRM handler and alarm(30) (handler restored, timer cancelled)
 *   env      setenv (environment restored)
 *   leak-fd  opens /dev/null and never closes it (fd growth: recycled)
 *   anything else: a plain answer. */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void on_alarm(int sig) { (void)sig; }

static void leave(void) {
  printf("left through exit()\n");
  exit(0);
}

int main(void) {
  const char *q = getenv("QUERY_STRING");
  if (q == NULL) q = "";
  printf("Content-Type: text/plain\r\n\r\nquery=%s\n", q);
  if (strcmp(q, "exit") == 0) leave();
  if (strcmp(q, "alarm") == 0) {
    signal(SIGALRM, on_alarm);
    alarm(30);
  } else if (strcmp(q, "env") == 0) {
    setenv("TIDY_STATE", "set", 1);
  } else if (strcmp(q, "leak-fd") == 0) {
    if (open("/dev/null", O_RDONLY) < 0) printf("open failed\n");
  }
  printf("done\n");
  return 0;
}
