/* crash.cgi: dies of SIGSEGV before writing anything, so the gateway must
 * produce the error response itself (502 naming the signal). */
#include <signal.h>
#include <sys/resource.h>

int main(void) {
  struct rlimit no_core = {0, 0};
  setrlimit(RLIMIT_CORE, &no_core); /* no core file in the examples directory */
  signal(SIGSEGV, SIG_DFL);         /* even under a sanitizer's handler */
  raise(SIGSEGV);
  return 0;
}
