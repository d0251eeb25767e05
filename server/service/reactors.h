// The callback API's plumbing: a call's cancellation token fired by OnCancel, and for streams
// an outbox with one write in flight (messages queue behind it; the final status goes out after
// the last). Any thread may push or close; gRPC's reactions only start the next write.
#pragma once

#include <grpcpp/grpcpp.h>

#include <deque>
#include <functional>
#include <mutex>
#include <optional>

#include "server/engine/cancel.h"
#include "server/engine/workers.h"
#include "server/service/status.h"

namespace quantd::service {

// One unary call: fn(token) -> absl::Status runs inline, or on `workers` when it may block.
class UnaryCall final : public grpc::ServerUnaryReactor {
 public:
  template <class Fn>
  static grpc::ServerUnaryReactor* start(grpc::CallbackServerContext* context, engine::Workers* workers, Fn fn) {
    auto* call = new UnaryCall(context);
    auto body = [call, fn = std::move(fn)]() mutable { call->Finish(to_grpc_status(fn(call->token_))); };
    if (workers != nullptr) {
      workers->run(std::move(body));
    } else {
      body();
    }
    return call;
  }
  void OnCancel() override { token_.cancel(); }
  void OnDone() override { delete this; }

 private:
  explicit UnaryCall(grpc::CallbackServerContext* context) : token_(context->deadline()) {}
  engine::CancelToken token_;
};

template <class Msg>
class Outbox {
 public:
  template <class Reactor>
  explicit Outbox(Reactor* r)
      : start_([r](const Msg* m) { r->StartWrite(m); }), finish_([r](const grpc::Status& s) { r->Finish(s); }) {}

  // Queues a message; false once a write has failed (the client is gone).
  bool push(Msg m) {
    std::unique_lock lock(mu_);
    if (broken_) return false;
    queue_.push_back(std::move(m));
    start_next(lock);
    return true;
  }

  // Messages made on demand after the queued ones, one per completed write, so a long reply
  // is never copied into the queue whole. next(&m) fills m, or returns false when done.
  bool stream(std::function<bool(Msg*)> next) {
    std::unique_lock lock(mu_);
    if (broken_) return false;
    more_ = std::move(next);
    start_next(lock);
    return true;
  }

  // Ends the call with `status` once the queued messages are written. Call once.
  void close(const grpc::Status& status) {
    std::unique_lock lock(mu_);
    if (writing_) {
      final_ = status;
      return;
    }
    lock.unlock();
    finish_(status);
  }

  // From OnWriteDone: the next write or the deferred finish. False when the write failed.
  bool on_write_done(bool ok) {
    std::unique_lock lock(mu_);
    writing_ = false;
    if (!ok) broken_ = true;
    if (start_next(lock)) return true;
    std::optional<grpc::Status> status = std::move(final_);
    final_.reset();
    lock.unlock();
    if (status) finish_(*status);
    return ok;
  }

 private:
  const std::function<void(const Msg*)> start_;
  const std::function<void(const grpc::Status&)> finish_;
  std::mutex mu_;
  Msg current_;  // the message in flight: gRPC reads it until OnWriteDone
  std::deque<Msg> queue_;
  bool writing_ = false;
  bool broken_ = false;
  std::function<bool(Msg*)> more_;
  std::optional<grpc::Status> final_;

  // Starts the next write unless one is in flight or none is left; true (and unlocked) when
  // it started one.
  bool start_next(std::unique_lock<std::mutex>& lock) {
    if (writing_ || broken_) return false;
    if (!queue_.empty()) {
      current_ = std::move(queue_.front());
      queue_.pop_front();
    } else if (!more_ || !more_(&current_)) {
      more_ = nullptr;
      return false;
    }
    writing_ = true;
    lock.unlock();
    start_(&current_);
    return true;
  }
};

// A streaming call's common part: the token (fired by OnCancel or a failed write) and the outbox.
template <class Reactor, class Msg>
class StreamCall : public Reactor {
 public:
  explicit StreamCall(grpc::CallbackServerContext* context) : token_(context->deadline()), outbox_(this) {}
  engine::CancelToken& token() { return token_; }
  Outbox<Msg>& outbox() { return outbox_; }
  void OnCancel() override { token_.cancel(); }
  void OnWriteDone(bool ok) override {
    if (!outbox_.on_write_done(ok)) token_.cancel();
  }
  void OnDone() override { delete this; }

 private:
  engine::CancelToken token_;
  Outbox<Msg> outbox_;
};

}  // namespace quantd::service
