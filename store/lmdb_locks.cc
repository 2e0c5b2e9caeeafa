// Turn locks and work leases of the LMDB store: kept in this process's memory, they end
// with it. The store checks that the instance or work item exists, then takes the lock.

#include "store/detail/keys.h"
#include "store/detail/lmdb_impl.h"

namespace duractor {

using detail::Tx;
Status LmdbStore::Impl::check_lock(const InstanceLock& lock) {
  std::lock_guard guard(locks_mutex);
  auto it = locks.find(lock.instance);
  if (it == locks.end() || it->second.token != lock.token || lock.token == 0) {
    return fail(ErrorCode::kConflict, "turn lock of instance '" + lock.instance +
                                          "' is not held (never taken, released, or expired "
                                          "and taken by another owner)");
  }
  return {};
}

Status LmdbStore::Impl::check_lease(const WorkLease& lease) {
  std::lock_guard guard(locks_mutex);
  auto it = leases.find(lease.item);
  if (it == leases.end() || it->second.token != lease.token || lease.token == 0) {
    return fail(ErrorCode::kConflict, "lease of work item " + std::to_string(lease.item) +
                                          " is not held (expired and taken by another "
                                          "worker, or never taken)");
  }
  return {};
}

void LmdbStore::Impl::forget_leases(const std::vector<std::uint64_t>& items) {
  std::lock_guard guard(locks_mutex);
  for (auto id : items) leases.erase(id);
}

Result<InstanceLock> LmdbStore::lock_instance(const InstanceId& instance, Milliseconds duration) {
  auto exists = impl_->read([&](Tx& tx) -> Result<bool> {
    auto raw = tx.get(tx.tables().instance_ids, instance);
    if (!raw) return fail(raw.error());
    return raw->has_value();
  });
  if (!exists) return fail(exists.error());
  if (!*exists) return fail(ErrorCode::kNotFound, "no instance '" + instance + "'");
  auto now = impl_->now();
  std::lock_guard guard(impl_->locks_mutex);
  auto& state = impl_->locks[instance];
  if (state.token != 0 && state.expires_at > now) {
    return fail(ErrorCode::kBusy, "instance '" + instance + "' is locked by another turn");
  }
  state.token = impl_->next_token++;
  state.expires_at = now + duration;
  return InstanceLock{instance, state.token, state.expires_at};
}

void LmdbStore::unlock_instance(const InstanceLock& lock) {
  std::lock_guard guard(impl_->locks_mutex);
  auto it = impl_->locks.find(lock.instance);
  if (it != impl_->locks.end() && it->second.token == lock.token) impl_->locks.erase(it);
}

Result<std::vector<LeasedWork>> LmdbStore::take_work(std::size_t max, Milliseconds duration) {
  auto now = impl_->now();
  std::vector<LeasedWork> out;
  auto st = impl_->read([&](Tx& tx) -> Status {
    return tx.scan_from(tx.tables().work, "",
                        [&](std::string_view k, std::string_view v) -> Result<bool> {
                          if (out.size() >= max) return false;
                          auto id = detail::get_be64(k);
                          {
                            std::lock_guard guard(impl_->locks_mutex);
                            auto& lease = impl_->leases[id];
                            if (lease.token != 0 && lease.expires_at > now) return true;
                            auto item = decode_work_item(v);
                            if (!item) {
                              impl_->leases.erase(id);
                              return fail(tx.corrupt("work item " + std::to_string(id),
                                                     item.error()));
                            }
                            lease.token = impl_->next_token++;
                            lease.expires_at = now + duration;
                            out.push_back(LeasedWork{std::move(*item),
                                                     WorkLease{id, lease.token, lease.expires_at}});
                          }
                          return true;
                        });
  });
  if (!st) return fail(st.error());
  return out;
}

Result<WorkLease> LmdbStore::lease_work(std::uint64_t item, Milliseconds duration) {
  auto exists = impl_->read([&](Tx& tx) -> Result<bool> {
    auto raw = tx.get(tx.tables().work, detail::work_key(item));
    if (!raw) return fail(raw.error());
    return raw->has_value();
  });
  if (!exists) return fail(exists.error());
  if (!*exists) return fail(ErrorCode::kNotFound, "no work item " + std::to_string(item));
  auto now = impl_->now();
  std::lock_guard guard(impl_->locks_mutex);
  auto& lease = impl_->leases[item];
  if (lease.token != 0 && lease.expires_at > now) {
    return fail(ErrorCode::kBusy, "work item " + std::to_string(item) + " is leased");
  }
  lease.token = impl_->next_token++;
  lease.expires_at = now + duration;
  return WorkLease{item, lease.token, lease.expires_at};
}

Result<WorkLease> LmdbStore::renew_lease(const WorkLease& lease, Milliseconds duration) {
  DURACTOR_TRY(impl_->check_lease(lease));
  std::lock_guard guard(impl_->locks_mutex);
  auto& state = impl_->leases[lease.item];
  state.expires_at = impl_->now() + duration;
  return WorkLease{lease.item, lease.token, state.expires_at};
}

void LmdbStore::abandon_work(const WorkLease& lease) {
  std::lock_guard guard(impl_->locks_mutex);
  auto it = impl_->leases.find(lease.item);
  if (it != impl_->leases.end() && it->second.token == lease.token) impl_->leases.erase(it);
}
}  // namespace duractor
