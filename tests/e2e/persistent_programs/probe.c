/* probe.cgi: one CGI program whose QUERY_STRING picks a behaviour that
 * persistent mode must survive (tests/e2e/persistent_mode_test.cc). Run with
 * the fixed arguments "-v -n 5 rest" for the getopt case. Every response
 * starts with "pid=<pid>" so tests can tell whether the worker was replaced.
 * The stdio cases end the request with its standard streams or fds closed
 * (as gnulib's close_stdout does), "stdio" then checks all three work. */
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t alarms_caught;
static int requests_seen;
char *probe_leaked[4096]; /* kept reachable so the compiler cannot drop the leak */
static int leaked_count;

static void header(void) { printf("Content-Type: text/plain\r\n\r\npid=%d\n", (int)getpid()); }

static void on_alarm(int sig) {
  (void)sig;
  alarms_caught++;
}

static void say_bye(void) { printf("atexit handler ran\n"); }

/* gnulib's close_stdout, registered with atexit() by GNU-style programs:
 * closes stdout and stderr and fails the program if either close fails. */
static void close_stdout_like_gnulib(void) {
  if (fclose(stdout) != 0) {
    perror("write error");
    _exit(1);
  }
  if (fclose(stderr) != 0) _exit(1);
}

static void helper_level3(void) {
  printf("about to exit(3)\n");
  exit(3);
}
static void helper_level2(void) { helper_level3(); }
static void helper_level1(void) { helper_level2(); }

static void *sleeper(void *arg) {
  (void)arg;
  for (;;) pause();
  return NULL;
}

