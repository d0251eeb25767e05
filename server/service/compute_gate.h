// Admission for kernel work, so concurrent calls do not oversubscribe the cores.
//
// Each gRPC call runs on its own thread; a large tensor's kernels then fan out over
// `threads` OpenMP threads. Without a gate, N concurrent large calls would run N x threads
// busy threads on a machine with `threads` cores, and every one of them would slow down
// (and the OpenMP spin-waits would burn what is left). So large jobs take one of `slots`
// leases (default 1: one parallel job at a time, using every core), and wait for it while
// honouring the caller's cancellation and deadline. Small jobs run single-threaded beside
// them without a lease: their cost is mostly (de)serialization, which gRPC already spreads.
#pragma once

#include <grpcpp/server_context.h>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>

namespace quantd::service {

class ComputeGate {
 public:
  // on_queue_change(n) is called with the number of waiting calls whenever it changes.
  ComputeGate(int slots, std::function<void(int)> on_queue_change)
      : free_(slots), on_queue_change_(std::move(on_queue_change)) {}

  class Lease {
   public:
    explicit Lease(ComputeGate* gate) : gate_(gate) {}
    Lease(Lease&& other) noexcept : gate_(other.gate_) { other.gate_ = nullptr; }
    Lease& operator=(Lease&& other) noexcept {
      if (this != &other) {
        if (gate_ != nullptr) gate_->release();
        gate_ = other.gate_;
        other.gate_ = nullptr;
      }
      return *this;
    }
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    ~Lease() {
      if (gate_ != nullptr) gate_->release();
    }
    bool held() const { return gate_ != nullptr; }

   private:
    ComputeGate* gate_;
  };

  // Blocks until a slot is free; returns an empty lease if the call was cancelled or its
  // deadline passed first.
  Lease acquire(grpc::ServerContext* context) {
    std::unique_lock lock(mu_);
    if (free_ > 0) {
      --free_;
      return Lease(this);
    }
    on_queue_change_(++waiting_);
    while (free_ == 0) {
      if (context != nullptr && context->IsCancelled()) {
        on_queue_change_(--waiting_);
        return Lease(nullptr);
      }
      cv_.wait_for(lock, std::chrono::milliseconds(20));
    }
    on_queue_change_(--waiting_);
    --free_;
    return Lease(this);
  }

 private:
  void release() {
    {
      std::lock_guard lock(mu_);
      ++free_;
    }
    cv_.notify_one();
  }

  mutable std::mutex mu_;
  std::condition_variable cv_;
  int free_;
  int waiting_ = 0;
  const std::function<void(int)> on_queue_change_;
};

}  // namespace quantd::service
