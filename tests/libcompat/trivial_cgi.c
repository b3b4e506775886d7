/* The smallest CGI response: the program whose per-request cost is measured. */
#include <stdio.h>

int main(void) {
  fputs("Content-Type: text/plain\r\n\r\nhello\n", stdout);
  return 0;
}
