#pragma once
// The LMDB store's view of its tables through one transaction (class Tx): reads, writes and
// scans with errors translated, and the operations on records that the store's reads and
// writes are made of (instances, history and journal, inbox, work, timers). Internal.

#include <lmdb.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "duractor/store/detail/journal_index.h"
#include "duractor/store/detail/lmdb_env.h"
#include "duractor/store/detail/records.h"
#include "duractor/store/lmdb_store.h"

namespace duractor::detail {

// Journal index entries added by a write transaction, to take back if it does not commit.
using JournalUndo = std::vector<std::pair<InstanceId, std::uint64_t>>;

// One transaction's view of the tables, with errors translated. Values returned by get()
// point into the map and stay valid only until the next write in this transaction.
// A Tx is used by the one thread that owns its transaction.
class Tx {
 public:
  Tx(MDB_txn* txn, const Tables& tables, const std::string& path, const FaultInjector* faults,
     TimePoint now, detail::JournalIndex& index, JournalUndo* undo = nullptr)
      : txn_(txn), t(tables), path_(path), faults_(faults), now_(now), index_(index), undo_(undo) {}

  const Tables& tables() const { return t; }
  TimePoint now() const { return now_; }
  bool hit_map_full() const { return map_full_; }
  // Whether this Tx has attempted any write (a failed write can leave the transaction
  // unusable, so it counts).
  bool wrote() const { return wrote_; }

  Error error(int rc, std::string_view what);

  Result<std::optional<std::string_view>> get(MDB_dbi dbi, std::string_view key);

  Status put(MDB_dbi dbi, std::string_view key, std::string_view value);

  // Deletes `key`; true if it existed.
  Result<bool> del(MDB_dbi dbi, std::string_view key);

  // Visits entries with key >= start in order while fn returns true.
  // fn: (std::string_view key, std::string_view value) -> Result<bool>.
  template <class Fn>
  Status scan_from(MDB_dbi dbi, std::string_view start, Fn&& fn) {
    MDB_cursor* raw = nullptr;
    int rc = mdb_cursor_open(txn_, dbi, &raw);
    if (rc != 0) return fail(error(rc, "open cursor"));
    CursorGuard cursor(raw);
    MDB_val k = to_val(start), v;
    rc = mdb_cursor_get(raw, &k, &v, start.empty() ? MDB_FIRST : MDB_SET_RANGE);
    while (rc == 0) {
      Result<bool> more = fn(from_val(k), from_val(v));
      if (!more) return fail(more.error());
      if (!*more) return {};
      rc = mdb_cursor_get(raw, &k, &v, MDB_NEXT);
    }
    if (rc != MDB_NOTFOUND) return fail(error(rc, "scan"));
    return {};
  }

  // Visits the entries whose key starts with `prefix`.
  template <class Fn>
  Status scan_prefix(MDB_dbi dbi, std::string_view prefix, Fn&& fn) {
    return scan_from(dbi, prefix, [&](std::string_view k, std::string_view v) -> Result<bool> {
      if (k.substr(0, prefix.size()) != prefix) return false;
      return fn(k, v);
    });
  }

  // Deletes `keys` (collected by a scan first); returns how many.
  Result<std::uint64_t> erase_keys(MDB_dbi dbi, const std::vector<std::string>& keys);

  // Deletes every entry whose key starts with `prefix`; returns how many.
  Result<std::uint64_t> erase_prefix(MDB_dbi dbi, std::string_view prefix);

  // Deletes every entry with `from` <= key < `to`; returns how many.
  Result<std::uint64_t> erase_range(MDB_dbi dbi, std::string_view from, std::string_view to);

  // Next value of the counter `name` in the meta table (1, 2, 3, ...).
  Result<std::uint64_t> next_counter(std::string_view name);

  // The last entry whose key starts with `prefix` in `dbi`, if any.
  Result<std::optional<std::pair<std::string_view, std::string_view>>> last_with_prefix(
      MDB_dbi dbi, std::string_view prefix);

  // The journal record `entry` points to, if it exists in this transaction's snapshot and
  // is the one the entry describes (an entry may outlive a turn that never committed).
  Result<std::optional<JournalRecord>> journal_record(const InstanceId& id,
                                                      const detail::JournalIndex::Entry& entry);

  // Whether the journal record `entry` points to exists in this transaction's snapshot and
  // is the one the entry describes; reads only the record's header.
  Result<bool> journal_record_present(const InstanceId& id,
                                      const detail::JournalIndex::Entry& entry);

  // Journal records of `id` (of `execution`, or of all executions if 0) that this process's
  // index does not know: written by another process after the index was built.
  Result<std::vector<JournalRecord>> unindexed_records(const InstanceId& id, ExecutionId execution);

