#include "server/engine/admission.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace quantd::engine {

Admission::Admission(Options options) : options_(std::move(options)) { changed(); }

Admission::Ticket& Admission::Ticket::operator=(Ticket&& other) noexcept {
  if (this != &other) {
    reset();
    owner_ = other.owner_;
    other.owner_ = nullptr;
  }
  return *this;
}

void Admission::Ticket::reset() {
  if (owner_ != nullptr) owner_->release();
  owner_ = nullptr;
}

absl::StatusOr<Admission::Ticket> Admission::acquire(const CancelToken& cancel) {
  std::unique_lock lock(mu_);
  if (active_ < options_.max_active && waiting_.empty()) {
    ++active_;
    changed();
    return Ticket(this);
  }
  if (static_cast<int64_t>(waiting_.size()) >= options_.max_queued) {
    return absl::ResourceExhaustedError(absl::StrCat(active_, " ", options_.holders, " are running and ",
                                                     waiting_.size(), " are queued (", options_.limits,
                                                     "); retry later"));
  }
  const uint64_t id = next_id_++;
  waiting_.push_back(id);
  changed();
  // Woken by a release or by this request's cancellation; the deadline bounds the wait.
  CancelToken::Subscription wake(cancel, [this] {
    std::lock_guard l(mu_);
    cv_.notify_all();
  });
  const auto my_turn = [&] { return active_ < options_.max_active && waiting_.front() == id; };
  while (!my_turn() && !cancel.cancelled()) {
    if (cv_.wait_until(lock, cancel.deadline()) == std::cv_status::timeout) break;
  }
  if (!my_turn()) {
    waiting_.erase(std::find(waiting_.begin(), waiting_.end(), id));
    changed();
    cv_.notify_all();  // the next in line may be able to go now
    if (cancel.deadline_passed() && !cancel.cancel_requested()) {
      return absl::DeadlineExceededError(absl::StrCat("deadline passed while waiting for ", options_.slot));
    }
    return absl::CancelledError(absl::StrCat("cancelled while waiting for ", options_.slot));
  }
  waiting_.pop_front();
  ++active_;
  changed();
  cv_.notify_all();  // the new front may also fit when several slots are free
  return Ticket(this);
}

void Admission::release() {
  std::lock_guard lock(mu_);
  --active_;
  changed();
  cv_.notify_all();
}

int Admission::active() const {
  std::lock_guard lock(mu_);
  return active_;
}

int Admission::queued() const {
  std::lock_guard lock(mu_);
  return static_cast<int>(waiting_.size());
}

}  // namespace quantd::engine
