#pragma once
// CompletionHub: who is waiting for which instance to finish. Instance actors report a
// final state after its commit; waiters (Client::wait on any thread, watching actors) are
// called once and forgotten. Thread-safe; callbacks run on the reporting thread and must
// not block.

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <unordered_map>

#include "runtime/instance.h"

namespace duractor {

class CompletionHub {
 public:
  using Callback = std::function<void(const InstanceInfo&)>;

  // Calls `callback` once when `instance` finishes. Returns a token for unwatch. A caller
  // that must not miss an instance that already finished checks the store after watching.
  std::uint64_t watch(const InstanceId& instance, Callback callback);
  void unwatch(const InstanceId& instance, std::uint64_t token);
  // An instance reached a final state (its commit is durable).
  void finished(const InstanceInfo& info);

 private:
  std::mutex mutex_;
  std::uint64_t next_ = 1;
  std::unordered_map<InstanceId, std::map<std::uint64_t, Callback>> watchers_;
};

}  // namespace duractor