  // The id of the last event of an execution (0 if it has none): from its newest journal
  // record if any (journal records are always newer than the history table's), else from
  // the history table's keys.
  Result<EventId> last_event(const InstanceId& id, ExecutionId execution);

  // The events of an execution: those compacted into the history table, then those still
  // in the journal (always the newer ones), in event order.
  Result<std::vector<HistoryEvent>> history(const InstanceId& id, ExecutionId execution);

  // Appends one turn's events to the journal. `encoded` holds the events encoded, with ids
  // first_event, first_event + 1, ...
  Status append_journal(const InstanceId& id, ExecutionId execution, EventId first_event,
                        std::vector<std::string> encoded);

  // Deletes the journal records of an instance (all executions, or with `before` set only
  // those of executions before it); returns their event count. `erased`, if given, gets
  // the (instance, seq) of each indexed record deleted, for forgetting after the commit.
  Result<std::uint64_t> erase_journal(const InstanceId& id, ExecutionId before = 0,
                                      JournalUndo* erased = nullptr);
  // Deletes the journal records of one execution of an instance; as erase_journal.
  Result<std::uint64_t> erase_journal_of(const InstanceId& id, ExecutionId execution,
                                         JournalUndo* erased);

  // Moves the oldest journal records, up to `max`, into the history table; `moved` gets the
  // (instance, seq) of each. Taking the oldest keeps the journal a contiguous range (its
  // pages stay few) and keeps every instance's journal records newer than its history.
  Status compact_journal(std::size_t max, JournalUndo& moved);

  // Ends every topic subscription of `id`.
  Status drop_subscriptions(const InstanceId& id);

  // Number of entries in a table.
  std::uint64_t entries(MDB_dbi dbi);

  // Calls the fault injector (tests) at a named step, acting for `instance`.
  Status fault(std::string_view step, std::string_view instance);

  Error corrupt(std::string_view where, const Error& cause);

  // Instance records are keyed by their row, a number given in creation order, so that the
  // records of the instances active now (mostly recent ones) share pages; instance_ids maps
  // each id to its row.
  Result<std::optional<std::uint64_t>> instance_row(const InstanceId& id);

  Result<std::optional<InstanceInfo>> instance(const InstanceId& id);

  Result<InstanceInfo> existing_instance(const InstanceId& id);

  // Writes an instance record, giving the instance a row if it is new.
  Status put_instance(const InstanceInfo& info);

  // Deletes an instance record and its row.
  Status remove_instance(const InstanceId& id);

  // The timestamp of event #1 of an execution, if it has one.
  Result<std::optional<TimePoint>> first_event_time(const InstanceId& id, ExecutionId execution);

  // The oldest execution the store keeps of the instance: 1, or above 1 when older ones
  // were pruned (the executions before the current one each have a record, so the first
  // record is the oldest kept); 0 before the first execution.
  Result<ExecutionId> oldest_execution(const InstanceInfo& info);

  // What is known of one execution: executions that continued as new have a record; the
  // current one is described by the instance record and its history.
  Result<std::optional<ExecutionInfo>> execution(const InstanceInfo& info, ExecutionId execution);

  // Appends `entry` to the inbox of `id`; returns its seq.
  Result<std::uint64_t> append_inbox(const InstanceId& id, InboxMessage message);

  // Creates a work item (with a new id) and its index entry.
  Result<WorkItem> add_work(const InstanceId& id, ExecutionId execution, EventId scheduled_id,
                            std::string activity, Bytes input, std::uint32_t attempt,
                            TimePoint created_at, std::uint32_t deliveries);

  // Creates a durable timer (with a new seq) and its index entry.
  Result<TimerEntry> add_timer(const InstanceId& id, ExecutionId execution, EventId scheduled_id,
                               TimePoint fire_at);

  // Deletes one work item and its index entry; returns the item if it existed.
  Result<std::optional<WorkItem>> remove_work(std::uint64_t work_id);

  // Deletes one timer and its index entry; returns the timer if it existed.
  Result<std::optional<TimerEntry>> remove_timer(const TimerKey& key);

  // Deletes the timers and work items of one execution (or, with execution 0, of every
  // execution) of an instance; returns the ids of the deleted work items.
  Result<std::vector<std::uint64_t>> drop_pending(const InstanceId& id, ExecutionId execution);

 private:
  MDB_txn* txn_;
  const Tables& t;
  const std::string& path_;
  const FaultInjector* faults_;
  TimePoint now_;
  bool map_full_ = false;
  bool wrote_ = false;
  detail::JournalIndex& index_;
  JournalUndo* undo_;
};

}  // namespace duractor::detail
