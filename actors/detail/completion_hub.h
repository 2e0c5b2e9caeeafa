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
#include <vector>

#include "duractor/runtime/error.h"
#include "duractor/runtime/instance.h"

namespace duractor {

class CompletionHub {
 public:
  // Called once: with the final InstanceInfo, or with an error (kNotFound) when the
  // instance turned out not to exist, or was deleted before it finished.
  using Callback = std::function<void(const Result<InstanceInfo>&)>;

  // Calls `callback` once when `instance` finishes or is found gone. Returns a token for
  // unwatch. A caller that must not miss an instance that already finished, or that never
  // existed, checks the store after watching (and calls `gone` itself if it is missing).
  std::uint64_t watch(const InstanceId& instance, Callback callback);
  void unwatch(const InstanceId& instance, std::uint64_t token);
  // An instance reached a final state (its commit is durable).
  void finished(const InstanceInfo& info);
  // `instance` does not exist (never did, or was deleted): its waiters get kNotFound.
  void gone(const InstanceId& instance);
  // Whether anyone waits for `instance`; a caller that reads the store only to call
  // finished() skips the read when nobody does (a later watcher checks the store itself).
  bool watching(const InstanceId& instance) const;
  // The instances someone waits for (a snapshot), for checks that they still exist.
  std::vector<InstanceId> watched() const;

 private:
  void notify(const InstanceId& instance, const Result<InstanceInfo>& outcome);

  mutable std::mutex mutex_;
  std::uint64_t next_ = 1;
  std::unordered_map<InstanceId, std::map<std::uint64_t, Callback>> watchers_;
};

}  // namespace duractor
