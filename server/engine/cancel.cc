#include "server/engine/cancel.h"

#include <vector>

namespace quantd::engine {

const CancelToken& CancelToken::never() {
  static const CancelToken token;
  return token;
}

void CancelToken::cancel() {
  std::vector<std::function<void()>> to_call;
  {
    std::lock_guard lock(mu_);
    if (cancelled_) return;
    cancelled_ = true;
    to_call.assign(subscribers_.begin(), subscribers_.end());
  }
  for (const auto& f : to_call) f();
}

bool CancelToken::cancel_requested() const {
  std::lock_guard lock(mu_);
  return cancelled_;
}

CancelToken::Subscription::Subscription(const CancelToken& token, std::function<void()> on_cancel) : token_(token) {
  std::lock_guard lock(token_.mu_);
  it_ = token_.subscribers_.insert(token_.subscribers_.end(), std::move(on_cancel));
}

CancelToken::Subscription::~Subscription() {
  std::lock_guard lock(token_.mu_);
  token_.subscribers_.erase(it_);
}

}  // namespace quantd::engine