int main(int argc, char **argv) {
  const char *q = getenv("QUERY_STRING");
  if (q == NULL) q = "";
  requests_seen++;
  if (strcmp(q, "crash") == 0) {
    volatile int *nowhere = NULL;
    *nowhere = 1;
  }
  header();
  if (strcmp(q, "exit3") == 0) {
    helper_level1();
  } else if (strcmp(q, "_exit") == 0) {
    printf("kept\n");
    fflush(stdout);
    printf("lost\n"); /* still in the stdio buffer: _exit discards it */
    _exit(0);
  } else if (strcmp(q, "atexit") == 0) {
    atexit(say_bye);
    printf("registered\n");
  } else if (strcmp(q, "getopt") == 0) {
    int c, verbose = 0;
    const char *n = "none";
    while ((c = getopt(argc, argv, "vn:")) != -1) {
      if (c == 'v') verbose = 1;
      if (c == 'n') n = optarg;
    }
    printf("verbose=%d n=%s rest=%s\n", verbose, n, optind < argc ? argv[optind] : "-");
  } else if (strcmp(q, "stdin-line") == 0) {
    char line[256];
    if (fgets(line, sizeof line, stdin) != NULL) printf("line=%s", line);
  } else if (strcmp(q, "stdin-all") == 0) {
    char buffer[65536];
    size_t n = fread(buffer, 1, sizeof buffer, stdin);
    printf("body=");
    fwrite(buffer, 1, n, stdout);
    printf("\neof=%d\n", feof(stdin) ? 1 : 0);
  } else if (strcmp(q, "setenv") == 0) {
    const char *before = getenv("PROBE_SECRET");
    printf("before=%s\n", before ? before : "(unset)");
    setenv("PROBE_SECRET", "request-data", 1);
  } else if (strcmp(q, "alarm") == 0) {
    signal(SIGALRM, on_alarm);
    alarm(1);
    printf("alarm armed\n");
  } else if (strcmp(q, "signals") == 0) {
    struct sigaction sa;
    sigaction(SIGALRM, NULL, &sa);
    printf("alarms_caught=%d sigalrm=%s remaining=%u\n", (int)alarms_caught,
           sa.sa_handler == SIG_DFL ? "default" : "handler", alarm(0));
  } else if (strcmp(q, "leak-mem") == 0) {
    char *block = malloc(1 << 20);
    memset(block, 1, 1 << 20); /* resident, never freed */
    if (leaked_count < 4096) probe_leaked[leaked_count++] = block;
    printf("leaked 1 MiB (%d)\n", block[12345]);
  } else if (strcmp(q, "leak-fd") == 0) {
    int fd = open("/dev/null", O_RDONLY);
    printf("leaked fd %d\n", fd);
  } else if (strcmp(q, "thread") == 0) {
    pthread_t t;
    pthread_create(&t, NULL, sleeper, NULL);
    printf("thread started\n");
  } else if (strcmp(q, "background") == 0) {
    /* A process left running after the request, writing to the stdout it
     * inherited 300 ms later: that must not reach any other response. */
    printf("background started\n");
    fflush(stdout);
    if (fork() == 0) {
      usleep(300000);
      printf("late output of the background process\n");
      fflush(stdout);
      _exit(0);
    }
  } else if (strcmp(q, "gnu-close") == 0) {
    atexit(close_stdout_like_gnulib);
    printf("closing stdout and stderr at exit\n");
  } else if (strcmp(q, "fclose-stdout") == 0) {
    printf("closing stdout\n");
    if (fclose(stdout) != 0) _exit(1);
  } else if (strcmp(q, "fclose-stderr") == 0) {
    fprintf(stderr, "last words on stderr\n");
    if (fclose(stderr) != 0) _exit(1);
    printf("closed stderr\n");
  } else if (strcmp(q, "fclose-stdin") == 0) {
    char line[256];
    if (fgets(line, sizeof line, stdin) != NULL) printf("line=%s", line);
    if (fclose(stdin) != 0) _exit(1);
    printf("closed stdin\n");
  } else if (strcmp(q, "close-1") == 0) {
    printf("closing fd 1\n");
    fflush(stdout);
    close(1);
  } else if (strcmp(q, "dup2-1") == 0) {
    printf("fd 1 onto /dev/null\n");
    fflush(stdout);
    int null_fd = open("/dev/null", O_WRONLY);
    dup2(null_fd, 1);
    close(null_fd);
    printf("this goes to /dev/null\n");
  } else if (strcmp(q, "close-fds") == 0) {
    /* As daemons do: every fd but the standard ones, whoever opened it; then
     * exit(7), a status the response must carry. */
    printf("closing every fd from 3 up\n");
    fflush(stdout);
    long max = sysconf(_SC_OPEN_MAX);
    for (long fd = 3; fd < (max > 0 && max < 65536 ? max : 65536); ++fd) close((int)fd);
    exit(7);
  } else if (strcmp(q, "close-fds-from-4") == 0) {
    /* The same from fd 4 up: the worker keeps its control socket (fd 3) but
     * loses the other fds it keeps for itself. */
    printf("closing every fd from 4 up\n");
    fflush(stdout);
    long max = sysconf(_SC_OPEN_MAX);
    for (long fd = 4; fd < (max > 0 && max < 65536 ? max : 65536); ++fd) close((int)fd);
  } else if (strcmp(q, "close-fds-reopen") == 0) {
    /* Closes every fd from 3 up, then opens files that take their numbers. */
    printf("closing every fd from 3 up and opening 8 files\n");
    fflush(stdout);
    long max = sysconf(_SC_OPEN_MAX);
    for (long fd = 3; fd < (max > 0 && max < 65536 ? max : 65536); ++fd) close((int)fd);
    for (int i = 0; i < 8; ++i) {
      if (open("/dev/zero", O_RDONLY) < 0) printf("open failed\n");
    }
    exit(7);
  } else if (strcmp(q, "stdio") == 0) {
    char line[256];
    if (fgets(line, sizeof line, stdin) != NULL) printf("line=%s", line);
    if (ferror(stdin)) printf("stdin error\n");
    fprintf(stderr, "stderr works\n");
    if (fflush(stderr) != 0 || ferror(stderr)) printf("stderr error\n");
    printf("stdio works\n");
  } else if (strcmp(q, "fork") == 0) {
    pid_t child = fork();
    if (child == 0) return 0; /* the child returns from main: it must really exit */
    printf("forked\n");
  } else {
    printf("hello requests_seen_by_this_process=%d\n", requests_seen);
  }
  return 0;
}
