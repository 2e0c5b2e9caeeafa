// Turn locks and work leases of the LMDB store: kept in this process's memory (LeaseTable),
// they end with it. The store checks that the instance or work item exists, then asks the
// table.

#include "duractor/store/detail/keys.h"
#include "duractor/store/detail/lmdb_impl.h"

namespace duractor {

using detail::Tx;

Result<InstanceLock> LmdbStore::lock_instance(const InstanceId& instance, Milliseconds duration) {
  auto exists = impl_->read([&](Tx& tx) -> Result<bool> {
    auto raw = tx.get(tx.tables().instance_ids, instance);
    if (!raw) return fail(raw.error());
    return raw->has_value();
  });
  if (!exists) return fail(exists.error());
  if (!*exists) return fail(ErrorCode::kNotFound, "no instance '" + instance + "'");
  return impl_->lease_table.lock(instance, impl_->now(), duration);
}

void LmdbStore::unlock_instance(const InstanceLock& lock) {
  impl_->lease_table.unlock(lock);
}

Result<std::vector<LeasedWork>> LmdbStore::take_work(std::size_t max, Milliseconds duration) {
  auto now = impl_->now();
  std::vector<LeasedWork> out;
  auto st = impl_->read([&](Tx& tx) -> Status {
    return tx.scan_from(
        tx.tables().work, "", [&](std::string_view k, std::string_view v) -> Result<bool> {
          if (out.size() >= max) return false;
          auto id = detail::get_be64(k);
          auto lease = impl_->lease_table.try_lease(id, now, duration);
          if (!lease) return true;  // leased by another worker
          auto item = decode_work_item(v);
          if (!item) {
            impl_->lease_table.release(*lease);
            return fail(tx.corrupt("work item " + std::to_string(id), item.error()));
          }
          out.push_back(LeasedWork{std::move(*item), *lease});
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
  return impl_->lease_table.lease(item, impl_->now(), duration);
}

Result<WorkLease> LmdbStore::renew_lease(const WorkLease& lease, Milliseconds duration) {
  return impl_->lease_table.renew(lease, impl_->now(), duration);
}

void LmdbStore::abandon_work(const WorkLease& lease) {
  impl_->lease_table.release(lease);
}

}  // namespace duractor
