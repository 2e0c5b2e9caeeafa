// LeaseTable: turn locks and work leases held in memory, each a token and an expiry per
// instance or work item, under one mutex.

#include "duractor/store/detail/lease_table.h"

#include <string>

namespace duractor {
namespace {

Error lock_not_held(const InstanceId& instance) {
  return Error::make(ErrorCode::kConflict, "turn lock of instance '" + instance +
                                               "' is not held (never taken, released, or "
                                               "expired and taken by another owner)");
}

Error lease_not_held(std::uint64_t item) {
  return Error::make(ErrorCode::kConflict, "lease of work item " + std::to_string(item) +
                                               " is not held (expired and taken by another "
                                               "worker, or never taken)");
}

}  // namespace

bool LeaseTable::take(LockState& state, TimePoint now, Milliseconds duration) {
  if (state.token != 0 && state.expires_at > now) return false;
  state.token = next_token_++;
  state.expires_at = now + duration;
  return true;
}

Result<InstanceLock> LeaseTable::lock(const InstanceId& instance, TimePoint now,
                                      Milliseconds duration) {
  std::lock_guard guard(mutex_);
  auto& state = locks_[instance];
  if (!take(state, now, duration)) {
    return fail(ErrorCode::kBusy, "instance '" + instance + "' is locked by another turn");
  }
  return InstanceLock{instance, state.token, state.expires_at};
}

void LeaseTable::unlock(const InstanceLock& lock) {
  std::lock_guard guard(mutex_);
  auto it = locks_.find(lock.instance);
  if (it != locks_.end() && it->second.token == lock.token) locks_.erase(it);
}

Status LeaseTable::check_lock(const InstanceLock& lock) const {
  std::lock_guard guard(mutex_);
  auto it = locks_.find(lock.instance);
  if (it == locks_.end() || it->second.token != lock.token || lock.token == 0) {
    return fail(lock_not_held(lock.instance));
  }
  return {};
}

void LeaseTable::forget_locks(const std::vector<InstanceId>& instances) {
  std::lock_guard guard(mutex_);
  for (const auto& id : instances) locks_.erase(id);
}

std::vector<InstanceLock> LeaseTable::held_locks() const {
  std::lock_guard guard(mutex_);
  std::vector<InstanceLock> out;
  out.reserve(locks_.size());
  for (const auto& [id, state] : locks_) out.push_back({id, state.token, state.expires_at});
  return out;
}

std::optional<WorkLease> LeaseTable::try_lease(std::uint64_t item, TimePoint now,
                                               Milliseconds duration) {
  std::lock_guard guard(mutex_);
  auto& state = leases_[item];
  if (!take(state, now, duration)) return std::nullopt;
  return WorkLease{item, state.token, state.expires_at};
}

Result<WorkLease> LeaseTable::lease(std::uint64_t item, TimePoint now, Milliseconds duration) {
  auto taken = try_lease(item, now, duration);
  if (!taken) return fail(ErrorCode::kBusy, "work item " + std::to_string(item) + " is leased");
  return *taken;
}

Result<WorkLease> LeaseTable::renew(const WorkLease& lease, TimePoint now, Milliseconds duration) {
  std::lock_guard guard(mutex_);
  auto it = leases_.find(lease.item);
  if (it == leases_.end() || it->second.token != lease.token || lease.token == 0) {
    return fail(lease_not_held(lease.item));
  }
  it->second.expires_at = now + duration;
  return WorkLease{lease.item, lease.token, it->second.expires_at};
}

void LeaseTable::release(const WorkLease& lease) {
  std::lock_guard guard(mutex_);
  auto it = leases_.find(lease.item);
  if (it != leases_.end() && it->second.token == lease.token) leases_.erase(it);
}

Status LeaseTable::check_lease(const WorkLease& lease) const {
  std::lock_guard guard(mutex_);
  auto it = leases_.find(lease.item);
  if (it == leases_.end() || it->second.token != lease.token || lease.token == 0) {
    return fail(lease_not_held(lease.item));
  }
  return {};
}

void LeaseTable::forget_leases(const std::vector<std::uint64_t>& items) {
  std::lock_guard guard(mutex_);
  for (auto item : items) leases_.erase(item);
}

std::vector<WorkLease> LeaseTable::held_leases() const {
  std::lock_guard guard(mutex_);
  std::vector<WorkLease> out;
  out.reserve(leases_.size());
  for (const auto& [item, state] : leases_) out.push_back({item, state.token, state.expires_at});
  return out;
}

}  // namespace duractor
