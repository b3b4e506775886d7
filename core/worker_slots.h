// WorkerSlots: how many programs may run at once (--workers) and the bounded
// queue of requests waiting for a slot (--queue). Pure; no I/O.
//
// A waiter is a callback plus a ticket; Cancel(ticket) removes a waiter that
// left (aborted) before it got a slot. Release() hands the freed slot to the
// oldest waiter by calling its callback (the slot is then already counted as
// taken by it). Callbacks run synchronously from Release(); they must not call
// back into Release() re-entrantly for the same slot.
#ifndef FCGI_RUN_CORE_WORKER_SLOTS_H_
#define FCGI_RUN_CORE_WORKER_SLOTS_H_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>

namespace fcgi {

class WorkerSlots {
 public:
  using Ticket = uint64_t;
  using Start = std::function<void()>;

  WorkerSlots(size_t slots, size_t max_queue) : slots_(slots), max_queue_(max_queue) {}
  WorkerSlots(const WorkerSlots&) = delete;
  WorkerSlots& operator=(const WorkerSlots&) = delete;

  // Takes a slot if one is free.
  bool TryAcquire();
  // Queues `start` to run when a slot frees. Returns false when the queue is
  // full (the request must be refused as overloaded).
  bool Enqueue(Start start, Ticket* ticket);
  // Removes a waiter; returns false if it is no longer queued.
  bool Cancel(Ticket ticket);
  // Frees a slot: gives it to the oldest waiter, if any.
  void Release();
  // New limits (SIGHUP reload). More slots start waiters at once; fewer let
  // the programs running now finish (no new start until in_use() is below
  // the new count). A shorter queue refuses newcomers only: no waiter is dropped.
  void Resize(size_t slots, size_t max_queue);

  size_t in_use() const { return in_use_; }
  size_t queued() const { return queue_.size(); }
  size_t max_queued_seen() const { return max_queued_seen_; }
  size_t capacity() const { return slots_; }

 private:
  struct Waiter {
    Ticket ticket;
    Start start;
  };
  // Hands free slots to the oldest waiters.
  void StartWaiters();
  size_t slots_;
  size_t max_queue_;
  size_t in_use_ = 0;
  size_t max_queued_seen_ = 0;
  Ticket next_ticket_ = 1;
  std::deque<Waiter> queue_;
};

}  // namespace fcgi

#endif  // FCGI_RUN_CORE_WORKER_SLOTS_H_
