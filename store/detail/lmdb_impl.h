#pragma once
// LmdbStore::Impl, the state of an open LMDB store. Its members are defined by concept in
// store/lmdb_store.cc, lmdb_writer.cc, lmdb_writes.cc and lmdb_foreign.cc (see the section
// headings below); lmdb_open.cc, lmdb_reads.cc and lmdb_locks.cc use it. Internal.

#include <lmdb.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "duractor/store/detail/journal_index.h"
#include "duractor/store/detail/lease_table.h"
#include "duractor/store/detail/lmdb_env.h"
#include "duractor/store/detail/lmdb_pending_write.h"
#include "duractor/store/detail/lmdb_tx.h"
#include "duractor/store/detail/writer_first_mutex.h"
#include "duractor/store/lmdb_store.h"

namespace duractor {

struct LmdbStore::Impl {
  // The internal types Impl works with (store/detail/lmdb_*.h).
  using Tx = detail::Tx;
  using TxnGuard = detail::TxnGuard;
  using JournalUndo = detail::JournalUndo;
  using PendingWrite = detail::PendingWrite;
  template <class T>
  using TypedWrite = detail::TypedWrite<T>;

  LmdbOptions options;
  const Clock* clock = nullptr;
  MDB_env* env = nullptr;
  detail::Tables tables;
  std::uint64_t map_size = 0;

  // Held shared by every transaction of this process, exclusively to change the map size
  // (LMDB requires that no transaction be active in the process then) and to forget
  // journal index entries. Writer-first, so that readers in a loop cannot hold the writer
  // thread out (see writer_first_mutex.h).
  mutable detail::WriterFirstSharedMutex env_mutex;

  std::mutex queue_mutex;
  std::condition_variable queue_cv;
  std::deque<std::unique_ptr<PendingWrite>> queue;
  bool stopping = false;
  std::thread writer;

  // Journal records not yet compacted (exact after each compaction, approximate between).
  std::atomic<std::uint64_t> journal_records{0};
  detail::JournalIndex journal_index;

  // Turn locks and work leases: this process's, in memory (thread-safe on its own).
  LeaseTable lease_table;

  // Writes by other processes. Every commit of a duractor writer changes something (see
  // commit_marker), so each advances LMDB's transaction id by one: a write transaction whose
  // id is not `last_txn + 1`, or a committed id that moved while the writer was idle, means
  // someone else committed. `last_txn` is the id of the last commit accounted for (ours, or
  // others' already noticed); the writer thread owns it (callers own it under
  // `foreign_mutex` when the store is read-only and has no writer).
  std::uint64_t last_txn = 0;
  std::atomic<std::uint64_t> foreign_generation{0};
  std::mutex foreign_mutex;
  // Journal index entries whose records another process removed, to forget after the
  // current batch (writer thread only).
  JournalUndo vanished;

  // ---- lifetime and environment (store/lmdb_store.cc) ----

  // Finishes queued writes (stops and joins the writer), then closes the environment.
  ~Impl();

  TimePoint now() const { return clock->now(); }

  Error error(int rc, std::string_view what) const {
    return detail::lmdb_error(rc, what, options.path);
  }

  // Adds the free space of the store's file system to an I/O error, so that "disk full" is
  // visible at a glance.
  Error with_free_space(Error e) const;

  // Adopts a map size changed by another process (MDB_MAP_RESIZED).
  void adopt_map_size();

  // Doubles the map (up to max_map_size). False when already at the maximum.
  bool grow_map();

  // Drops index entries of journal records that left the journal. Waits until no read
  // transaction is open, so that no reader whose snapshot still holds those records in the
  // journal can miss them.
  void forget_journal(const JournalUndo& gone);
  // The same for records a write erased from the journal (prune, rewind), which also leave
  // the count of journal records.
  void forget_erased_journal(const JournalUndo& erased);

  // After a delete: the instances' journal index entries and turn locks go too (a later
  // instance under the same id starts clean; the old lock holder's commits fail kNotFound).
  void forget_instances(const std::vector<InstanceId>& ids);

  // Runs fn(Tx&) in a read-only transaction.
  template <class Fn>
  auto read(Fn&& fn) -> decltype(fn(std::declval<Tx&>())) {
    for (int attempt = 0;; ++attempt) {
      std::shared_lock lock(env_mutex);
      MDB_txn* txn = nullptr;
      int rc = mdb_txn_begin(env, nullptr, MDB_RDONLY, &txn);
      if (rc == MDB_MAP_RESIZED && attempt < 3) {
        lock.unlock();
        adopt_map_size();
        continue;
      }
      if (rc != 0) return fail(error(rc, "begin read transaction"));
      TxnGuard guard(txn);
      Tx tx(txn, tables, options.path, nullptr, now(), journal_index);
      return fn(tx);
    }
  }

  // ---- the writer thread and group commit (store/lmdb_writer.cc) ----

  template <class T>
  void submit(std::unique_ptr<TypedWrite<T>> write) {
    if (options.read_only) {
      write->finish(
          fail(ErrorCode::kFailedPrecondition, "store " + options.path + " is open read-only"));
      return;
    }
    {
      std::lock_guard lock(queue_mutex);
      if (!stopping) {
        queue.push_back(std::move(write));
        queue_cv.notify_one();
        return;
      }
    }
    write->finish(fail(ErrorCode::kShutdown, "store " + options.path + " is closing"));
  }

  template <class T>
  void submit(typename TypedWrite<T>::Body body, Callback<T> done,
              typename TypedWrite<T>::AfterCommit after = {}) {
    submit(std::make_unique<TypedWrite<T>>(std::move(body), std::move(done), std::move(after)));
  }

  void writer_loop();

