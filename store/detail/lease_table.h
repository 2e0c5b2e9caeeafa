#pragma once
// LeaseTable: the turn locks on instances and the leases on work items that one process
// holds, kept in memory (they end with the process, so after a crash everything is free
// again). Plain C++, no storage: a store checks that the instance or work item exists and
// then asks the table. Thread-safe: every member may be called from any thread.

#include <cstdint>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <vector>

#include "duractor/runtime/error.h"
#include "duractor/runtime/ids.h"
#include "duractor/runtime/time.h"
#include "duractor/store/store.h"

namespace duractor {

class LeaseTable {
 public:
  LeaseTable() = default;
  LeaseTable(const LeaseTable&) = delete;
  LeaseTable& operator=(const LeaseTable&) = delete;

  // ---- turn locks ----

  // Takes the turn lock of `instance` until now + duration, with a new token. kBusy if
  // another holder's lock has not expired by `now` (an expired lock is taken over).
  Result<InstanceLock> lock(const InstanceId& instance, TimePoint now, Milliseconds duration);

  // Releases `lock` if it is still held with its token; otherwise does nothing.
  void unlock(const InstanceLock& lock);

  // OK if `lock` is held with its token (even if past its expiry: nobody has taken it
  // over); kConflict otherwise (never taken, released, or taken over by another owner).
  Status check_lock(const InstanceLock& lock) const;

  // Drops the locks of `instances`, whoever holds them (the instances were deleted).
  void forget_locks(const std::vector<InstanceId>& instances);

  // Every lock held now, with its token.
  std::vector<InstanceLock> held_locks() const;

  // ---- work leases ----

  // Leases work item `item` until now + duration, with a new token, unless another
  // holder's lease has not expired by `now` (then nullopt; an expired lease is taken over).
  std::optional<WorkLease> try_lease(std::uint64_t item, TimePoint now, Milliseconds duration);

  // As try_lease, but kBusy when the item is leased.
  Result<WorkLease> lease(std::uint64_t item, TimePoint now, Milliseconds duration);

  // Extends a held lease to now + duration; kConflict (as check_lease) if it is not held.
  Result<WorkLease> renew(const WorkLease& lease, TimePoint now, Milliseconds duration);

  // Releases `lease` if it is still held with its token; otherwise does nothing.
  void release(const WorkLease& lease);

  // OK if `lease` is held with its token (even if past its expiry: nobody has taken it
  // over); kConflict otherwise (expired and taken by another worker, or never taken).
  Status check_lease(const WorkLease& lease) const;

  // Drops the leases of `items`, whoever holds them (the items were completed or deleted).
  void forget_leases(const std::vector<std::uint64_t>& items);

  // Every lease held now, with its token.
  std::vector<WorkLease> held_leases() const;

 private:
  struct LockState {
    std::uint64_t token = 0;
    TimePoint expires_at;
  };

  // Takes `state` for a new holder unless its holder's lock has not expired by `now`.
  bool take(LockState& state, TimePoint now, Milliseconds duration);

  // Everything below is guarded by mutex_.
  mutable std::mutex mutex_;
  std::unordered_map<InstanceId, LockState> locks_;
  std::unordered_map<std::uint64_t, LockState> leases_;
  std::uint64_t next_token_ = 1;
};

}  // namespace duractor
