#include "duractor/actors/detail/completion_hub.h"

namespace duractor {

std::uint64_t CompletionHub::watch(const InstanceId& instance, Callback callback) {
  std::lock_guard lock(mutex_);
  auto token = next_++;
  watchers_[instance].emplace(token, std::move(callback));
  return token;
}

void CompletionHub::unwatch(const InstanceId& instance, std::uint64_t token) {
  std::lock_guard lock(mutex_);
  auto it = watchers_.find(instance);
  if (it == watchers_.end()) return;
  it->second.erase(token);
  if (it->second.empty()) watchers_.erase(it);
}

void CompletionHub::finished(const InstanceInfo& info) {
  notify(info.id, info);
}

void CompletionHub::gone(const InstanceId& instance) {
  notify(instance, fail(ErrorCode::kNotFound, "no instance '" + instance + "'"));
}

bool CompletionHub::watching(const InstanceId& instance) const {
  std::lock_guard lock(mutex_);
  return watchers_.contains(instance);
}

std::vector<InstanceId> CompletionHub::watched() const {
  std::lock_guard lock(mutex_);
  std::vector<InstanceId> ids;
  ids.reserve(watchers_.size());
  for (const auto& entry : watchers_) ids.push_back(entry.first);
  return ids;
}

void CompletionHub::notify(const InstanceId& instance, const Result<InstanceInfo>& outcome) {
  std::map<std::uint64_t, Callback> callbacks;
  {
    std::lock_guard lock(mutex_);
    auto it = watchers_.find(instance);
    if (it == watchers_.end()) return;
    callbacks = std::move(it->second);
    watchers_.erase(it);
  }
  for (auto& [token, callback] : callbacks) callback(outcome);
}

}  // namespace duractor