  // Moves queued writes into `batch` (up to max_batch). Call with queue_mutex held.
  void take_queued(std::vector<std::unique_ptr<PendingWrite>>& batch);

  // Group commit: the callers the last batch answered are usually preparing their next
  // writes right now. While the batch is smaller than `target` (the last batch's size),
  // wait for more (up to group_commit_wait since the batch began) and add them; true if
  // any were added. Runs inside the open transaction, after the writes already there were
  // applied, so that gathering overlaps useful work.
  bool gather(std::vector<std::unique_ptr<PendingWrite>>& batch, std::size_t target,
              std::chrono::steady_clock::time_point deadline);

  void run_batch(std::vector<std::unique_ptr<PendingWrite>>& batch, std::size_t target);

  enum class Attempt { kDone, kMapFull, kRetry };

  // One attempt at the batch in one write transaction. Writes run directly in it: a write
  // that fails before writing anything (the usual way: validation, conflicts) just reports
  // its error. A write that fails after writing (I/O error, injected fault) would leave its
  // half in the transaction, so the attempt is abandoned, that write is marked `failed`
  // with its error, and the caller tries again without it.
  Attempt try_batch(std::vector<std::unique_ptr<PendingWrite>>& batch, std::vector<Status>& results,
                    std::vector<bool>& failed, Status& committed, std::size_t gather_target = 0);

  Attempt try_batch_once(std::vector<std::unique_ptr<PendingWrite>>& batch,
                         std::vector<Status>& results, std::vector<bool>& failed, Status& committed,
                         JournalUndo& added, std::size_t gather_target);

  Status execute_batch(std::vector<std::unique_ptr<PendingWrite>>& batch,
                       std::vector<Status>& results, std::size_t gather_target);

  // ---- writes by other processes (store/lmdb_foreign.cc) ----

  // The idle writer's check: has anyone committed since the last commit we accounted for?
  void watch_idle();

  // Brings what this process keeps in memory in line with what other processes wrote, as
  // `tx` sees the store: journal records this index lacks are added (so that reads find
  // them), entries whose records are gone (the instance was deleted) are returned for
  // forget_journal, and locks and leases of deleted instances and work items are dropped.
  // Runs on the writer thread, between batches or before a batch's first write, so that the
  // index holds no entry of an uncommitted write of ours.
  Result<JournalUndo> reconcile(Tx& tx);

  // The writer began a write transaction whose predecessor is `previous`: if that is not
  // our last commit, someone else committed in between.
  void notice_foreign(MDB_txn* txn, std::uint64_t previous);

  // For a read-only store, which has no writer to watch: checked when asked.
  std::uint64_t poll_foreign();

  // ---- write bodies (store/lmdb_writes.cc) ----
  // Each runs inside the writer's transaction, as the `apply` of a TypedWrite.

  Result<CreateOutcome> create_instance(Tx& tx, const NewInstance& r);

  // Writes a new instance record and its Start message.
  Status create_child(Tx& tx, const InstanceId& id, const std::string& name, std::uint32_t version,
                      const Bytes& input, const std::optional<ParentLink>& parent);

  Result<std::uint64_t> enqueue(Tx& tx, const InstanceId& id, InboxMessage message);

  struct CommitResult {
    TurnCommitted out;
    std::vector<std::uint64_t> removed_work;  // to forget their leases after the commit
    std::uint64_t journaled = 0;              // journal records added
  };

  Result<CommitResult> commit_turn(Tx& tx, const TurnCommit& t);

  Status deliver(Tx& tx, const InstanceId& from, const OutboundMessage& m, TurnCommitted& out);

  Result<InstanceId> complete_work(Tx& tx, const WorkLease& lease, message::ActivityResult result);

  // Poison detection (Store::record_delivery, Store::count_turn_delivery).
  Status record_delivery(Tx& tx, const WorkLease& lease, std::uint32_t deliveries);
  Result<std::uint32_t> count_turn_delivery(Tx& tx, const InstanceLock& lock);

  Result<std::vector<InstanceId>> fire_timers(Tx& tx, const std::vector<TimerKey>& keys);

  Result<PublishReceipt> publish(Tx& tx, const std::string& topic, const Bytes& payload);

  // Idempotent writes (store/lmdb_message_ids.cc).
  Result<std::uint64_t> enqueue_once(Tx& tx, const MessageId& id, const InstanceId& instance,
                                     const InboxMessage& message);
  Result<PublishReceipt> publish_once(Tx& tx, const MessageId& id, const std::string& topic,
                                      const Bytes& payload);

  // The instance and, with cascade, its descendants, parents before children.
  Result<std::vector<InstanceInfo>> family(Tx& tx, const InstanceId& root, bool cascade);

  Result<DeleteSummary> delete_instance(Tx& tx, const InstanceId& id, const DeleteOptions& o);

  Result<std::uint64_t> import_instance(Tx& tx, const InstanceImage& image);

  struct PruneResult {
    PruneSummary summary;
    JournalUndo erased;  // journal index entries of deleted records, to forget after the commit
  };

  Result<PruneResult> prune_executions(Tx& tx, const InstanceId& id, std::uint32_t keep_last);

  // Rewind and fork (store/lmdb_rewind.cc); the plans come from store/detail/history_cut.h.
  struct RewindResult {
    RewindSummary summary;
    JournalUndo erased;  // journal index entries of deleted records, to forget after the commit
  };

  Result<RewindResult> rewind_instance(Tx& tx, const InstanceId& id);

  // Rewinds one instance (the one asked for, or at `depth` > 0 a failed child that its
  // parent's rewind runs again), adding what it did to `result`.
  Status rewind_one(Tx& tx, const InstanceId& id, RewindResult& result, int depth);

  Result<ForkSummary> fork_instance(Tx& tx, const ForkRequest& request);
};

}  // namespace duractor
