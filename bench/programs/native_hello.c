/* native_hello: the same page as examples/hello.c, written as a native FastCGI
 * application with libfcgi's FCGI_Accept loop (one process serves request after
 * request, no fork or exec). The benchmark's ceiling for a FastCGI application;
 * started by `spawn-fcgi -F N`. Build: cc -O2 native_hello.c -lfcgi */
#include <fcgi_stdio.h>

int main(void) {
  while (FCGI_Accept() >= 0) {
    fputs("Content-Type: text/plain\r\n\r\nHello, world!\n", stdout);
  }
  return 0;
}
