#include "core/worker_slots.h"

#include <utility>

namespace fcgi {

bool WorkerSlots::TryAcquire() {
  if (in_use_ >= slots_ || !queue_.empty()) return false;  // FIFO: waiters go first
  ++in_use_;
  return true;
}

bool WorkerSlots::Enqueue(Start start, Ticket* ticket) {
  if (queue_.size() >= max_queue_) return false;
  *ticket = next_ticket_++;
  queue_.push_back(Waiter{*ticket, std::move(start)});
  if (queue_.size() > max_queued_seen_) max_queued_seen_ = queue_.size();
  return true;
}

bool WorkerSlots::Cancel(Ticket ticket) {
  for (auto it = queue_.begin(); it != queue_.end(); ++it) {
    if (it->ticket == ticket) {
      queue_.erase(it);
      return true;
    }
  }
  return false;
}

void WorkerSlots::Release() {
  if (in_use_ > 0) --in_use_;
  StartWaiters();
}

void WorkerSlots::Resize(size_t slots, size_t max_queue) {
  slots_ = slots;
  max_queue_ = max_queue;
  StartWaiters();
}

void WorkerSlots::StartWaiters() {
  while (in_use_ < slots_ && !queue_.empty()) {
    Waiter w = std::move(queue_.front());
    queue_.pop_front();
    ++in_use_;
    w.start();
  }
}

}  // namespace fcgi
