#include "core/worker_slots.h"

#include <catch2/catch.hpp>
#include <vector>

namespace fcgi {
namespace {

TEST_CASE("slots are taken up to capacity, then requests queue in order", "[worker_slots]") {
  WorkerSlots slots(2, 2);
  CHECK(slots.TryAcquire());
  CHECK(slots.TryAcquire());
  CHECK_FALSE(slots.TryAcquire());
  std::vector<int> started;
  WorkerSlots::Ticket t1, t2, t3;
  REQUIRE(slots.Enqueue([&] { started.push_back(1); }, &t1));
  REQUIRE(slots.Enqueue([&] { started.push_back(2); }, &t2));
  CHECK_FALSE(slots.Enqueue([&] { started.push_back(3); }, &t3));  // queue full
  CHECK(slots.queued() == 2);
  CHECK(slots.max_queued_seen() == 2);
  slots.Release();
  CHECK(started == std::vector<int>{1});
  CHECK(slots.in_use() == 2);
  slots.Release();
  CHECK(started == std::vector<int>{1, 2});
  slots.Release();
  slots.Release();
  CHECK(slots.in_use() == 0);
}

TEST_CASE("a cancelled waiter never starts; FIFO holds against newcomers", "[worker_slots]") {
  WorkerSlots slots(1, 5);
  REQUIRE(slots.TryAcquire());
  std::vector<int> started;
  WorkerSlots::Ticket t1, t2;
  REQUIRE(slots.Enqueue([&] { started.push_back(1); }, &t1));
  REQUIRE(slots.Enqueue([&] { started.push_back(2); }, &t2));
  CHECK(slots.Cancel(t1));
  CHECK_FALSE(slots.Cancel(t1));
  slots.Release();
  CHECK(started == std::vector<int>{2});
  CHECK_FALSE(slots.TryAcquire());  // the slot went to waiter 2
}

TEST_CASE("resize: more slots start waiters at once, fewer let running ones finish", "[worker_slots]") {
  WorkerSlots slots(1, 1);
  REQUIRE(slots.TryAcquire());
  std::vector<int> started;
  WorkerSlots::Ticket t1, t2, t3;
  REQUIRE(slots.Enqueue([&] { started.push_back(1); }, &t1));
  CHECK_FALSE(slots.Enqueue([&] { started.push_back(2); }, &t2));  // queue of 1 is full
  slots.Resize(3, 2);
  CHECK(started == std::vector<int>{1});
  CHECK(slots.capacity() == 3);
  CHECK(slots.in_use() == 2);
  CHECK(slots.TryAcquire());
  CHECK_FALSE(slots.TryAcquire());
  REQUIRE(slots.Enqueue([&] { started.push_back(2); }, &t2));
  REQUIRE(slots.Enqueue([&] { started.push_back(3); }, &t3));
  slots.Resize(1, 0);  // no waiter is dropped; none starts until fewer than 1 run
  CHECK(slots.queued() == 2);
  slots.Release();
  slots.Release();
  CHECK(started == std::vector<int>{1});
  slots.Release();  // the last running one: now below the new count
  CHECK(started == std::vector<int>{1, 2});
  CHECK(slots.in_use() == 1);
  WorkerSlots::Ticket t4;
  CHECK_FALSE(slots.Enqueue([] {}, &t4));  // the new queue length refuses newcomers
}

}  // namespace
}  // namespace fcgi
