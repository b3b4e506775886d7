/* A program that already has a second thread when main() is reached: the
 * shim must refuse to park it (fork would copy only one thread). */
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
  printf("main ran\n");
  return 0;
}
