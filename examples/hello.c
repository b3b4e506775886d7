/* hello.cgi: the smallest CGI program: a text/plain header, a blank line, a page. */
#include <stdio.h>

int main(void) {
  fputs("Content-Type: text/plain\r\n\r\nHello, world!\n", stdout);
  return 0;
}
