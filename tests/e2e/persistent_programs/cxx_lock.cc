// cxx_lock.cgi: a C++ program that calls exit() inside a scope holding a
// lock_guard (QUERY_STRING "exit"). Without recycling the mutex would stay
// locked for the next request of the same process; try_lock shows it.
#include <unistd.h>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>

static std::mutex g_mutex;

int main() {
  const char* q = std::getenv("QUERY_STRING");
  if (!g_mutex.try_lock()) {
    std::printf("Content-Type: text/plain\r\n\r\npid=%d DEADLOCK: mutex still locked\n", (int)getpid());
    return 1;
  }
  g_mutex.unlock();
  std::lock_guard<std::mutex> hold(g_mutex);
  std::printf("Content-Type: text/plain\r\n\r\npid=%d locked fine\n", (int)getpid());
  if (q != nullptr && std::strcmp(q, "exit") == 0) std::exit(0);  // the guard's destructor never runs
  return 0;
}
