// ConnectionList<T>: the open connections of an accept loop's owner (Server's
// FastCGI Connections, HttpFront's HttpConnections), tracked so that a
// graceful stop can stop their reading, an immediate stop can abort them, and
// shutdown can wait until they are gone.
//
// Ownership: holds weak_ptrs only; each connection is kept alive by its own
// I/O. T must have StopReading() and Abort(std::string_view). Expired entries
// go at the next Add: so make connections with shared_ptr(new T), not
// make_shared, whose single allocation a weak_ptr keeps whole (a closed
// connection's buffers would stay allocated until then).
#ifndef FCGI_RUN_LAUNCHER_FRONT_CONNECTION_LIST_H_
#define FCGI_RUN_LAUNCHER_FRONT_CONNECTION_LIST_H_

#include <iterator>
#include <list>
#include <memory>
#include <string_view>

namespace fcgi {

template <typename T>
class ConnectionList {
 public:
  // Tracks `conn`, forgetting the connections already gone.
  void Add(const std::shared_ptr<T>& conn) {
    for (auto it = list_.begin(); it != list_.end();) {
      it = it->expired() ? list_.erase(it) : std::next(it);
    }
    list_.push_back(conn);
  }

  // Graceful stop: every live connection stops reading new requests.
  void StopReading() {
    for (auto& weak : list_) {
      if (auto c = weak.lock()) c->StopReading();
    }
  }

  // Immediate stop: every live connection is closed (aborting its requests).
  void AbortAll(std::string_view why) {
    std::list<std::shared_ptr<T>> live;  // Abort may drop the last other reference
    for (auto& weak : list_) {
      if (auto c = weak.lock()) live.push_back(c);
    }
    for (auto& c : live) c->Abort(why);
  }

  bool Any() const {
    for (const auto& weak : list_) {
      if (!weak.expired()) return true;
    }
    return false;
  }

 private:
  std::list<std::weak_ptr<T>> list_;
};

}  // namespace fcgi

#endif  // FCGI_RUN_LAUNCHER_FRONT_CONNECTION_LIST_H_
