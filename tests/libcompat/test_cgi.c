/* A CGI-like test program for the libcompat driver (compat_driver_test.cc).
 * Built dynamically (test_cgi) and with -static (test_cgi_static).
 * MODE (environment) selects what it does; by default it echoes its state:
 *   counter (a global: 1 on every request in fork mode = fresh state),
 *   argv[1], REQ, LD_PRELOAD, its stdin, then exits with EXIT (default 0).
 * MODE=background leaves a child running for 2 s; MODE=close-stdout puts
 * /dev/null on fd 1 before printing (that output is lost); MODE=fclose closes
 * stdin, stdout and stderr at the end (fclose, as gnulib's close_stdout). */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int counter;

static void echo_stdin(void) {
  char buf[4096];
  size_t n = fread(buf, 1, sizeof buf - 1, stdin);
  buf[n] = '\0';
  printf("stdin=%s\n", buf);
}

int main(int argc, char** argv) {
  const char* mode = getenv("MODE");
  const char* exit_text = getenv("EXIT");
  ++counter;
  if (mode == NULL) mode = "echo";
  if (strcmp(mode, "sleep") == 0) {
    usleep((useconds_t)atoi(getenv("SLEEP_MS") ? getenv("SLEEP_MS") : "100") * 1000);
  } else if (strcmp(mode, "crash") == 0) {
    fflush(stdout);
    volatile int* null_pointer = NULL;
    *null_pointer = 1;
  } else if (strcmp(mode, "system") == 0) {
    fflush(stdout);
    return system("env") == 0 ? 0 : 1;
  } else if (strcmp(mode, "cwd") == 0) {
    char cwd[4096];
    printf("cwd=%s\n", getcwd(cwd, sizeof cwd) ? cwd : "?");
  } else if (strcmp(mode, "pgid") == 0) {
    printf("leader=%d\n", getpgrp() == getpid());
  } else if (strcmp(mode, "stderr") == 0) {
    fprintf(stderr, "to-stderr\n");
  } else if (strcmp(mode, "background") == 0) {
    /* A child left running after the request, holding stdout and stderr. */
    fflush(stdout);
    if (fork() == 0) {
      sleep(2);
      _exit(0);
    }
  } else if (strcmp(mode, "close-stdout") == 0) {
    /* fd 1 replaced during the request (as a program redirecting its output). */
    fflush(stdout);
    int fd = open("/dev/null", O_WRONLY);
    if (fd >= 0) {
      dup2(fd, 1);
      close(fd);
    }
  }
  printf("counter=%d\n", counter);
  printf("argv1=%s\n", argc > 1 ? argv[1] : "(none)");
  printf("REQ=%s\n", getenv("REQ") ? getenv("REQ") : "(none)");
  printf("LD_PRELOAD=%s\n", getenv("LD_PRELOAD") ? getenv("LD_PRELOAD") : "(none)");
  echo_stdin();
  if (strcmp(mode, "fclose") == 0) {
    fclose(stdin);
    fclose(stdout);
    fclose(stderr);
  }
  return exit_text ? atoi(exit_text) : 0;
}
