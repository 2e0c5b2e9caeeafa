#include "duractor/runtime/activity_context.h"

#include "duractor/runtime/exceptions.h"

namespace duractor {

CancellationToken::CancellationToken() : state_(std::make_shared<State>()) {}

bool CancellationToken::cancelled() const {
  return state_->cancelled.load();
}

std::string CancellationToken::reason() const {
  std::lock_guard lock(state_->mutex);
  return state_->reason;
}

void CancellationToken::throw_if_cancelled() const {
  if (cancelled()) throw Cancelled(reason());
}

void CancellationToken::on_cancel(std::function<void()> callback) const {
  {
    std::lock_guard lock(state_->mutex);
    if (!state_->cancelled) {
      state_->callbacks.push_back(std::move(callback));
      return;
    }
  }
  callback();
}

void CancellationToken::cancel(const std::string& reason) const {
  std::vector<std::function<void()>> callbacks;
  {
    std::lock_guard lock(state_->mutex);
    if (state_->cancelled) return;
    state_->reason = reason;
    state_->cancelled = true;
    callbacks.swap(state_->callbacks);
  }
  for (auto& c : callbacks) c();
}

}  // namespace duractor
