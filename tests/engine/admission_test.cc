// Admission: limits, arrival order, and waits that end on release, cancellation or deadline
// (woken at once: the futures below would time out, not the admission, if a wake-up were lost).
#include "server/engine/admission.h"

#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <thread>
#include <vector>

namespace quantd::engine {
namespace {

using namespace std::chrono_literals;

struct Counts {
  std::mutex mu;
  int active = 0, queued = 0;
};

Admission::Options options(int max_active, int max_queued, Counts* counts) {
  Admission::Options o;
  o.max_active = max_active;
  o.max_queued = max_queued;
  o.slot = "a test slot";
  o.holders = "tests";
  o.limits = "--test_limit";
  o.on_change = [counts](int active, int queued) {
    std::lock_guard lock(counts->mu);
    counts->active = active;
    counts->queued = queued;
  };
  return o;
}

// Waits (bounded) until the admission reports `queued` waiters.
void wait_queued(const Admission& a, int queued) {
  for (int i = 0; i < 5000 && a.queued() != queued; ++i) std::this_thread::sleep_for(1ms);
  ASSERT_EQ(a.queued(), queued);
}

TEST(Admission, RefusesBeyondTheQueueWithTheLimitsInTheMessage) {
  Counts counts;
  Admission a(options(2, 1, &counts));
  CancelToken none;
  auto t1 = a.acquire(none), t2 = a.acquire(none);
  ASSERT_TRUE(t1.ok() && t2.ok());
  EXPECT_EQ(a.active(), 2);
  CancelToken waiter_token;
  auto waiter = std::async(std::launch::async, [&] { return a.acquire(waiter_token); });
  wait_queued(a, 1);
  {
    std::lock_guard lock(counts.mu);
    EXPECT_EQ(counts.active, 2);
    EXPECT_EQ(counts.queued, 1);
  }
  absl::StatusOr<Admission::Ticket> refused = a.acquire(none);
  ASSERT_EQ(refused.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(refused.status().message(), "2 tests are running and 1 are queued (--test_limit); retry later");

  t1->reset();  // the waiter takes the freed slot
  ASSERT_EQ(waiter.wait_for(10s), std::future_status::ready);
  absl::StatusOr<Admission::Ticket> got = waiter.get();
  EXPECT_TRUE(got.ok() && got->held());
  EXPECT_EQ(a.active(), 2);
  EXPECT_EQ(a.queued(), 0);
}

TEST(Admission, CancellingAWaiterWakesItAtOnceAndFreesItsPlace) {
  Counts counts;
  Admission a(options(1, 1, &counts));
  CancelToken none;
  auto held = a.acquire(none);
  ASSERT_TRUE(held.ok());
  CancelToken token;
  auto waiter = std::async(std::launch::async, [&] { return a.acquire(token); });
  wait_queued(a, 1);
  token.cancel();
  ASSERT_EQ(waiter.wait_for(10s), std::future_status::ready);
  absl::StatusOr<Admission::Ticket> r = waiter.get();
  EXPECT_EQ(r.status().code(), absl::StatusCode::kCancelled);
  EXPECT_EQ(r.status().message(), "cancelled while waiting for a test slot");
  EXPECT_EQ(a.queued(), 0);
  EXPECT_EQ(a.active(), 1);  // the holder is untouched
  // The place in the queue is free again: another waiter can queue.
  CancelToken second;
  auto next = std::async(std::launch::async, [&] { return a.acquire(second); });
  wait_queued(a, 1);
  held->reset();
  ASSERT_EQ(next.wait_for(10s), std::future_status::ready);
  EXPECT_TRUE(next.get().ok());
}

TEST(Admission, AnAlreadyCancelledTokenDoesNotWait) {
  Counts counts;
  Admission a(options(1, 4, &counts));
  CancelToken none;
  auto held = a.acquire(none);
  CancelToken cancelled;
  cancelled.cancel();
  EXPECT_EQ(a.acquire(cancelled).status().code(), absl::StatusCode::kCancelled);
  EXPECT_EQ(a.queued(), 0);
}

TEST(Admission, DeadlineEndsTheWait) {
  Counts counts;
  Admission a(options(1, 4, &counts));
  CancelToken none;
  auto held = a.acquire(none);
  CancelToken soon(CancelToken::Clock::now() + 50ms);
  absl::StatusOr<Admission::Ticket> r = a.acquire(soon);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(r.status().message(), "deadline passed while waiting for a test slot");
  EXPECT_EQ(a.queued(), 0);
}

TEST(Admission, WaitersAreServedInArrivalOrder) {
  Counts counts;
  Admission a(options(1, 8, &counts));
  CancelToken none;
  auto held = a.acquire(none);
  std::mutex order_mu;
  std::vector<int> order;
  std::vector<std::thread> waiters;
  for (int i = 0; i < 4; ++i) {
    waiters.emplace_back([&, i] {
      absl::StatusOr<Admission::Ticket> t = a.acquire(none);
      ASSERT_TRUE(t.ok());
      std::lock_guard lock(order_mu);
      order.push_back(i);
    });  // the ticket is released as the thread ends, letting the next one in
    wait_queued(a, i + 1);
  }
  held->reset();
  for (std::thread& t : waiters) t.join();
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3}));
  EXPECT_EQ(a.active(), 0);
}

TEST(CancelToken, SubscribersRunOnceAndOnlyWhileSubscribed) {
  CancelToken token;
  int calls = 0, late = 0;
  {
    CancelToken::Subscription s(token, [&] { ++calls; });
  }
  CancelToken::Subscription kept(token, [&] { ++late; });
  token.cancel();
  token.cancel();
  EXPECT_EQ(calls, 0);
  EXPECT_EQ(late, 1);
  EXPECT_TRUE(token.cancelled());
  EXPECT_FALSE(token.deadline_passed());
}

}  // namespace
}  // namespace quantd::engine
