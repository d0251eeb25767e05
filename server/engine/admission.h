// Admission: at most max_active holders at once, up to max_queued more waiting in arrival order
// (woken by a release or by their own cancellation, never by a timer), the rest refused at once
// with RESOURCE_EXHAUSTED. One type serves both of quantd's limits: the compute lease of large
// tensor jobs (one parallel kernel job at a time, so N clients do not run N x threads busy
// threads on `threads` cores) and the Generate stream slots (each stream holds a KV cache).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <limits>
#include <mutex>
#include <string>

#include "absl/status/statusor.h"
#include "server/engine/cancel.h"

namespace quantd::engine {

class Admission {
 public:
  struct Options {
    int max_active = 1;
    int max_queued = std::numeric_limits<int>::max();
    std::string slot;     // what is waited for, in messages: "a compute slot"
    std::string holders;  // who holds slots, in the queue-full message: "generations"
    std::string limits;   // the flags behind the limits: "--max_generations=4, --generate_queue=16"
    // Called under the lock whenever the counts change (queue-length metrics).
    std::function<void(int active, int queued)> on_change;
  };
  explicit Admission(Options options);

  // A held slot; released when destroyed (or when moved-from into another).
  class Ticket {
   public:
    Ticket() = default;
    explicit Ticket(Admission* owner) : owner_(owner) {}
    Ticket(Ticket&& other) noexcept : owner_(other.owner_) { other.owner_ = nullptr; }
    Ticket& operator=(Ticket&& other) noexcept;
    Ticket(const Ticket&) = delete;
    Ticket& operator=(const Ticket&) = delete;
    ~Ticket() { reset(); }
    bool held() const { return owner_ != nullptr; }
    void reset();

   private:
    Admission* owner_ = nullptr;
  };

  // A slot (OK), RESOURCE_EXHAUSTED when max_queued are already waiting, CANCELLED or
  // DEADLINE_EXCEEDED when the token fires while waiting.
  absl::StatusOr<Ticket> acquire(const CancelToken& cancel);

  int active() const;
  int queued() const;
  int max_active() const { return options_.max_active; }

 private:
  void release();
  void changed() const {
    if (options_.on_change) options_.on_change(active_, static_cast<int>(waiting_.size()));
  }

  const Options options_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  int active_ = 0;
  std::deque<uint64_t> waiting_;  // arrival order; the front is served first
  uint64_t next_id_ = 0;
};

}  // namespace quantd::engine
