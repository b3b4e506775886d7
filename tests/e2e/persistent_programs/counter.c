/* counter.cgi: keeps a global counter that changes its output: the program
 * `fcgi-run --check` must call unsafe for persistent mode. */
#include <stdio.h>

static int visits;

int main(void) {
  visits++;
  printf("Content-Type: text/plain\r\n\r\nyou are visitor %d\n", visits);
  return 0;
}
