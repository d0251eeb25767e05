// Admission for Generate: at most `max_active` streams decode at once; up to `max_queued`
// more wait (in arrival order of wake-ups, honouring cancellation and deadlines); beyond that
// a request is refused at once with RESOURCE_EXHAUSTED, so a burst cannot pile up unbounded
// memory (each running stream holds a KV cache).
#pragma once

#include <grpcpp/server_context.h>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace quantd::service {

class GenerationSlots {
 public:
  GenerationSlots(int max_active, int max_queued, std::function<void(int active, int queued)> on_change)
      : max_active_(max_active), max_queued_(max_queued), on_change_(std::move(on_change)) {}

  // OK with a slot taken (release() it), RESOURCE_EXHAUSTED when the queue is full, CANCELLED
  // when the call went away while waiting.
  absl::Status acquire(grpc::ServerContext* context) {
    std::unique_lock lock(mu_);
    if (active_ >= max_active_) {
      if (queued_ >= max_queued_) {
        return absl::ResourceExhaustedError(absl::StrCat(active_, " generations are running and ", queued_,
                                                         " are queued (--max_generations=", max_active_,
                                                         ", --generate_queue=", max_queued_, "); retry later"));
      }
      ++queued_;
      on_change_(active_, queued_);
      while (active_ >= max_active_) {
        if (context->IsCancelled()) {
          --queued_;
          on_change_(active_, queued_);
          return absl::CancelledError("cancelled while queued for a generation slot");
        }
        cv_.wait_for(lock, std::chrono::milliseconds(20));
      }
      --queued_;
    }
    ++active_;
    on_change_(active_, queued_);
    return absl::OkStatus();
  }

  void release() {
    {
      std::lock_guard lock(mu_);
      --active_;
      on_change_(active_, queued_);
    }
    cv_.notify_one();
  }

  int active() const {
    std::lock_guard lock(mu_);
    return active_;
  }
  int max_active() const { return max_active_; }

 private:
  const int max_active_;
  const int max_queued_;
  const std::function<void(int, int)> on_change_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  int active_ = 0;
  int queued_ = 0;
};

}  // namespace quantd::service
