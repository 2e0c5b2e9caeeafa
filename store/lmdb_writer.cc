// The LMDB store's writer thread: it takes queued writes in batches, runs each batch in one
// write transaction (group commit), retries around map growth and half-done writes, and
// answers every caller after the sync. Also the journal compaction it piggybacks on batches.

#include <algorithm>

#include "duractor/runtime/metrics.h"
#include "duractor/store/detail/lmdb_impl.h"

namespace duractor {

using detail::CompactionWrite;

Status detail::CompactionWrite::apply(Tx& tx) {
  moved_.clear();
  DURACTOR_TRY(tx.compact_journal(step_, moved_));
  remaining_ = tx.entries(tx.tables().journal);
  return {};
}
void LmdbStore::Impl::writer_loop() {
  std::vector<std::unique_ptr<PendingWrite>> batch;
  std::size_t last_batch = 1;
  for (;;) {
    {
      std::unique_lock lock(queue_mutex);
      auto ready = [&] { return stopping || !queue.empty(); };
      if (options.watch_interval.count() > 0) {
        if (!queue_cv.wait_for(lock, options.watch_interval, ready)) {
          lock.unlock();
          watch_idle();
          continue;
        }
      } else {
        queue_cv.wait(lock, ready);
      }
      if (queue.empty()) return;
      take_queued(batch);
    }
    bool compacting = options.compact_journal && journal_records > options.journal_limit;
    if (compacting) {
      // Move the oldest records in the same sync as this batch, many times faster than
      // turns arrive (so this happens on few batches) but in bounded steps (the latency
      // of the batch that carries it). The journal is large, so the oldest records hold
      // most turns of the instances they belong to, and each history page is written
      // once for all of them.
      std::size_t step = std::clamp<std::size_t>(32 * last_batch, 256, 4096);
      batch.push_back(std::make_unique<CompactionWrite>(
          step, [this](const JournalUndo& moved, std::uint64_t remaining) {
            forget_journal(moved);
            journal_records = remaining;
          }));
    }
    run_batch(batch, last_batch + (compacting ? 1 : 0));
    last_batch = std::max<std::size_t>(batch.size() - (compacting ? 1 : 0), 1);
    batch.clear();
    if (!vanished.empty()) {
      forget_journal(vanished);
      vanished.clear();
    }
  }
}

void LmdbStore::Impl::take_queued(std::vector<std::unique_ptr<PendingWrite>>& batch) {
  while (!queue.empty() && batch.size() < options.max_batch) {
    batch.push_back(std::move(queue.front()));
    queue.pop_front();
  }
}

bool LmdbStore::Impl::gather(std::vector<std::unique_ptr<PendingWrite>>& batch, std::size_t target,
                             std::chrono::steady_clock::time_point deadline) {
  if (batch.size() >= target || batch.size() >= options.max_batch) return false;
  std::unique_lock lock(queue_mutex);
  if (queue.empty()) {
    queue_cv.wait_until(lock, deadline, [&] { return stopping || !queue.empty(); });
  }
  if (queue.empty()) return false;
  take_queued(batch);
  return true;
}

void LmdbStore::Impl::run_batch(std::vector<std::unique_ptr<PendingWrite>>& batch,
                                std::size_t target) {
  std::vector<Status> results(batch.size());
  auto began = std::chrono::steady_clock::now();
  Status committed = execute_batch(batch, results, target);
  if (options.metrics != nullptr && committed) {
    // The writes that committed, the writer's own journal compaction left out.
    std::size_t writes = 0;
    for (std::size_t i = 0; i < batch.size(); ++i) {
      if (results[i] && dynamic_cast<const CompactionWrite*>(batch[i].get()) == nullptr) ++writes;
    }
    if (writes > 0) {
      options.metrics->store_committed(writes, std::chrono::steady_clock::now() - began);
    }
  }
  for (std::size_t i = 0; i < batch.size(); ++i) {
    Status outcome = !results[i] ? results[i] : committed;
    if (outcome) batch[i]->committed();
    batch[i]->finish(std::move(outcome));
  }
}

LmdbStore::Impl::Attempt LmdbStore::Impl::try_batch(
    std::vector<std::unique_ptr<PendingWrite>>& batch, std::vector<Status>& results,
    std::vector<bool>& failed, Status& committed, std::size_t gather_target) {
  JournalUndo added;  // journal index entries of this attempt, taken back unless it commits
  Attempt a = try_batch_once(batch, results, failed, committed, added, gather_target);
  if (a != Attempt::kDone || !committed) {
    for (const auto& [instance, seq] : added) journal_index.remove(instance, seq);
  }
  return a;
}

LmdbStore::Impl::Attempt LmdbStore::Impl::try_batch_once(
    std::vector<std::unique_ptr<PendingWrite>>& batch, std::vector<Status>& results,
    std::vector<bool>& failed, Status& committed, JournalUndo& added, std::size_t gather_target) {
  auto deadline = std::chrono::steady_clock::now() + options.group_commit_wait;
  std::shared_lock lock(env_mutex);
  MDB_txn* txn = nullptr;
  int rc = mdb_txn_begin(env, nullptr, 0, &txn);
  if (rc == MDB_MAP_RESIZED) {
    lock.unlock();
    adopt_map_size();
    return Attempt::kRetry;
  }
  if (rc != 0) {
    committed = fail(error(rc, "begin write transaction"));
    return Attempt::kDone;
  }
  TxnGuard guard(txn);
  if (options.write_gate) {
    if (auto open = options.write_gate(); !open) {
      committed = std::move(open);
      return Attempt::kDone;
    }
  }
  std::uint64_t txn_id = mdb_txn_id(txn);
  notice_foreign(txn, txn_id - 1);
  TimePoint now = this->now();
  bool wrote = false;
  for (std::size_t i = 0;;) {
    for (; i < batch.size(); ++i) {
      if (failed[i]) continue;
      Tx tx(txn, tables, options.path, &options.fault_injector, now, journal_index, &added);
      Status st = batch[i]->apply(tx);
      if (!st && tx.hit_map_full()) return Attempt::kMapFull;
      if (!st && tx.wrote()) {
        failed[i] = true;
        results[i] = std::move(st);
        return Attempt::kRetry;
      }
      wrote = wrote || tx.wrote();
      results[i] = std::move(st);
    }
    if (gather_target == 0 || options.group_commit_wait.count() <= 0 ||
        !gather(batch, gather_target, deadline)) {
      break;
    }
    results.resize(batch.size());
    failed.resize(batch.size(), false);
  }
  if (!wrote) return Attempt::kDone;  // nothing to commit: the guard aborts
  {
    // Every commit changes something, so that it advances LMDB's transaction id (an
    // empty commit would not, and would look like another process's; see last_txn).
    Tx tx(txn, tables, options.path, nullptr, now, journal_index);
    auto marker = tx.next_counter("seq.commit");
    if (!marker && tx.hit_map_full()) return Attempt::kMapFull;
    if (!marker) {
      committed = fail(marker.error());
      return Attempt::kDone;
    }
  }
  if (options.fault_injector) {
    if (auto st = options.fault_injector(FaultStep{"batch.commit", {}}); !st) {
      committed = std::move(st);
      return Attempt::kDone;
    }
  }
  rc = guard.commit();
  if (rc == MDB_MAP_FULL) return Attempt::kMapFull;
  if (rc != 0) {
    committed = fail(with_free_space(error(rc, "commit")));
  } else {
    last_txn = txn_id;
  }
  return Attempt::kDone;
}

Status LmdbStore::Impl::execute_batch(std::vector<std::unique_ptr<PendingWrite>>& batch,
                                      std::vector<Status>& results, std::size_t gather_target) {
  std::vector<bool> failed(batch.size(), false);
  for (int resized = 0, grown = 0, attempt = 0;; ++attempt) {
    for (std::size_t i = 0; i < batch.size(); ++i) {
      if (!failed[i]) results[i] = Status{};
    }
    Status committed;
    // Only the first attempt gathers more writes; a retry redoes the batch as it is.
    Attempt a = try_batch(batch, results, failed, committed, attempt == 0 ? gather_target : 0);
    if (a == Attempt::kDone) return committed;
    if (a == Attempt::kRetry) {
      // Either a write failed half-way (it is now excluded) or another process resized
      // the map. Both are rare; the second cannot repeat forever.
      if (std::find(failed.begin(), failed.end(), false) == failed.end()) return {};
      if (++resized < 64) continue;
      return fail(ErrorCode::kIo, "store " + options.path + ": could not start a write");
    }
    if (grow_map() && ++grown < 64) continue;
    break;
  }
  // The map cannot grow any more: commit the writes one by one, so that those that still
  // fit succeed and only the ones that do not fail.
  for (std::size_t i = 0; i < batch.size(); ++i) {
    if (failed[i]) continue;
    std::vector<std::unique_ptr<PendingWrite>> single;
    single.push_back(std::move(batch[i]));
    std::vector<Status> one(1);
    std::vector<bool> one_failed(1, false);
    Status committed;
    Attempt a = try_batch(single, one, one_failed, committed);
    if (a == Attempt::kMapFull) {
      results[i] =
          fail(ErrorCode::kStoreFull,
               "store " + options.path + " is full: it reached its maximum size of " +
                   std::to_string(options.max_map_size) + " bytes (LmdbOptions::max_map_size)");
    } else if (a == Attempt::kRetry && !one_failed[0]) {
      results[i] = fail(ErrorCode::kIo, "store " + options.path + ": map resized repeatedly");
    } else {
      results[i] = !one[0] ? one[0] : committed;
    }
    batch[i] = std::move(single[0]);
  }
  return {};
}

}  // namespace duractor
