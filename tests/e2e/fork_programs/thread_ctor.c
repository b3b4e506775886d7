/* thread_ctor.cgi (also the libcompat driver's threaded_cgi): its constructor
 * starts a thread, so at main() the process has two: libcompat refuses to park
 * it (REFUSED, kRefuseThreads) and fork mode must fall back to exec mode. The
 * page shows how many threads main() sees (2 in exec mode: the constructor ran
 * in this very process). */
#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

static void* sleeper(void* arg) {
  (void)arg;
  for (;;) pause();
  return NULL;
}

__attribute__((constructor)) static void start_thread(void) {
  pthread_t thread;
  pthread_create(&thread, NULL, sleeper, NULL);
}

int main(void) {
  int threads = 0;
  DIR* d = opendir("/proc/self/task");
  if (d != NULL) {
    struct dirent* e;
    while ((e = readdir(d)) != NULL) {
      if (e->d_name[0] != '.') ++threads;
    }
    closedir(d);
  }
  printf("Content-Type: text/plain\r\n\r\nthreads=%d\n", threads);
  return 0;
}
