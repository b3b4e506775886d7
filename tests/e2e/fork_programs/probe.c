/* probe.cgi: the fork-mode tests' program (tests/e2e/fork_mode_test.cc).
 * Prints, as a text/plain page, what a test needs to tell requests and
 * processes apart:
 *   counter=N        a global incremented by main() (1 with fresh state)
 *   constructed=N    a global incremented by a constructor (1: ran once, before the park)
 *   pid=, ppid=      this process and its parent (the parked process in fork mode)
 *   method=, query=  REQUEST_METHOD, QUERY_STRING
 *   body=            the whole request body (read to EOF), and its length
 *   ld_preload=      LD_PRELOAD as main() sees it ("(unset)" when absent)
 * QUERY_STRING words, separated by '&':
 *   sleep=MS   sleep MS milliseconds after reading the body, before any output
 *   env        append the output of system("env"): what the program's children get
 *   record=PATH  first thing in main(): append "ran pid=N" to the file PATH (one
 *                line per run of main(), to count how often a request ran)
 * Built twice: probe.cgi (dynamic) and probe_static.cgi (-static). */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int counter;
static int constructed;

__attribute__((constructor)) static void construct(void) { ++constructed; }

/* The value of NAME=VALUE among '&'-separated words of query; NULL if absent. */
static const char* word_value(const char* query, const char* name) {
  size_t n = strlen(name);
  for (const char* p = query; p != NULL && *p != '\0';) {
    if (strncmp(p, name, n) == 0 && p[n] == '=') return p + n + 1;
    p = strchr(p, '&');
    if (p != NULL) ++p;
  }
  return NULL;
}

static int has_word(const char* query, const char* word) {
  size_t n = strlen(word);
  for (const char* p = query; p != NULL && *p != '\0';) {
    if (strncmp(p, word, n) == 0 && (p[n] == '\0' || p[n] == '&')) return 1;
    p = strchr(p, '&');
    if (p != NULL) ++p;
  }
  return 0;
}

int main(void) {
  ++counter;
  const char* query = getenv("QUERY_STRING");
  const char* method = getenv("REQUEST_METHOD");
  const char* preload = getenv("LD_PRELOAD");
  if (query == NULL) query = "";
  const char* record = word_value(query, "record");
  if (record != NULL) {
    char path[4096];
    size_t n = strcspn(record, "&");
    if (n < sizeof path) {
      memcpy(path, record, n);
      path[n] = '\0';
      int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
      if (fd >= 0) {
        dprintf(fd, "ran pid=%d\n", (int)getpid());
        close(fd);
      }
    }
  }
  static char body[65536];
  size_t length = 0;
  ssize_t got;
  while (length < sizeof body - 1 && (got = read(0, body + length, sizeof body - 1 - length)) > 0) {
    length += (size_t)got;
  }
  body[length] = '\0';
  const char* sleep_ms = word_value(query, "sleep");
  if (sleep_ms != NULL) {
    long ms = atol(sleep_ms);
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
  }
  printf("Content-Type: text/plain\r\n\r\n");
  printf("counter=%d\nconstructed=%d\npid=%d\nppid=%d\n", counter, constructed, (int)getpid(),
         (int)getppid());
  printf("method=%s\nquery=%s\n", method != NULL ? method : "", query);
  printf("body_length=%zu\nbody=%s\n", length, body);
  printf("ld_preload=%s\n", preload != NULL ? preload : "(unset)");
  if (has_word(query, "env")) {
    printf("--- env\n");
    fflush(stdout);
    if (system("env") != 0) printf("system(env) failed\n");
  }
  return 0;
}
