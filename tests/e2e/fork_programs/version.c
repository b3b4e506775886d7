/* version.cgi: prints "version=N pid=P ppid=Q"; built as version1.cgi and
 * version2.cgi (PROBE_VERSION 1 and 2) for the test that replaces the
 * program file under a running fcgi-run. */
#include <stdio.h>
#include <unistd.h>

int main(void) {
  printf("Content-Type: text/plain\r\n\r\nversion=%d pid=%d ppid=%d\n", PROBE_VERSION, (int)getpid(),
         (int)getppid());
  return 0;
}
