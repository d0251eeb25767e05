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

// An acquire on a thread of its own, returned once it is waiting as the queue's last.
std::future<absl::StatusOr<Admission::Ticket>> queue_waiter(Admission& a, const CancelToken& token) {
  const int before = a.queued();
  auto f = std::async(std::launch::async, [&a, &token] { return a.acquire(token); });
  wait_queued(a, before + 1);
  return f;
}

// The waiter's outcome; a lost wake-up shows as this timing out, not as a hang.
absl::StatusOr<Admission::Ticket> outcome(std::future<absl::StatusOr<Admission::Ticket>>& f) {
  if (f.wait_for(10s) != std::future_status::ready) return absl::DeadlineExceededError("the waiter was never woken");
  return f.get();
}

TEST(Admission, RefusesBeyondTheQueueWithTheLimitsInTheMessage) {
  Counts counts;
  Admission a(options(2, 1, &counts));
  CancelToken none;
  auto t1 = a.acquire(none), t2 = a.acquire(none);
  ASSERT_TRUE(t1.ok() && t2.ok());
  EXPECT_EQ(a.active(), 2);
  CancelToken waiter_token;
  auto waiter = queue_waiter(a, waiter_token);
  {
    std::lock_guard lock(counts.mu);
    EXPECT_EQ(counts.active, 2);
    EXPECT_EQ(counts.queued, 1);
  }
  absl::StatusOr<Admission::Ticket> refused = a.acquire(none);
  ASSERT_EQ(refused.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(refused.status().message(), "2 tests are running and 1 are queued (--test_limit); retry later");

  t1->reset();  // the waiter takes the freed slot
  absl::StatusOr<Admission::Ticket> got = outcome(waiter);
  EXPECT_TRUE(got.ok() && got->held());
  EXPECT_EQ(a.active(), 2);
  EXPECT_EQ(a.queued(), 0);
}

// One slot, held; room for one waiter.
class FullAdmission : public ::testing::Test {
 protected:
  Counts counts_;
  Admission a_{options(1, 1, &counts_)};
  CancelToken none_;
  absl::StatusOr<Admission::Ticket> held_ = a_.acquire(none_);
};

TEST_F(FullAdmission, CancellingAWaiterWakesItAtOnceAndFreesItsPlace) {
  Admission& a = a_;
  absl::StatusOr<Admission::Ticket>& held = held_;
  ASSERT_TRUE(held.ok());
  CancelToken token;
  auto waiter = queue_waiter(a, token);
  token.cancel();
  absl::StatusOr<Admission::Ticket> r = outcome(waiter);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kCancelled);
  EXPECT_EQ(r.status().message(), "cancelled while waiting for a test slot");
  EXPECT_EQ(a.queued(), 0);
  EXPECT_EQ(a.active(), 1);  // the holder is untouched
  // The place in the queue is free again: another waiter can queue.
  CancelToken second;
  auto next = queue_waiter(a, second);
  held->reset();
  EXPECT_TRUE(outcome(next).ok());
}

TEST_F(FullAdmission, AnAlreadyCancelledTokenDoesNotWait) {
  Admission& a = a_;
  CancelToken cancelled;
  cancelled.cancel();
  EXPECT_EQ(a.acquire(cancelled).status().code(), absl::StatusCode::kCancelled);
  EXPECT_EQ(a.queued(), 0);
}

TEST_F(FullAdmission, DeadlineEndsTheWait) {
  Admission& a = a_;
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
