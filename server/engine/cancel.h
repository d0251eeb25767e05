// A request's cancellation: set by the transport (a reactor's OnCancel, a closed stream) and
// read by the engine before each unit of work. Waiting code (admission) subscribes to be woken
// the moment it is cancelled, so nothing polls.
#pragma once

#include <chrono>
#include <functional>
#include <list>
#include <mutex>

namespace quantd::engine {

class CancelToken {
 public:
  using Clock = std::chrono::system_clock;  // gRPC deadlines are wall-clock times

  CancelToken() = default;
  explicit CancelToken(Clock::time_point deadline) : deadline_(deadline) {}
  // A token that never fires: for work nobody can cancel (models named on the command line).
  static const CancelToken& never();

  CancelToken(const CancelToken&) = delete;
  CancelToken& operator=(const CancelToken&) = delete;

  // Idempotent; runs every subscriber once (outside the lock).
  void cancel();
  // True once cancel() ran or the deadline passed.
  bool cancelled() const { return cancel_requested() || deadline_passed(); }
  bool cancel_requested() const;
  bool deadline_passed() const { return Clock::now() >= deadline_; }
  Clock::time_point deadline() const { return deadline_; }

  // Calls on_cancel when cancel() runs, for as long as the Subscription lives. If the token is
  // already cancelled, on_cancel is not called: check cancelled() after subscribing.
  class Subscription {
   public:
    Subscription(const CancelToken& token, std::function<void()> on_cancel);
    ~Subscription();
    Subscription(const Subscription&) = delete;
    Subscription& operator=(const Subscription&) = delete;

   private:
    const CancelToken& token_;
    std::list<std::function<void()>>::iterator it_;
  };

 private:
  const Clock::time_point deadline_ = Clock::time_point::max();
  mutable std::mutex mu_;
  bool cancelled_ = false;
  mutable std::list<std::function<void()>> subscribers_;
};

}  // namespace quantd::engine
