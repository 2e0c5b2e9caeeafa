// Writes by other processes that share the LMDB store: noticing them (watch_idle,
// notice_foreign, poll_foreign) and bringing this process's memory in line (reconcile).

#include <unordered_set>

#include "duractor/store/detail/keys.h"
#include "duractor/store/detail/lmdb_impl.h"

namespace duractor {

using detail::JournalUndo;

void LmdbStore::Impl::watch_idle() {
  MDB_envinfo info;
  if (mdb_env_info(env, &info) != 0 || info.me_last_txnid == last_txn) return;
  auto gone = read([&](Tx& tx) { return reconcile(tx); });
  last_txn = info.me_last_txnid;
  ++foreign_generation;
  if (gone) forget_journal(*gone);
}

Result<JournalUndo> LmdbStore::Impl::reconcile(Tx& tx) {
  JournalUndo gone;
  const auto& t = tx.tables();
  std::uint64_t in_journal = tx.entries(t.journal);
  // Our own writes keep the index and the journal the same size; others' deletions make
  // the journal smaller, their turns (another runtime) make it larger.
  if (journal_index.size() != in_journal) {
    auto known = journal_index.all();
    std::unordered_set<std::uint64_t> indexed, present;
    for (const auto& entry : known) indexed.insert(entry.second);
    DURACTOR_TRY(
        tx.scan_from(t.journal, "", [&](std::string_view k, std::string_view v) -> Result<bool> {
          auto seq = detail::get_be64(k);
          present.insert(seq);
          if (indexed.count(seq) != 0) return true;
          auto record = decode_journal_record(v);
          if (!record) {
            return fail(tx.corrupt("journal record " + std::to_string(seq), record.error()));
          }
          if (!record->events.empty()) {
            journal_index.add(record->instance,
                              {record->execution, record->first_event,
                               record->first_event + record->events.size() - 1, seq});
          }
          return true;
        }));
    for (const auto& entry : known) {
      if (present.count(entry.second) == 0) gone.push_back(entry);
    }
  }
  journal_records = in_journal;

  // Locks and leases whose instance or work item is gone; dropped only if still held with
  // the token seen here (a new holder of a new instance under the same id keeps its lock).
  std::vector<InstanceLock> dead_locks;
  for (const auto& lock : lease_table.held_locks()) {
    auto row = tx.get(t.instance_ids, lock.instance);
    if (!row) return fail(row.error());
    if (!*row) dead_locks.push_back(lock);
  }
  std::vector<WorkLease> dead_leases;
  for (const auto& lease : lease_table.held_leases()) {
    auto raw = tx.get(t.work, detail::work_key(lease.item));
    if (!raw) return fail(raw.error());
    if (!*raw) dead_leases.push_back(lease);
  }
  for (const auto& lock : dead_locks) lease_table.unlock(lock);
  for (const auto& lease : dead_leases) lease_table.release(lease);
  return gone;
}

void LmdbStore::Impl::notice_foreign(MDB_txn* txn, std::uint64_t previous) {
  if (previous == last_txn) return;
  Tx tx(txn, tables, options.path, nullptr, now(), journal_index);
  auto gone = reconcile(tx);
  if (gone) vanished.insert(vanished.end(), gone->begin(), gone->end());
  last_txn = previous;
  ++foreign_generation;
}

std::uint64_t LmdbStore::Impl::poll_foreign() {
  std::lock_guard guard(foreign_mutex);
  MDB_envinfo info;
  if (mdb_env_info(env, &info) == 0 && info.me_last_txnid != last_txn) {
    ++foreign_generation;
    last_txn = info.me_last_txnid;
  }
  return foreign_generation;
}

std::uint64_t LmdbStore::foreign_writes() const {
  if (impl_->options.read_only) return impl_->poll_foreign();
  return impl_->foreign_generation;
}

}  // namespace duractor
