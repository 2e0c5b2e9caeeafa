#include "store/lmdb_store.h"

#include <lmdb.h>
#include <pthread.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <shared_mutex>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include "runtime/codec.h"
#include "store/detail/journal_index.h"
#include "store/detail/keys.h"
#include "store/records.h"

// Returns the error of a failed Status/Result expression from the enclosing function.
#define DURACTOR_TRY(expr)                                          \
  do {                                                              \
    auto duractor_status_ = (expr);                                 \
    if (!duractor_status_) return fail(duractor_status_.error());   \
  } while (false)

namespace duractor {
namespace {

using detail::execution_key;
using detail::history_key;
using detail::inbox_key;
using detail::instance_prefix;

constexpr std::uint32_t kStoreFormat = 1;

// The one place where MDB_* and errno codes become Errors. `what` says what was being done.
Error lmdb_error(int rc, std::string_view what, std::string_view path) {
  std::string message = "store " + std::string(path) + ": " + std::string(what) + ": ";
  switch (rc) {
    case MDB_NOTFOUND:
      return Error::make(ErrorCode::kNotFound, message + "not found");
    case MDB_MAP_FULL:
      return Error::make(ErrorCode::kStoreFull, message + "the store's map is full");
    case MDB_INVALID:
      return Error::make(ErrorCode::kCorrupt,
                         message + "data.mdb is not an LMDB file (or its header is damaged)");
    case MDB_CORRUPTED:
    case MDB_PAGE_NOTFOUND:
      return Error::make(ErrorCode::kCorrupt, message + mdb_strerror(rc));
    case MDB_VERSION_MISMATCH:
      return Error::make(ErrorCode::kUnsupported, message + mdb_strerror(rc));
    case MDB_READERS_FULL:
      return Error::make(ErrorCode::kBusy,
                         message + "too many concurrent readers (LmdbOptions::max_readers)");
    case ENOENT:
      return Error::make(ErrorCode::kNotFound, message + "no such file or directory");
    case EACCES:
    case EPERM: {
      auto e = Error::make(ErrorCode::kIo, message + "permission denied");
      e.retryable = false;
      return e;
    }
    case EROFS: {
      auto e = Error::make(ErrorCode::kIo, message + "read-only file system");
      e.retryable = false;
      return e;
    }
    case ENOSPC:
      return Error::make(ErrorCode::kIo, message + "no space left on device");
    case EFBIG:
      return Error::make(ErrorCode::kIo, message + "file too large (file size limit reached)");
    case EIO:
      // LMDB reports a short write as EIO: the usual causes are a full disk or a file size
      // limit rather than failing hardware.
      return Error::make(ErrorCode::kIo,
                         message + "input/output error (a write failed: the disk may be full, "
                                   "a file size limit reached, or the device failing)");
    default:
      return Error::make(ErrorCode::kIo, message + mdb_strerror(rc));
  }
}

MDB_val to_val(std::string_view s) {
  return MDB_val{s.size(), const_cast<char*>(s.data())};
}
std::string_view from_val(const MDB_val& v) {
  return {static_cast<const char*>(v.mv_data), v.mv_size};
}

// Aborts the transaction unless it was committed or released.
class TxnGuard {
 public:
  TxnGuard() = default;
  explicit TxnGuard(MDB_txn* txn) : txn_(txn) {}
  TxnGuard(const TxnGuard&) = delete;
  TxnGuard& operator=(const TxnGuard&) = delete;
  ~TxnGuard() {
    if (txn_ != nullptr) mdb_txn_abort(txn_);
  }
  MDB_txn* get() const { return txn_; }
  // mdb_txn_commit frees the handle whatever its outcome.
  int commit() {
    int rc = mdb_txn_commit(txn_);
    txn_ = nullptr;
    return rc;
  }

 private:
  MDB_txn* txn_ = nullptr;
};

class CursorGuard {
 public:
  explicit CursorGuard(MDB_cursor* c) : cursor_(c) {}
  CursorGuard(const CursorGuard&) = delete;
  CursorGuard& operator=(const CursorGuard&) = delete;
  ~CursorGuard() { mdb_cursor_close(cursor_); }
  MDB_cursor* get() const { return cursor_; }

 private:
  MDB_cursor* cursor_;
};

struct Tables {
  MDB_dbi meta = 0;
  MDB_dbi instance_ids = 0;
  MDB_dbi instances = 0;
  MDB_dbi executions = 0;
  MDB_dbi history = 0;
  MDB_dbi journal = 0;
  MDB_dbi inbox = 0;
  MDB_dbi work = 0;
  MDB_dbi work_index = 0;
  MDB_dbi timers = 0;
  MDB_dbi timer_index = 0;
  MDB_dbi children = 0;
  MDB_dbi subscriptions = 0;    // topic \0 instance
  MDB_dbi instance_topics = 0;  // instance \0 topic
  // instance -> be32 turn-delivery count (count_turn_delivery); absent: 0. A store opened
  // read-only that predates it has no such table: `turn_deliveries_open` is then false.
  MDB_dbi turn_deliveries = 0;
  bool turn_deliveries_open = false;
};

// One transaction's view of the tables, with errors translated. Values returned by get()
// point into the map and stay valid only until the next write in this transaction.
// Journal index entries added by a write transaction, to take back if it does not commit.
using JournalUndo = std::vector<std::pair<InstanceId, std::uint64_t>>;

class Tx {
 public:
  Tx(MDB_txn* txn, const Tables& tables, const std::string& path, const FaultInjector* faults,
     TimePoint now, detail::JournalIndex& index, JournalUndo* undo = nullptr)
      : txn_(txn), t(tables), path_(path), faults_(faults), now_(now), index_(index),
        undo_(undo) {}

  const Tables& tables() const { return t; }
  TimePoint now() const { return now_; }
  bool hit_map_full() const { return map_full_; }
  // Whether this Tx has attempted any write (a failed write can leave the transaction
  // unusable, so it counts).
  bool wrote() const { return wrote_; }

  Error error(int rc, std::string_view what) {
    if (rc == MDB_MAP_FULL) map_full_ = true;
    return lmdb_error(rc, what, path_);
  }

  Result<std::optional<std::string_view>> get(MDB_dbi dbi, std::string_view key) {
    MDB_val k = to_val(key), v;
    int rc = mdb_get(txn_, dbi, &k, &v);
    if (rc == MDB_NOTFOUND) return std::optional<std::string_view>();
    if (rc != 0) return fail(error(rc, "read"));
    return std::optional<std::string_view>(from_val(v));
  }

  Status put(MDB_dbi dbi, std::string_view key, std::string_view value) {
    wrote_ = true;
    MDB_val k = to_val(key), v = to_val(value);
    int rc = mdb_put(txn_, dbi, &k, &v, 0);
    if (rc != 0) return fail(error(rc, "write"));
    return {};
  }

  // Deletes `key`; true if it existed.
  Result<bool> del(MDB_dbi dbi, std::string_view key) {
    wrote_ = true;
    MDB_val k = to_val(key);
    int rc = mdb_del(txn_, dbi, &k, nullptr);
    if (rc == MDB_NOTFOUND) return false;
    if (rc != 0) return fail(error(rc, "delete"));
    return true;
  }

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

  // Deletes every entry whose key starts with `prefix`; returns how many.
  Result<std::uint64_t> erase_prefix(MDB_dbi dbi, std::string_view prefix) {
    std::vector<std::string> keys;
    auto st = scan_prefix(dbi, prefix, [&](std::string_view k, std::string_view) -> Result<bool> {
      keys.emplace_back(k);
      return true;
    });
    if (!st) return fail(st.error());
    for (const auto& k : keys) {
      auto d = del(dbi, k);
      if (!d) return fail(d.error());
    }
    return keys.size();
  }

  // Next value of the counter `name` in the meta table (1, 2, 3, ...).
  Result<std::uint64_t> next_counter(std::string_view name) {
    auto current = get(t.meta, name);
    if (!current) return fail(current.error());
    std::uint64_t value = 1;
    if (*current) {
      if ((*current)->size() != 8) {
        return fail(ErrorCode::kCorrupt,
                    "store " + path_ + ": counter '" + std::string(name) + "' is malformed");
      }
      value = detail::get_be64(**current) + 1;
    }
    std::string bytes;
    detail::put_be64(bytes, value);
    auto st = put(t.meta, name, bytes);
    if (!st) return fail(st.error());
    return value;
  }

  // The last entry whose key starts with `prefix` in `dbi`, if any.
  Result<std::optional<std::pair<std::string_view, std::string_view>>> last_with_prefix(
      MDB_dbi dbi, std::string_view prefix) {
    using Found = std::optional<std::pair<std::string_view, std::string_view>>;
    MDB_cursor* raw = nullptr;
    int rc = mdb_cursor_open(txn_, dbi, &raw);
    if (rc != 0) return fail(error(rc, "open cursor"));
    CursorGuard cursor(raw);
    // Seek to the prefix's successor (the smallest key after every key with this prefix),
    // then step back one.
    std::string after(prefix);
    while (!after.empty() && static_cast<unsigned char>(after.back()) == 0xff) after.pop_back();
    if (after.empty()) return Found();
    after.back() = static_cast<char>(static_cast<unsigned char>(after.back()) + 1);
    MDB_val k = to_val(after), v;
    rc = mdb_cursor_get(raw, &k, &v, MDB_SET_RANGE);
    if (rc == 0) {
      rc = mdb_cursor_get(raw, &k, &v, MDB_PREV);
    } else if (rc == MDB_NOTFOUND) {
      rc = mdb_cursor_get(raw, &k, &v, MDB_LAST);
    }
    if (rc == MDB_NOTFOUND) return Found();
    if (rc != 0) return fail(error(rc, "seek"));
    auto key = from_val(k);
    if (key.substr(0, prefix.size()) != prefix) return Found();
    return Found(std::make_pair(key, from_val(v)));
  }

  // The journal record `entry` points to, if it exists in this transaction's snapshot and
  // is the one the entry describes (an entry may outlive a turn that never committed).
  Result<std::optional<JournalRecord>> journal_record(const InstanceId& id,
                                                     const detail::JournalIndex::Entry& entry) {
    auto raw = get(t.journal, detail::journal_key(entry.seq));
    if (!raw) return fail(raw.error());
    if (!*raw) return std::optional<JournalRecord>();
    auto record = decode_journal_record(**raw);
    if (!record) {
      return fail(corrupt("journal record " + std::to_string(entry.seq), record.error()));
    }
    if (record->instance != id || record->execution != entry.execution ||
        record->first_event != entry.first_event) {
      return std::optional<JournalRecord>();
    }
    return std::optional<JournalRecord>(std::move(*record));
  }

  // Whether the journal record `entry` points to exists in this transaction's snapshot and
  // is the one the entry describes; reads only the record's header.
  Result<bool> journal_record_present(const InstanceId& id,
                                      const detail::JournalIndex::Entry& entry) {
    auto raw = get(t.journal, detail::journal_key(entry.seq));
    if (!raw) return fail(raw.error());
    if (!*raw) return false;
    auto header = decode_journal_header(**raw);
    if (!header) {
      return fail(corrupt("journal record " + std::to_string(entry.seq), header.error()));
    }
    return header->instance == id && header->execution == entry.execution &&
           header->first_event == entry.first_event;
  }

  // Journal records of `id` (of `execution`, or of all executions if 0) that this process's
  // index does not know: written by another process after the index was built.
  Result<std::vector<JournalRecord>> unindexed_records(const InstanceId& id,
                                                       ExecutionId execution) {
    std::vector<JournalRecord> out;
    auto st = scan_from(t.journal, detail::journal_key(index_.high_water() + 1),
                        [&](std::string_view k, std::string_view v) -> Result<bool> {
                          auto record = decode_journal_record(v);
                          if (!record) {
                            return fail(corrupt("journal record " +
                                                    std::to_string(detail::get_be64(k)),
                                                record.error()));
                          }
                          if (record->instance == id &&
                              (execution == 0 || record->execution == execution)) {
                            out.push_back(std::move(*record));
                          }
                          return true;
                        });
    if (!st) return fail(st.error());
    return out;
  }

  // The id of the last event of an execution (0 if it has none): from its newest journal
  // record if any (journal records are always newer than the history table's), else from
  // the history table's keys.
  Result<EventId> last_event(const InstanceId& id, ExecutionId execution) {
    auto foreign = unindexed_records(id, execution);
    if (!foreign) return fail(foreign.error());
    if (!foreign->empty()) {
      const auto& r = foreign->back();
      return r.first_event + r.events.size() - 1;
    }
    auto entries = index_.entries(id, execution);
    for (auto it = entries.rbegin(); it != entries.rend(); ++it) {
      auto present = journal_record_present(id, *it);
      if (!present) return fail(present.error());
      if (*present) return it->last_event;
    }
    auto prefix = execution_key(id, execution);
    auto stored = last_with_prefix(t.history, prefix);
    if (!stored) return fail(stored.error());
    if (!*stored || (*stored)->first.size() != prefix.size() + 8) return EventId{0};
    return detail::get_be64((*stored)->first.substr(prefix.size()));
  }

  // The events of an execution: those compacted into the history table, then those still
  // in the journal (always the newer ones), in event order.
  Result<std::vector<HistoryEvent>> history(const InstanceId& id, ExecutionId execution) {
    std::vector<HistoryEvent> events;
    auto prefix = execution_key(id, execution);
    auto where = [&](EventId event) {
      return "history of '" + id + "' execution " + std::to_string(execution) + " event " +
             std::to_string(event);
    };
    auto st = scan_prefix(t.history, prefix,
                          [&](std::string_view k, std::string_view v) -> Result<bool> {
                            auto e = decode_event(v);
                            if (!e) {
                              return fail(corrupt(where(detail::get_be64(k.substr(prefix.size()))),
                                                  e.error()));
                            }
                            events.push_back(std::move(*e));
                            return true;
                          });
    if (!st) return fail(st.error());
    auto append = [&](const JournalRecord& r) -> Status {
      for (std::size_t i = 0; i < r.events.size(); ++i) {
        auto e = decode_event(r.events[i]);
        if (!e) return fail(corrupt(where(r.first_event + i), e.error()));
        events.push_back(std::move(*e));
      }
      return {};
    };
    for (const auto& entry : index_.entries(id, execution)) {
      auto record = journal_record(id, entry);
      if (!record) return fail(record.error());
      if (*record) DURACTOR_TRY(append(**record));
    }
    auto foreign = unindexed_records(id, execution);
    if (!foreign) return fail(foreign.error());
    for (const auto& r : *foreign) DURACTOR_TRY(append(r));
    return events;
  }

  // Appends one turn's events to the journal. `encoded` holds the events encoded, with ids
  // first_event, first_event + 1, ...
  Status append_journal(const InstanceId& id, ExecutionId execution, EventId first_event,
                        std::vector<std::string> encoded) {
    auto seq = next_counter("seq.journal");
    if (!seq) return fail(seq.error());
    EventId last = first_event + encoded.size() - 1;
    JournalRecord record{id, execution, first_event, std::move(encoded)};
    DURACTOR_TRY(put(t.journal, detail::journal_key(*seq), encode_journal_record(record)));
    index_.add(id, {execution, first_event, last, *seq});
    if (undo_ != nullptr) undo_->emplace_back(id, *seq);
    return {};
  }

  // Deletes the journal records of an instance (all executions); returns their event count.
  Result<std::uint64_t> erase_journal(const InstanceId& id) {
    std::uint64_t events = 0;
    for (const auto& entry : index_.entries(id)) {
      auto present = journal_record_present(id, entry);
      if (!present) return fail(present.error());
      if (!*present) continue;
      events += entry.last_event - entry.first_event + 1;
      DURACTOR_TRY(del(t.journal, detail::journal_key(entry.seq)));
    }
    std::vector<std::uint64_t> foreign;
    auto st = scan_from(t.journal, detail::journal_key(index_.high_water() + 1),
                        [&](std::string_view k, std::string_view v) -> Result<bool> {
                          auto record = decode_journal_record(v);
                          if (record && record->instance == id) {
                            foreign.push_back(detail::get_be64(k));
                            events += record->events.size();
                          }
                          return true;
                        });
    if (!st) return fail(st.error());
    for (auto seq : foreign) DURACTOR_TRY(del(t.journal, detail::journal_key(seq)));
    return events;
  }

  // Moves the oldest journal records, up to `max`, into the history table; `moved` gets the
  // (instance, seq) of each. Taking the oldest keeps the journal a contiguous range (its
  // pages stay few) and keeps every instance's journal records newer than its history.
  Status compact_journal(std::size_t max, JournalUndo& moved) {
    std::vector<std::pair<std::uint64_t, JournalRecord>> records;
    auto st = scan_from(t.journal, "", [&](std::string_view k, std::string_view v) -> Result<bool> {
      if (records.size() >= max) return false;
      auto record = decode_journal_record(v);
      if (!record) {
        return fail(corrupt("journal record " + std::to_string(detail::get_be64(k)),
                            record.error()));
      }
      records.emplace_back(detail::get_be64(k), std::move(*record));
      return true;
    });
    if (!st) return fail(st.error());
    for (auto& [seq, r] : records) {
      for (std::size_t i = 0; i < r.events.size(); ++i) {
        DURACTOR_TRY(put(t.history, history_key(r.instance, r.execution, r.first_event + i),
                         r.events[i]));
      }
      DURACTOR_TRY(del(t.journal, detail::journal_key(seq)));
      DURACTOR_TRY(fault("compact_journal.record", r.instance));
      moved.emplace_back(r.instance, seq);
    }
    return {};
  }

  // Ends every topic subscription of `id`.
  Status drop_subscriptions(const InstanceId& id) {
    std::vector<std::string> topics;
    auto prefix = instance_prefix(id);
    DURACTOR_TRY(scan_prefix(t.instance_topics, prefix,
                             [&](std::string_view k, std::string_view) -> Result<bool> {
                               topics.emplace_back(k.substr(prefix.size()));
                               return true;
                             }));
    for (const auto& topic : topics) {
      DURACTOR_TRY(del(t.subscriptions, detail::pair_key(topic, id)));
      DURACTOR_TRY(del(t.instance_topics, detail::pair_key(id, topic)));
    }
    return {};
  }

  // Number of entries in a table.
  std::uint64_t entries(MDB_dbi dbi) {
    MDB_stat st;
    return mdb_stat(txn_, dbi, &st) == 0 ? st.ms_entries : 0;
  }

  // Calls the fault injector (tests) at a named step, acting for `instance`.
  Status fault(std::string_view step, std::string_view instance) {
    if (faults_ == nullptr || !*faults_) return {};
    return (*faults_)(FaultStep{step, instance});
  }

  Error corrupt(std::string_view where, const Error& cause) {
    return Error::make(cause.code, "store " + path_ + ": " + std::string(where) + ": " +
                                       cause.message);
  }

  // Instance records are keyed by their row, a number given in creation order, so that the
  // records of the instances active now (mostly recent ones) share pages; instance_ids maps
  // each id to its row.
  Result<std::optional<std::uint64_t>> instance_row(const InstanceId& id) {
    auto raw = get(t.instance_ids, id);
    if (!raw) return fail(raw.error());
    if (!*raw) return std::optional<std::uint64_t>();
    if ((*raw)->size() != 8) {
      return fail(ErrorCode::kCorrupt, "store " + path_ + ": row of instance '" + id +
                                           "' is malformed");
    }
    return std::optional<std::uint64_t>(detail::get_be64(**raw));
  }

  Result<std::optional<InstanceInfo>> instance(const InstanceId& id) {
    auto row = instance_row(id);
    if (!row) return fail(row.error());
    if (!*row) return std::optional<InstanceInfo>();
    auto raw = get(t.instances, detail::row_key(**row));
    if (!raw) return fail(raw.error());
    if (!*raw) {
      return fail(ErrorCode::kCorrupt, "store " + path_ + ": record of instance '" + id +
                                           "' (row " + std::to_string(**row) + ") is missing");
    }
    auto info = decode_instance(**raw);
    if (!info) return fail(corrupt("instance '" + id + "'", info.error()));
    return std::optional<InstanceInfo>(std::move(*info));
  }

  Result<InstanceInfo> existing_instance(const InstanceId& id) {
    auto info = instance(id);
    if (!info) return fail(info.error());
    if (!*info) return fail(ErrorCode::kNotFound, "no instance '" + id + "'");
    return std::move(**info);
  }

  // Writes an instance record, giving the instance a row if it is new.
  Status put_instance(const InstanceInfo& info) {
    auto row = instance_row(info.id);
    if (!row) return fail(row.error());
    std::uint64_t r = 0;
    if (*row) {
      r = **row;
    } else {
      auto next = next_counter("seq.instance");
      if (!next) return fail(next.error());
      r = *next;
      DURACTOR_TRY(put(t.instance_ids, info.id, detail::row_key(r)));
    }
    return put(t.instances, detail::row_key(r), encode_instance(info));
  }

  // Deletes an instance record and its row.
  Status remove_instance(const InstanceId& id) {
    auto row = instance_row(id);
    if (!row) return fail(row.error());
    if (!*row) return {};
    DURACTOR_TRY(del(t.instances, detail::row_key(**row)));
    DURACTOR_TRY(del(t.instance_ids, id));
    return {};
  }

  // The timestamp of event #1 of an execution, if it has one.
  Result<std::optional<TimePoint>> first_event_time(const InstanceId& id, ExecutionId execution) {
    auto raw = get(t.history, history_key(id, execution, 1));
    if (!raw) return fail(raw.error());
    std::optional<std::string> bytes;
    if (*raw) bytes = std::string(**raw);
    if (!bytes) {
      for (const auto& entry : index_.entries(id, execution)) {
        if (entry.first_event != 1) continue;
        auto record = journal_record(id, entry);
        if (!record) return fail(record.error());
        if (*record && !(*record)->events.empty()) bytes = (*record)->events.front();
      }
    }
    if (!bytes) {
      auto foreign = unindexed_records(id, execution);
      if (!foreign) return fail(foreign.error());
      for (const auto& r : *foreign) {
        if (r.first_event == 1 && !r.events.empty()) bytes = r.events.front();
      }
    }
    if (!bytes) return std::optional<TimePoint>();
    auto e = decode_event(*bytes);
    if (!e) return fail(corrupt("history of '" + id + "'", e.error()));
    return std::optional<TimePoint>(e->timestamp);
  }

  // What is known of one execution: executions that continued as new have a record; the
  // current one is described by the instance record and its history.
  Result<std::optional<ExecutionInfo>> execution(const InstanceInfo& info, ExecutionId execution) {
    ExecutionInfo x;
    if (execution != 0 && execution == info.execution) {
      x.execution = execution;
      x.version = info.version;
      x.status = info.status == InstanceStatus::kPending ? InstanceStatus::kRunning : info.status;
      x.completed_at = info.completed_at;
    } else {
      auto raw = get(t.executions, execution_key(info.id, execution));
      if (!raw) return fail(raw.error());
      if (!*raw) return std::optional<ExecutionInfo>();
      auto stored = decode_execution(**raw);
      if (!stored) {
        return fail(corrupt("execution " + std::to_string(execution) + " of '" + info.id + "'",
                            stored.error()));
      }
      x = *stored;
    }
    auto last = last_event(info.id, execution);
    if (!last) return fail(last.error());
    x.event_count = *last;
    auto started = first_event_time(info.id, execution);
    if (!started) return fail(started.error());
    if (*started) x.started_at = **started;
    return std::optional<ExecutionInfo>(x);
  }

  // Appends `entry` to the inbox of `id`; returns its seq.
  Result<std::uint64_t> append_inbox(const InstanceId& id, InboxMessage message) {
    auto seq = next_counter("seq.inbox");
    if (!seq) return fail(seq.error());
    InboxEntry entry{*seq, now_, std::move(message)};
    auto st = put(t.inbox, inbox_key(id, *seq), encode_message(entry));
    if (!st) return fail(st.error());
    return *seq;
  }

  // Creates a work item (with a new id) and its index entry.
  Result<WorkItem> add_work(const InstanceId& id, ExecutionId execution, EventId scheduled_id,
                            std::string activity, Bytes input, std::uint32_t attempt,
                            TimePoint created_at, std::uint32_t deliveries) {
    auto work_id = next_counter("seq.work");
    if (!work_id) return fail(work_id.error());
    WorkItem item{*work_id,         id,      execution,  scheduled_id, std::move(activity),
                  std::move(input), attempt, created_at, deliveries};
    DURACTOR_TRY(put(t.work, detail::work_key(item.id), encode_work_item(item)));
    std::string id_bytes;
    detail::put_be64(id_bytes, item.id);
    DURACTOR_TRY(put(t.work_index, detail::scheduled_key(id, execution, scheduled_id), id_bytes));
    return item;
  }

  // Creates a durable timer (with a new seq) and its index entry.
  Result<TimerEntry> add_timer(const InstanceId& id, ExecutionId execution, EventId scheduled_id,
                               TimePoint fire_at) {
    auto seq = next_counter("seq.timer");
    if (!seq) return fail(seq.error());
    TimerEntry timer{TimerKey{fire_at, *seq}, id, execution, scheduled_id};
    auto key = detail::timer_key(fire_at, *seq);
    DURACTOR_TRY(put(t.timers, key, encode_timer(timer)));
    DURACTOR_TRY(put(t.timer_index, detail::scheduled_key(id, execution, scheduled_id), key));
    return timer;
  }

  // Deletes one work item and its index entry; returns the item if it existed.
  Result<std::optional<WorkItem>> remove_work(std::uint64_t work_id) {
    auto key = detail::work_key(work_id);
    auto raw = get(t.work, key);
    if (!raw) return fail(raw.error());
    if (!*raw) return std::optional<WorkItem>();
    auto item = decode_work_item(**raw);
    if (!item) return fail(corrupt("work item " + std::to_string(work_id), item.error()));
    auto d = del(t.work, key);
    if (!d) return fail(d.error());
    d = del(t.work_index, detail::scheduled_key(item->instance, item->execution,
                                                item->scheduled_id));
    if (!d) return fail(d.error());
    return std::optional<WorkItem>(std::move(*item));
  }

  // Deletes one timer and its index entry; returns the timer if it existed.
  Result<std::optional<TimerEntry>> remove_timer(const TimerKey& key) {
    auto k = detail::timer_key(key.fire_at, key.seq);
    auto raw = get(t.timers, k);
    if (!raw) return fail(raw.error());
    if (!*raw) return std::optional<TimerEntry>();
    auto timer = decode_timer(**raw);
    if (!timer) return fail(corrupt("timer " + std::to_string(key.seq), timer.error()));
    auto d = del(t.timers, k);
    if (!d) return fail(d.error());
    d = del(t.timer_index,
            detail::scheduled_key(timer->instance, timer->execution, timer->scheduled_id));
    if (!d) return fail(d.error());
    return std::optional<TimerEntry>(std::move(*timer));
  }

  // Deletes the timers and work items of one execution (or, with execution 0, of every
  // execution) of an instance; returns the ids of the deleted work items.
  Result<std::vector<std::uint64_t>> drop_pending(const InstanceId& id, ExecutionId execution) {
    auto prefix = execution == 0 ? instance_prefix(id) : execution_key(id, execution);
    std::vector<std::uint64_t> work_ids;
    auto st = scan_prefix(t.work_index, prefix,
                          [&](std::string_view, std::string_view v) -> Result<bool> {
                            if (v.size() == 8) work_ids.push_back(detail::get_be64(v));
                            return true;
                          });
    if (!st) return fail(st.error());
    for (auto w : work_ids) {
      auto r = remove_work(w);
      if (!r) return fail(r.error());
    }
    std::vector<std::string> timer_keys;
    st = scan_prefix(t.timer_index, prefix,
                     [&](std::string_view, std::string_view v) -> Result<bool> {
                       timer_keys.emplace_back(v);
                       return true;
                     });
    if (!st) return fail(st.error());
    for (const auto& k : timer_keys) {
      if (k.size() != 16) continue;
      auto r = remove_timer(TimerKey{detail::time_from_bits(detail::get_be64(k)),
                                     detail::get_be64(std::string_view(k).substr(8))});
      if (!r) return fail(r.error());
    }
    return work_ids;
  }

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

// A queued write: `apply` runs inside a (nested) write transaction and may run more than
// once if the batch is retried; `committed` runs once after a successful sync (in-memory
// side effects); `finish` answers the caller.
class PendingWrite {
 public:
  virtual ~PendingWrite() = default;
  virtual Status apply(Tx& tx) = 0;
  virtual void committed() {}
  virtual void finish(Status outcome) = 0;
};

template <class T>
class TypedWrite final : public PendingWrite {
 public:
  using Body = std::function<Result<T>(Tx&)>;
  using AfterCommit = std::function<void(const T&)>;
  TypedWrite(Body body, Callback<T> done, AfterCommit after = {})
      : body_(std::move(body)), done_(std::move(done)), after_(std::move(after)) {}

  Status apply(Tx& tx) override {
    value_.reset();
    auto r = body_(tx);
    if (!r) return fail(r.error());
    value_ = std::move(*r);
    return {};
  }
  void committed() override {
    if (after_ && value_) after_(*value_);
  }
  void finish(Status outcome) override {
    if (outcome && value_) {
      done_(std::move(*value_));
    } else if (!outcome) {
      done_(std::unexpected(outcome.error()));
    } else {
      done_(std::unexpected(Error::make(ErrorCode::kInternal, "write produced no result")));
    }
  }

 private:
  Body body_;
  Callback<T> done_;
  AfterCommit after_;
  std::optional<T> value_;
};

// Moves the oldest journal records into the history table. Queued by the writer itself,
// in the same transaction as a batch of callers' writes, when the journal is over its limit;
// nobody waits for it. `on_committed` gets the records moved and the journal's new size.
class CompactionWrite final : public PendingWrite {
 public:
  using OnCommitted = std::function<void(const JournalUndo& moved, std::uint64_t remaining)>;
  CompactionWrite(std::size_t step, OnCommitted on_committed)
      : step_(step), on_committed_(std::move(on_committed)) {}
  Status apply(Tx& tx) override {
    moved_.clear();
    DURACTOR_TRY(tx.compact_journal(step_, moved_));
    remaining_ = tx.entries(tx.tables().journal);
    return {};
  }
  void committed() override { on_committed_(moved_, remaining_); }
  void finish(Status) override {}  // a failed step is simply tried again with a later batch

 private:
  std::size_t step_;
  OnCommitted on_committed_;
  JournalUndo moved_;
  std::uint64_t remaining_ = 0;
};

struct LockState {
  std::uint64_t token = 0;
  TimePoint expires_at;
};

// The checks Store::import_instance documents for a malformed image.
Status validate_image(const InstanceImage& image) {
  const auto& info = image.info;
  DURACTOR_TRY(validate_instance_id(info.id));
  DURACTOR_TRY(validate_name(info.name, "orchestration name"));
  auto bad = [&](const std::string& why) {
    return fail(ErrorCode::kInvalidArgument, "image of instance '" + info.id + "': " + why);
  };
  if (image.executions.size() != info.execution) {
    return bad("its record names execution " + std::to_string(info.execution) + " but it has " +
               std::to_string(image.executions.size()) + " executions");
  }
  for (std::size_t i = 0; i < image.executions.size(); ++i) {
    const auto& x = image.executions[i];
    auto number = std::to_string(i + 1);
    if (x.info.execution != i + 1) {
      return bad("execution " + number + " is numbered " + std::to_string(x.info.execution));
    }
    for (std::size_t j = 0; j < x.events.size(); ++j) {
      if (x.events[j].id != j + 1) {
        return bad("event " + std::to_string(j + 1) + " of execution " + number + " has id " +
                   std::to_string(x.events[j].id));
      }
    }
    if (!x.events.empty() && x.events.front().kind() != EventKind::kExecutionStarted) {
      return bad("execution " + number + " begins with " +
                 std::string(x.events.front().kind_name()) + ", not ExecutionStarted");
    }
    bool continued = !x.events.empty() && x.events.back().kind() == EventKind::kContinuedAsNew;
    if (i + 1 < image.executions.size() && !(x.info.continued_as_new && continued)) {
      return bad("execution " + number + " is followed by another but did not continue as new");
    }
  }
  for (const auto& w : image.work) {
    DURACTOR_TRY(validate_name(w.activity, "activity name"));
    if (info.execution == 0 || w.execution != info.execution) {
      return bad("work item for activity '" + w.activity + "' belongs to execution " +
                 std::to_string(w.execution) + ", not to the current execution " +
                 std::to_string(info.execution));
    }
  }
  for (const auto& timer : image.timers) {
    if (info.execution == 0 || timer.execution != info.execution) {
      return bad("timer of event " + std::to_string(timer.scheduled_id) + " belongs to execution " +
                 std::to_string(timer.execution) + ", not to the current execution " +
                 std::to_string(info.execution));
    }
  }
  for (const auto& topic : image.topics) DURACTOR_TRY(validate_name(topic, "topic name"));
  return {};
}

}  // namespace

struct LmdbStore::Impl {
  LmdbOptions options;
  const Clock* clock = nullptr;
  MDB_env* env = nullptr;
  Tables tables;
  std::uint64_t map_size = 0;

  // Held shared by every transaction of this process, exclusively to change the map size
  // (LMDB requires that no transaction be active in the process then).
  mutable std::shared_mutex env_mutex;

  std::mutex queue_mutex;
  std::condition_variable queue_cv;
  std::deque<std::unique_ptr<PendingWrite>> queue;
  bool stopping = false;
  std::thread writer;

  // Journal records not yet compacted (exact after each compaction, approximate between).
  std::atomic<std::uint64_t> journal_records{0};
  detail::JournalIndex journal_index;

  std::mutex locks_mutex;
  std::unordered_map<InstanceId, LockState> locks;
  std::unordered_map<std::uint64_t, LockState> leases;
  std::uint64_t next_token = 1;

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

  ~Impl() {
    {
      std::lock_guard lock(queue_mutex);
      stopping = true;
    }
    queue_cv.notify_all();
    if (writer.joinable()) writer.join();
    if (env != nullptr) mdb_env_close(env);
  }

  TimePoint now() const { return clock->now(); }

  Error error(int rc, std::string_view what) const { return lmdb_error(rc, what, options.path); }

  // Adds the free space of the store's file system to an I/O error, so that "disk full" is
  // visible at a glance.
  Error with_free_space(Error e) const {
    struct statvfs fs{};
    if (e.code == ErrorCode::kIo && ::statvfs(options.path.c_str(), &fs) == 0) {
      e.message += " [" + std::to_string(std::uint64_t{fs.f_bavail} * fs.f_frsize) +
                   " bytes free on the device]";
    }
    return e;
  }

  // Adopts a map size changed by another process (MDB_MAP_RESIZED).
  void adopt_map_size() {
    std::unique_lock lock(env_mutex);
    mdb_env_set_mapsize(env, 0);
    MDB_envinfo info;
    mdb_env_info(env, &info);
    map_size = info.me_mapsize;
  }

  // Doubles the map (up to max_map_size). False when already at the maximum.
  bool grow_map() {
    std::unique_lock lock(env_mutex);
    MDB_envinfo info;
    mdb_env_info(env, &info);
    std::uint64_t current = info.me_mapsize;
    if (current >= options.max_map_size) return false;
    std::uint64_t next = std::min<std::uint64_t>(current * 2, options.max_map_size);
    if (mdb_env_set_mapsize(env, next) != 0) return false;
    mdb_env_info(env, &info);
    map_size = info.me_mapsize;
    return map_size > current;
  }

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

  template <class T>
  void submit(std::unique_ptr<TypedWrite<T>> write) {
    if (options.read_only) {
      write->finish(fail(ErrorCode::kFailedPrecondition,
                         "store " + options.path + " is open read-only"));
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

  void writer_loop() {
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

  // ---- writes by other processes ----

  // The idle writer's check: has anyone committed since the last commit we accounted for?
  void watch_idle() {
    MDB_envinfo info;
    if (mdb_env_info(env, &info) != 0 || info.me_last_txnid == last_txn) return;
    auto gone = read([&](Tx& tx) { return reconcile(tx); });
    last_txn = info.me_last_txnid;
    ++foreign_generation;
    if (gone) forget_journal(*gone);
  }

  // Brings what this process keeps in memory in line with what other processes wrote, as
  // `tx` sees the store: journal records this index lacks are added (so that reads find
  // them), entries whose records are gone (the instance was deleted) are returned for
  // forget_journal, and locks and leases of deleted instances and work items are dropped.
  // Runs on the writer thread, between batches or before a batch's first write, so that the
  // index holds no entry of an uncommitted write of ours.
  Result<JournalUndo> reconcile(Tx& tx) {
    JournalUndo gone;
    const auto& t = tx.tables();
    std::uint64_t in_journal = tx.entries(t.journal);
    // Our own writes keep the index and the journal the same size; others' deletions make
    // the journal smaller, their turns (another runtime) make it larger.
    if (journal_index.size() != in_journal) {
      auto known = journal_index.all();
      std::unordered_set<std::uint64_t> indexed, present;
      for (const auto& entry : known) indexed.insert(entry.second);
      DURACTOR_TRY(tx.scan_from(t.journal, "",
                                [&](std::string_view k, std::string_view v) -> Result<bool> {
                                  auto seq = detail::get_be64(k);
                                  present.insert(seq);
                                  if (indexed.count(seq) != 0) return true;
                                  auto record = decode_journal_record(v);
                                  if (!record) {
                                    return fail(tx.corrupt("journal record " + std::to_string(seq),
                                                           record.error()));
                                  }
                                  if (!record->events.empty()) {
                                    journal_index.add(record->instance,
                                                      {record->execution, record->first_event,
                                                       record->first_event + record->events.size() - 1,
                                                       seq});
                                  }
                                  return true;
                                }));
      for (const auto& entry : known) {
        if (present.count(entry.second) == 0) gone.push_back(entry);
      }
    }
    journal_records = in_journal;

    std::vector<std::pair<InstanceId, std::uint64_t>> locked;
    std::vector<std::pair<std::uint64_t, std::uint64_t>> leased;
    {
      std::lock_guard guard(locks_mutex);
      for (const auto& [id, state] : locks) locked.emplace_back(id, state.token);
      for (const auto& [item, state] : leases) leased.emplace_back(item, state.token);
    }
    std::vector<std::pair<InstanceId, std::uint64_t>> dead_locks;
    for (const auto& [id, token] : locked) {
      auto row = tx.get(t.instance_ids, id);
      if (!row) return fail(row.error());
      if (!*row) dead_locks.emplace_back(id, token);
    }
    std::vector<std::pair<std::uint64_t, std::uint64_t>> dead_leases;
    for (const auto& [item, token] : leased) {
      auto raw = tx.get(t.work, detail::work_key(item));
      if (!raw) return fail(raw.error());
      if (!*raw) dead_leases.emplace_back(item, token);
    }
    std::lock_guard guard(locks_mutex);
    for (const auto& [id, token] : dead_locks) {
      auto it = locks.find(id);
      if (it != locks.end() && it->second.token == token) locks.erase(it);
    }
    for (const auto& [item, token] : dead_leases) {
      auto it = leases.find(item);
      if (it != leases.end() && it->second.token == token) leases.erase(it);
    }
    return gone;
  }

  // The writer began a write transaction whose predecessor is `previous`: if that is not
  // our last commit, someone else committed in between.
  void notice_foreign(MDB_txn* txn, std::uint64_t previous) {
    if (previous == last_txn) return;
    Tx tx(txn, tables, options.path, nullptr, now(), journal_index);
    auto gone = reconcile(tx);
    if (gone) vanished.insert(vanished.end(), gone->begin(), gone->end());
    last_txn = previous;
    ++foreign_generation;
  }

  // For a read-only store, which has no writer to watch: checked when asked.
  std::uint64_t poll_foreign() {
    std::lock_guard guard(foreign_mutex);
    MDB_envinfo info;
    if (mdb_env_info(env, &info) == 0 && info.me_last_txnid != last_txn) {
      ++foreign_generation;
      last_txn = info.me_last_txnid;
    }
    return foreign_generation;
  }

  // Moves queued writes into `batch` (up to max_batch). Call with queue_mutex held.
  void take_queued(std::vector<std::unique_ptr<PendingWrite>>& batch) {
    while (!queue.empty() && batch.size() < options.max_batch) {
      batch.push_back(std::move(queue.front()));
      queue.pop_front();
    }
  }

  // Group commit: the callers the last batch answered are usually preparing their next
  // writes right now. While the batch is smaller than `target` (the last batch's size),
  // wait for more (up to group_commit_wait since the batch began) and add them; true if
  // any were added. Runs inside the open transaction, after the writes already there were
  // applied, so that gathering overlaps useful work.
  bool gather(std::vector<std::unique_ptr<PendingWrite>>& batch, std::size_t target,
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

  void run_batch(std::vector<std::unique_ptr<PendingWrite>>& batch, std::size_t target) {
    std::vector<Status> results(batch.size());
    Status committed = execute_batch(batch, results, target);
    for (std::size_t i = 0; i < batch.size(); ++i) {
      Status outcome = !results[i] ? results[i] : committed;
      if (outcome) batch[i]->committed();
      batch[i]->finish(std::move(outcome));
    }
  }

  enum class Attempt { kDone, kMapFull, kRetry };

  // One attempt at the batch in one write transaction. Writes run directly in it: a write
  // that fails before writing anything (the usual way: validation, conflicts) just reports
  // its error. A write that fails after writing (I/O error, injected fault) would leave its
  // half in the transaction, so the attempt is abandoned, that write is marked `failed`
  // with its error, and the caller tries again without it.
  Attempt try_batch(std::vector<std::unique_ptr<PendingWrite>>& batch,
                    std::vector<Status>& results, std::vector<bool>& failed, Status& committed,
                    std::size_t gather_target = 0) {
    JournalUndo added;  // journal index entries of this attempt, taken back unless it commits
    Attempt a = try_batch_once(batch, results, failed, committed, added, gather_target);
    if (a != Attempt::kDone || !committed) {
      for (const auto& [instance, seq] : added) journal_index.remove(instance, seq);
    }
    return a;
  }

  Attempt try_batch_once(std::vector<std::unique_ptr<PendingWrite>>& batch,
                         std::vector<Status>& results, std::vector<bool>& failed,
                         Status& committed, JournalUndo& added, std::size_t gather_target) {
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

  // Drops index entries of journal records that left the journal. Waits until no read
  // transaction is open, so that no reader whose snapshot still holds those records in the
  // journal can miss them.
  void forget_journal(const JournalUndo& gone) {
    if (gone.empty()) return;
    std::unique_lock exclusive(env_mutex);
    for (const auto& [instance, seq] : gone) journal_index.remove(instance, seq);
  }

  // After a delete: the instances' journal index entries and turn locks go too (a later
  // instance under the same id starts clean; the old lock holder's commits fail kNotFound).
  void forget_instances(const std::vector<InstanceId>& ids) {
    {
      std::unique_lock exclusive(env_mutex);
      for (const auto& id : ids) journal_index.erase(id);
    }
    std::lock_guard guard(locks_mutex);
    for (const auto& id : ids) locks.erase(id);
  }

  Status execute_batch(std::vector<std::unique_ptr<PendingWrite>>& batch,
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
        results[i] = fail(ErrorCode::kStoreFull,
                          "store " + options.path + " is full: it reached its maximum size of " +
                              std::to_string(options.max_map_size) +
                              " bytes (LmdbOptions::max_map_size)");
      } else if (a == Attempt::kRetry && !one_failed[0]) {
        results[i] = fail(ErrorCode::kIo, "store " + options.path + ": map resized repeatedly");
      } else {
        results[i] = !one[0] ? one[0] : committed;
      }
      batch[i] = std::move(single[0]);
    }
    return {};
  }

  // ---- lock and lease bookkeeping (under locks_mutex) ----

  Status check_lock(const InstanceLock& lock) {
    std::lock_guard guard(locks_mutex);
    auto it = locks.find(lock.instance);
    if (it == locks.end() || it->second.token != lock.token || lock.token == 0) {
      return fail(ErrorCode::kConflict, "turn lock of instance '" + lock.instance +
                                            "' is not held (never taken, released, or expired "
                                            "and taken by another owner)");
    }
    return {};
  }

  Status check_lease(const WorkLease& lease) {
    std::lock_guard guard(locks_mutex);
    auto it = leases.find(lease.item);
    if (it == leases.end() || it->second.token != lease.token || lease.token == 0) {
      return fail(ErrorCode::kConflict, "lease of work item " + std::to_string(lease.item) +
                                            " is not held (expired and taken by another "
                                            "worker, or never taken)");
    }
    return {};
  }

  void forget_leases(const std::vector<std::uint64_t>& items) {
    std::lock_guard guard(locks_mutex);
    for (auto id : items) leases.erase(id);
  }

  // ---- write bodies ----

  Result<CreateOutcome> create_instance(Tx& tx, const NewInstance& r) {
    DURACTOR_TRY(validate_instance_id(r.id));
    DURACTOR_TRY(validate_name(r.name, "orchestration name"));
    auto existing = tx.instance(r.id);
    if (!existing) return fail(existing.error());
    if (*existing) {
      const auto& e = **existing;
      if (r.idempotent && e.name == r.name && e.input == r.input) {
        return CreateOutcome::kAlreadyExisted;
      }
      std::string why = "instance '" + r.id + "' already exists (orchestration '" + e.name +
                        "', " + std::string(to_string(e.status)) + ")";
      if (r.idempotent) {
        why += e.name != r.name ? "; the repeated start names orchestration '" + r.name + "'"
                                : "; the repeated start has a different input";
      }
      return fail(ErrorCode::kAlreadyExists, why);
    }
    DURACTOR_TRY(create_child(tx, r.id, r.name, r.version, r.input, std::nullopt));
    return CreateOutcome::kCreated;
  }

  // Writes a new instance record and its Start message.
  Status create_child(Tx& tx, const InstanceId& id, const std::string& name,
                      std::uint32_t version, const Bytes& input,
                      const std::optional<ParentLink>& parent) {
    InstanceInfo info;
    info.id = id;
    info.name = name;
    info.version = version;
    info.status = InstanceStatus::kPending;
    info.created_at = info.updated_at = tx.now();
    info.input = input;
    info.parent = parent;
    DURACTOR_TRY(tx.put_instance(info));
    DURACTOR_TRY(tx.fault("create_instance.record", id));
    message::Start start;
    start.execution = 1;
    start.name = name;
    start.version = version;
    start.input = input;
    start.parent = parent;
    DURACTOR_TRY(tx.append_inbox(id, std::move(start)));
    if (parent) DURACTOR_TRY(tx.put(tx.tables().children, detail::child_key(parent->instance, id), ""));
    return {};
  }

  Result<std::uint64_t> enqueue(Tx& tx, const InstanceId& id, InboxMessage message) {
    if (std::holds_alternative<message::Start>(message)) {
      return fail(ErrorCode::kInvalidArgument,
                  "a Start message cannot be enqueued; create the instance instead");
    }
    if (auto* e = std::get_if<message::Event>(&message)) {
      DURACTOR_TRY(validate_name(e->name, "event name"));
      if (e->name.starts_with(kTopicEventPrefix)) {
        return fail(ErrorCode::kInvalidArgument,
                    "event name '" + e->name + "': names starting with '" +
                        std::string(kTopicEventPrefix) + "' are reserved for topic publications");
      }
    }
    auto info = tx.existing_instance(id);
    if (!info) return fail(info.error());
    bool from_outside = std::holds_alternative<message::Event>(message) ||
                        std::holds_alternative<message::Cancel>(message);
    if (from_outside && is_terminal(info->status)) {
      return fail(ErrorCode::kFailedPrecondition,
                  "instance '" + id + "' has " + std::string(to_string(info->status)) +
                      "; it accepts no more " +
                      (std::holds_alternative<message::Event>(message) ? "events"
                                                                        : "cancellations"));
    }
    return tx.append_inbox(id, std::move(message));
  }

  struct CommitResult {
    TurnCommitted out;
    std::vector<std::uint64_t> removed_work;  // to forget their leases after the commit
    std::uint64_t journaled = 0;              // journal records added
  };

  Result<CommitResult> commit_turn(Tx& tx, const TurnCommit& t) {
    const InstanceId& id = t.lock.instance;
    auto info_r = tx.instance(id);
    if (!info_r) return fail(info_r.error());
    if (!*info_r) {
      return fail(ErrorCode::kNotFound, "instance '" + id + "' no longer exists (deleted)");
    }
    DURACTOR_TRY(check_lock(t.lock));
    InstanceInfo info = std::move(**info_r);
    CommitResult result;

    // Which execution, and do the event ids continue it?
    bool new_execution = t.execution == info.execution + 1;
    if (!new_execution && t.execution != info.execution) {
      return fail(ErrorCode::kInvalidArgument,
                  "turn for execution " + std::to_string(t.execution) + " of '" + id +
                      "', whose current execution is " + std::to_string(info.execution));
    }
    EventId last = 0;
    if (new_execution) {
      const auto* started = t.events.empty()
                                ? nullptr
                                : std::get_if<event::ExecutionStarted>(&t.events.front().body);
      if (started == nullptr || t.events.front().id != 1) {
        return fail(ErrorCode::kInvalidArgument,
                    "turn starting execution " + std::to_string(t.execution) + " of '" + id +
                        "' must begin with ExecutionStarted #1");
      }
    } else {
      if (info.execution == 0) {
        return fail(ErrorCode::kInvalidArgument,
                    "instance '" + id + "' has no execution " + std::to_string(t.execution) +
                        " yet; its first turn must start one");
      }
      auto l = tx.last_event(id, t.execution);
      if (!l) return fail(l.error());
      last = *l;
    }
    for (std::size_t i = 0; i < t.events.size(); ++i) {
      if (t.events[i].id != last + 1 + i) {
        return fail(ErrorCode::kConflict,
                    "turn of '" + id + "' appends event #" + std::to_string(t.events[i].id) +
                        " but execution " + std::to_string(t.execution) + " has " +
                        std::to_string(last + i) + " events (history moved on; reload)");
      }
    }

    for (const auto* topics : {&t.subscribe, &t.unsubscribe}) {
      for (const auto& topic : *topics) DURACTOR_TRY(validate_name(topic, "topic name"));
    }

    // Every consumed message must still be there (checked before anything is written).
    for (auto seq : t.consumed) {
      auto present = tx.get(tx.tables().inbox, inbox_key(id, seq));
      if (!present) return fail(present.error());
      if (!*present) {
        return fail(ErrorCode::kConflict, "turn of '" + id + "' consumes inbox message " +
                                              std::to_string(seq) +
                                              ", which is gone (consumed by another turn?)");
      }
    }

    // Validation is over; from here on everything writes.
    if (new_execution && info.execution != 0) {
      auto dropped = tx.drop_pending(id, info.execution);
      if (!dropped) return fail(dropped.error());
      result.removed_work.insert(result.removed_work.end(), dropped->begin(), dropped->end());
    }

    // History.
    std::vector<std::string> encoded;
    encoded.reserve(t.events.size());
    bool ended = false, continued = false;
    for (const auto& e : t.events) {
      encoded.push_back(encode_event(e));
      ended = ended || e.is_terminal();
      continued = continued || e.kind() == EventKind::kContinuedAsNew;
    }
    if (continued) {
      // The executions table keeps executions that continued as new; the instance's current
      // (latest) execution is described by the instance record and its history.
      ExecutionInfo done;
      done.execution = t.execution;
      done.version = info.version;
      done.status = InstanceStatus::kCompleted;
      auto started = tx.first_event_time(id, t.execution);
      if (!started) return fail(started.error());
      done.started_at = started->value_or(tx.now());
      done.completed_at = tx.now();
      done.event_count = last + t.events.size();
      done.continued_as_new = true;
      DURACTOR_TRY(tx.put(tx.tables().executions, execution_key(id, t.execution),
                          encode_execution(done)));
    }
    if (!encoded.empty()) {
      DURACTOR_TRY(tx.append_journal(id, t.execution, t.events.front().id, std::move(encoded)));
      result.journaled = 1;
    }
    DURACTOR_TRY(tx.fault("commit_turn.history", id));

    // The turn committed: a count of its deliveries (count_turn_delivery) is over. On an
    // empty table (the usual case) the delete is a lookup of an empty tree.
    DURACTOR_TRY(tx.del(tx.tables().turn_deliveries, id));

    // Inbox messages consumed.
    for (auto seq : t.consumed) {
      DURACTOR_TRY(tx.del(tx.tables().inbox, inbox_key(id, seq)));
    }
    DURACTOR_TRY(tx.fault("commit_turn.inbox", id));

    // Results delivered in memory.
    for (auto w : t.finished_work) {
      auto removed = tx.remove_work(w);
      if (!removed) return fail(removed.error());
      if (*removed) result.removed_work.push_back(w);
    }
    for (const auto& k : t.fired_timers) {
      auto removed = tx.remove_timer(k);
      if (!removed) return fail(removed.error());
    }

    // New work and timers.
    for (const auto& w : t.work) {
      // Deliveries 1: this commit counts the in-process dispatch that follows it.
      auto item =
          tx.add_work(id, t.execution, w.scheduled_id, w.activity, w.input, w.attempt, tx.now(), 1);
      if (!item) return fail(item.error());
      result.out.work.push_back(std::move(*item));
    }
    DURACTOR_TRY(tx.fault("commit_turn.work", id));
    for (const auto& nt : t.timers) {
      auto timer = tx.add_timer(id, t.execution, nt.scheduled_id, nt.fire_at);
      if (!timer) return fail(timer.error());
      result.out.timers.push_back(std::move(*timer));
    }
    DURACTOR_TRY(tx.fault("commit_turn.timers", id));

    // Messages to other instances (and continue-as-new to this one).
    for (const auto& m : t.outbound) {
      DURACTOR_TRY(deliver(tx, id, m, result.out));
    }
    DURACTOR_TRY(tx.fault("commit_turn.outbound", id));

    // Topic subscriptions: they outlive continue-as-new, not the instance.
    for (const auto& topic : t.subscribe) {
      DURACTOR_TRY(tx.put(tx.tables().subscriptions, detail::pair_key(topic, id), ""));
      DURACTOR_TRY(tx.put(tx.tables().instance_topics, detail::pair_key(id, topic), ""));
    }
    for (const auto& topic : t.unsubscribe) {
      DURACTOR_TRY(tx.del(tx.tables().subscriptions, detail::pair_key(topic, id)));
      DURACTOR_TRY(tx.del(tx.tables().instance_topics, detail::pair_key(id, topic)));
    }
    if (t.update.status && is_terminal(*t.update.status)) {
      DURACTOR_TRY(tx.drop_subscriptions(id));
    }

    // The execution ended: what it left pending can no longer be delivered.
    if (ended) {
      auto dropped = tx.drop_pending(id, t.execution);
      if (!dropped) return fail(dropped.error());
      result.removed_work.insert(result.removed_work.end(), dropped->begin(), dropped->end());
    }

    // Metadata, rewritten only when the turn changed it (most turns do not).
    const auto& u = t.update;
    InstanceInfo updated = info;
    updated.execution = t.execution;
    if (u.status) {
      updated.status = *u.status;
      if (is_terminal(*u.status) && updated.status != info.status) updated.completed_at = tx.now();
    }
    if (u.name) updated.name = *u.name;
    if (u.version) updated.version = *u.version;
    if (u.output) updated.output = *u.output;
    if (u.failure) updated.failure = *u.failure;
    if (u.custom_status) updated.custom_status = *u.custom_status;
    if (!(updated == info)) {
      updated.updated_at = tx.now();
      DURACTOR_TRY(tx.put_instance(updated));
    }
    DURACTOR_TRY(tx.fault("commit_turn.metadata", id));
    return result;
  }

  Status deliver(Tx& tx, const InstanceId& from, const OutboundMessage& m, TurnCommitted& out) {
    auto& woken = out.woken;
    auto note = [&](const InstanceId& who) {
      if (std::find(woken.begin(), woken.end(), who) == woken.end()) woken.push_back(who);
    };
    const auto* start = std::get_if<message::Start>(&m.message);
    if (start != nullptr && start->execution == 1) {
      // A sub-orchestration (or detached orchestration) to create.
      auto valid = validate_instance_id(m.target);
      std::optional<InstanceInfo> existing;
      if (valid) {
        auto e = tx.instance(m.target);
        if (!e) return fail(e.error());
        existing = std::move(*e);
      }
      if (valid && !existing) {
        DURACTOR_TRY(create_child(tx, m.target, start->name, start->version, start->input,
                                  start->parent));
        note(m.target);
        return {};
      }
      if (!start->parent) {
        out.undelivered.push_back("detached orchestration '" + start->name + "' as '" + m.target +
                                  "': " + (valid ? "the instance id is already taken" : valid.error().message));
      } else {
        message::ChildResult failure;
        failure.execution = start->parent->execution;
        failure.scheduled_id = start->parent->scheduled_id;
        failure.failure = FailureDetails{
            ErrorCategory::kConfiguration, "duractor::InstanceAlreadyExists",
            valid ? "cannot start sub-orchestration '" + start->name + "': instance id '" +
                        m.target + "' is already taken"
                  : "cannot start sub-orchestration '" + start->name +
                        "': " + valid.error().message};
        auto parent = tx.instance(start->parent->instance);
        if (!parent) return fail(parent.error());
        if (*parent) {
          auto seq = tx.append_inbox(start->parent->instance, std::move(failure));
          if (!seq) return fail(seq.error());
          note(start->parent->instance);
        }
      }
      return {};
    }
    // Everything else goes to an existing instance's inbox (continue-as-new: to `from`).
    (void)from;
    auto target = tx.instance(m.target);
    if (!target) return fail(target.error());
    if (!*target) {  // recorded as sent in history; nobody to receive it
      const auto* event = std::get_if<message::Event>(&m.message);
      out.undelivered.push_back((event ? "event '" + event->name + "'" : std::string("a message")) + " to '" +
                                m.target + "': no such instance");
      return {};
    }
    auto seq = tx.append_inbox(m.target, m.message);
    if (!seq) return fail(seq.error());
    note(m.target);
    return {};
  }

  Result<InstanceId> complete_work(Tx& tx, const WorkLease& lease,
                                   message::ActivityResult result) {
    DURACTOR_TRY(check_lease(lease));
    auto removed = tx.remove_work(lease.item);
    if (!removed) return fail(removed.error());
    if (!*removed) {
      return fail(ErrorCode::kConflict,
                  "work item " + std::to_string(lease.item) + " no longer exists");
    }
    const WorkItem& item = **removed;
    result.execution = item.execution;
    result.scheduled_id = item.scheduled_id;
    DURACTOR_TRY(tx.fault("complete_work.removed", item.instance));
    auto info = tx.instance(item.instance);
    if (!info) return fail(info.error());
    if (*info) DURACTOR_TRY(tx.append_inbox(item.instance, std::move(result)));
    return item.instance;
  }

  Status record_delivery(Tx& tx, const WorkLease& lease, std::uint32_t deliveries) {
    DURACTOR_TRY(check_lease(lease));
    auto key = detail::work_key(lease.item);
    auto raw = tx.get(tx.tables().work, key);
    if (!raw) return fail(raw.error());
    if (!*raw) {
      return fail(ErrorCode::kConflict,
                  "work item " + std::to_string(lease.item) + " no longer exists");
    }
    auto item = decode_work_item(**raw);
    if (!item) return fail(tx.corrupt("work item " + std::to_string(lease.item), item.error()));
    item->deliveries = deliveries;
    DURACTOR_TRY(tx.put(tx.tables().work, key, encode_work_item(*item)));
    return tx.fault("record_delivery.item", item->instance);
  }

  Result<std::uint32_t> count_turn_delivery(Tx& tx, const InstanceLock& lock) {
    const InstanceId& id = lock.instance;
    auto exists = tx.instance_row(id);
    if (!exists) return fail(exists.error());
    if (!*exists) return fail(ErrorCode::kNotFound, "no instance '" + id + "'");
    DURACTOR_TRY(check_lock(lock));
    auto raw = tx.get(tx.tables().turn_deliveries, id);
    if (!raw) return fail(raw.error());
    std::uint32_t count = 0;
    if (*raw) {
      if ((*raw)->size() != 4) {
        return fail(ErrorCode::kCorrupt, "store " + options.path +
                                             ": turn-delivery count of instance '" + id +
                                             "' is malformed");
      }
      count = detail::get_be32(**raw);
    }
    ++count;
    std::string bytes;
    detail::put_be32(bytes, count);
    DURACTOR_TRY(tx.put(tx.tables().turn_deliveries, id, bytes));
    DURACTOR_TRY(tx.fault("count_turn_delivery", id));
    return count;
  }

  Result<std::vector<InstanceId>> fire_timers(Tx& tx, const std::vector<TimerKey>& keys) {
    std::vector<InstanceId> woken;
    for (const auto& k : keys) {
      auto removed = tx.remove_timer(k);
      if (!removed) return fail(removed.error());
      if (!*removed) continue;
      const TimerEntry& timer = **removed;
      auto info = tx.instance(timer.instance);
      if (!info) return fail(info.error());
      if (!*info) continue;
      message::TimerFired fired{timer.execution, timer.scheduled_id, timer.key.fire_at};
      DURACTOR_TRY(tx.append_inbox(timer.instance, std::move(fired)));
      DURACTOR_TRY(tx.fault("fire_timers.one", timer.instance));
      if (std::find(woken.begin(), woken.end(), timer.instance) == woken.end()) {
        woken.push_back(timer.instance);
      }
    }
    return woken;
  }

  Result<PublishReceipt> publish(Tx& tx, const std::string& topic, const Bytes& payload) {
    DURACTOR_TRY(validate_name(topic, "topic name"));
    PublishReceipt receipt;
    auto prefix = detail::pair_key(topic, "");
    DURACTOR_TRY(tx.scan_prefix(tx.tables().subscriptions, prefix,
                                [&](std::string_view k, std::string_view) -> Result<bool> {
                                  receipt.delivered.emplace_back(k.substr(prefix.size()));
                                  return true;
                                }));
    auto name = topic_event_name(topic);
    for (const auto& id : receipt.delivered) {
      DURACTOR_TRY(tx.append_inbox(id, message::Event{name, payload}));
      DURACTOR_TRY(tx.fault("publish.one", id));
    }
    return receipt;
  }

  // The instance and, with cascade, its descendants, parents before children.
  Result<std::vector<InstanceInfo>> family(Tx& tx, const InstanceId& root, bool cascade) {
    std::vector<InstanceInfo> out;
    auto first = tx.existing_instance(root);
    if (!first) return fail(first.error());
    out.push_back(std::move(*first));
    std::unordered_set<InstanceId> seen{root};
    for (std::size_t i = 0; cascade && i < out.size(); ++i) {
      auto prefix = instance_prefix(out[i].id);
      std::vector<InstanceId> kids;
      DURACTOR_TRY(tx.scan_prefix(tx.tables().children, prefix,
                                  [&](std::string_view k, std::string_view) -> Result<bool> {
                                    kids.emplace_back(k.substr(prefix.size()));
                                    return true;
                                  }));
      for (auto& kid : kids) {
        if (!seen.insert(kid).second) continue;
        auto info = tx.instance(kid);
        if (!info) return fail(info.error());
        if (*info) out.push_back(std::move(**info));
      }
    }
    return out;
  }

  Result<DeleteSummary> delete_instance(Tx& tx, const InstanceId& id, const DeleteOptions& o) {
    auto members = family(tx, id, o.cascade);
    if (!members) return fail(members.error());
    if (!o.force) {
      for (const auto& m : *members) {
        if (!is_terminal(m.status)) {
          return fail(ErrorCode::kFailedPrecondition,
                      "instance '" + m.id + "' is " + std::string(to_string(m.status)) +
                          (m.id == id ? "" : " (a sub-orchestration of '" + id + "')") +
                          "; delete it with force, or cancel it first");
        }
      }
    }
    DeleteSummary summary;
    const auto& t = tx.tables();
    for (const auto& m : *members) {
      auto prefix = instance_prefix(m.id);
      auto events = tx.erase_prefix(t.history, prefix);
      if (!events) return fail(events.error());
      summary.events += *events;
      auto journaled = tx.erase_journal(m.id);
      if (!journaled) return fail(journaled.error());
      summary.events += *journaled;
      DURACTOR_TRY(tx.fault("delete_instance.history", m.id));
      for (MDB_dbi dbi : {t.executions, t.inbox, t.children}) {
        auto n = tx.erase_prefix(dbi, prefix);
        if (!n) return fail(n.error());
      }
      auto dropped = tx.drop_pending(m.id, 0);
      if (!dropped) return fail(dropped.error());
      DURACTOR_TRY(tx.drop_subscriptions(m.id));
      DURACTOR_TRY(tx.del(t.turn_deliveries, m.id));
      if (m.parent) DURACTOR_TRY(tx.del(t.children, detail::child_key(m.parent->instance, m.id)));
      DURACTOR_TRY(tx.remove_instance(m.id));
      summary.deleted.push_back(m.id);
    }
    return summary;
  }

  Result<std::uint64_t> import_instance(Tx& tx, const InstanceImage& image) {
    DURACTOR_TRY(validate_image(image));
    const auto& info = image.info;
    const auto& id = info.id;
    const auto& t = tx.tables();
    auto existing = tx.instance(id);
    if (!existing) return fail(existing.error());
    if (*existing) {
      return fail(ErrorCode::kAlreadyExists,
                  "instance '" + id + "' already exists (orchestration '" + (*existing)->name +
                      "', " + std::string(to_string((*existing)->status)) + ")");
    }
    DURACTOR_TRY(tx.put_instance(info));
    // History goes straight to the history table, not to the journal: the journal is this
    // process's runtime's, indexed in its memory (see docs/storage-format.md).
    std::uint64_t events = 0;
    for (const auto& x : image.executions) {
      if (x.info.continued_as_new) {
        DURACTOR_TRY(tx.put(t.executions, execution_key(id, x.info.execution),
                            encode_execution(x.info)));
      }
      for (const auto& e : x.events) {
        DURACTOR_TRY(tx.put(t.history, history_key(id, x.info.execution, e.id), encode_event(e)));
      }
      events += x.events.size();
    }
    DURACTOR_TRY(tx.fault("import_instance.history", id));
    for (const auto& entry : image.inbox) {
      auto seq = tx.next_counter("seq.inbox");
      if (!seq) return fail(seq.error());
      DURACTOR_TRY(tx.put(t.inbox, inbox_key(id, *seq),
                          encode_message(InboxEntry{*seq, entry.enqueued_at, entry.message})));
    }
    for (const auto& w : image.work) {
      auto item = tx.add_work(id, w.execution, w.scheduled_id, w.activity, w.input, w.attempt,
                              w.created_at, w.deliveries);
      if (!item) return fail(item.error());
    }
    for (const auto& timer : image.timers) {
      auto added = tx.add_timer(id, timer.execution, timer.scheduled_id, timer.key.fire_at);
      if (!added) return fail(added.error());
    }
    DURACTOR_TRY(tx.fault("import_instance.pending", id));
    if (!is_terminal(info.status)) {
      for (const auto& topic : image.topics) {
        DURACTOR_TRY(tx.put(t.subscriptions, detail::pair_key(topic, id), ""));
        DURACTOR_TRY(tx.put(t.instance_topics, detail::pair_key(id, topic), ""));
      }
    }
    if (info.parent) {
      auto parent = tx.instance_row(info.parent->instance);
      if (!parent) return fail(parent.error());
      if (*parent) DURACTOR_TRY(tx.put(t.children, detail::child_key(info.parent->instance, id), ""));
    }
    return events;
  }
};

LmdbStore::LmdbStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
LmdbStore::~LmdbStore() = default;

const std::string& LmdbStore::path() const { return impl_->options.path; }
std::uint64_t LmdbStore::map_size() const {
  std::shared_lock lock(impl_->env_mutex);
  return impl_->map_size;
}

namespace {

Status prepare_directory(const LmdbOptions& o) {
  if (o.path.empty()) return fail(ErrorCode::kInvalidArgument, "store path is empty");
  struct stat st{};
  if (::stat(o.path.c_str(), &st) != 0) {
    if (errno != ENOENT) return fail(lmdb_error(errno, "open", o.path));
    if (!o.create_if_missing || o.read_only) {
      return fail(ErrorCode::kNotFound, "store " + o.path + ": directory does not exist");
    }
    if (::mkdir(o.path.c_str(), 0775) != 0) {
      return fail(lmdb_error(errno, "create directory", o.path));
    }
    return {};
  }
  if (!S_ISDIR(st.st_mode)) {
    auto e = Error::make(ErrorCode::kIo, "store " + o.path + ": not a directory");
    e.retryable = false;
    return fail(e);
  }
  if (!o.read_only && ::access(o.path.c_str(), W_OK) != 0) {
    return fail(lmdb_error(errno, "open for writing", o.path));
  }
  return {};
}

// Opens the tables, checks the format version and indexes the journal. In a read
// transaction (`write` unset) it returns false when the store still needs creating (tables
// or format marker missing) and may be created; in a write transaction it creates them.
Result<bool> initialise(LmdbStore::Impl& impl, bool write) {
  const auto& o = impl.options;
  MDB_txn* txn = nullptr;
  int rc = mdb_txn_begin(impl.env, nullptr, write ? 0 : MDB_RDONLY, &txn);
  if (rc != 0) return fail(impl.error(rc, "begin transaction"));
  TxnGuard guard(txn);
  // Refuse an LMDB file that holds someone else's data rather than adding tables to it.
  MDB_dbi main_dbi = 0;
  MDB_stat main_stat{};
  if (mdb_dbi_open(txn, nullptr, 0, &main_dbi) == 0 && mdb_stat(txn, main_dbi, &main_stat) == 0 &&
      main_stat.ms_entries > 0) {
    MDB_dbi probe = 0;
    rc = mdb_dbi_open(txn, "meta", 0, &probe);
    if (rc == MDB_NOTFOUND || rc == MDB_INCOMPATIBLE) {
      return fail(ErrorCode::kCorrupt, "store " + o.path +
                                           ": data.mdb holds an LMDB database that is not a "
                                           "duractor store");
    }
  }
  unsigned dbi_flags = write ? MDB_CREATE : 0;
  struct Named {
    const char* name;
    MDB_dbi* dbi;
  };
  auto& t = impl.tables;
  for (auto [name, dbi] :
       {Named{"meta", &t.meta}, Named{"instance_ids", &t.instance_ids},
        Named{"instances", &t.instances}, Named{"executions", &t.executions},
        Named{"history", &t.history}, Named{"journal", &t.journal}, Named{"inbox", &t.inbox},
        Named{"work", &t.work}, Named{"work_index", &t.work_index}, Named{"timers", &t.timers},
        Named{"timer_index", &t.timer_index}, Named{"children", &t.children},
        Named{"subscriptions", &t.subscriptions}, Named{"instance_topics", &t.instance_topics},
        Named{"turn_deliveries", &t.turn_deliveries}}) {
    bool optional = dbi == &t.turn_deliveries;  // added after format 1 was fixed
    rc = mdb_dbi_open(txn, name, dbi_flags, dbi);
    if (rc == MDB_NOTFOUND && optional && o.read_only) continue;
    if (optional && rc == 0) t.turn_deliveries_open = true;
    if (rc == MDB_NOTFOUND && !o.read_only) return false;  // to be created
    if (rc == MDB_NOTFOUND) {
      return fail(ErrorCode::kCorrupt, "store " + o.path + ": table '" + std::string(name) +
                                           "' is missing (not a duractor store?)");
    }
    if (rc == MDB_INCOMPATIBLE) {
      return fail(ErrorCode::kCorrupt, "store " + o.path + ": '" + std::string(name) +
                                           "' is not a duractor table (not a duractor store?)");
    }
    if (rc != 0) return fail(impl.error(rc, std::string("open table ") + name));
  }
  Tx tx(txn, t, o.path, nullptr, impl.now(), impl.journal_index);
  auto format = tx.get(t.meta, "format");
  if (!format) return fail(format.error());
  if (*format) {
    if ((*format)->size() != 4) {
      return fail(ErrorCode::kCorrupt, "store " + o.path + ": format marker is malformed");
    }
    auto version = detail::get_be32(**format);
    if (version > kStoreFormat) {
      return fail(ErrorCode::kUnsupported,
                  "store " + o.path + " has format " + std::to_string(version) +
                      ", newer than this build supports (" + std::to_string(kStoreFormat) + ")");
    }
  } else if (!o.read_only) {
    if (!write) return false;
    std::string bytes;
    detail::put_be32(bytes, kStoreFormat);
    DURACTOR_TRY(tx.put(t.meta, "format", bytes));
  } else {
    return fail(ErrorCode::kCorrupt, "store " + o.path + ": not initialised (no format marker)");
  }
  // Index the journal: one entry per record not yet compacted.
  DURACTOR_TRY(tx.scan_from(t.journal, "", [&](std::string_view k, std::string_view v) -> Result<bool> {
    auto record = decode_journal_record(v);
    if (!record) {
      return fail(tx.corrupt("journal record " + std::to_string(detail::get_be64(k)),
                             record.error()));
    }
    if (record->events.empty()) return true;
    impl.journal_index.add(record->instance,
                            {record->execution, record->first_event,
                             record->first_event + record->events.size() - 1,
                             detail::get_be64(k)});
    return true;
  }));
  impl.journal_records = tx.entries(t.journal);
  rc = guard.commit();
  if (rc != 0) return fail(impl.error(rc, "initialise"));
  return true;
}

}  // namespace

Result<std::unique_ptr<LmdbStore>> LmdbStore::open(LmdbOptions options) {
  DURACTOR_TRY(prepare_directory(options));
  auto impl = std::make_unique<Impl>();
  impl->options = std::move(options);
  const auto& o = impl->options;
  impl->clock = o.clock != nullptr ? o.clock : &SystemClock::instance();

  int rc = mdb_env_create(&impl->env);
  if (rc != 0) return fail(impl->error(rc, "create environment"));
  mdb_env_set_maxdbs(impl->env, 24);
  mdb_env_set_maxreaders(impl->env, o.max_readers);
  mdb_env_set_mapsize(impl->env, o.initial_map_size);
  unsigned flags = MDB_NOTLS;
  if (!o.sync) flags |= MDB_NOSYNC | MDB_NOMETASYNC;
  if (o.read_only) flags |= MDB_RDONLY;
  rc = mdb_env_open(impl->env, o.path.c_str(), flags, 0664);
  if (rc != 0) {
    mdb_env_close(impl->env);
    impl->env = nullptr;
    return fail(impl->error(rc, "open"));
  }
  MDB_envinfo info;
  mdb_env_info(impl->env, &info);
  impl->map_size = info.me_mapsize;
  int dead_readers = 0;
  mdb_reader_check(impl->env, &dead_readers);  // slots of crashed processes

  // LMDB maps the file and trusts its header; a file cut short would fault on first access
  // past its end, so check its length against the last page the header claims.
  MDB_stat env_stat;
  mdb_env_stat(impl->env, &env_stat);
  std::uint64_t needed = (info.me_last_pgno + 1) * std::uint64_t{env_stat.ms_psize};
  struct stat file{};
  if (::stat((o.path + "/data.mdb").c_str(), &file) == 0 &&
      static_cast<std::uint64_t>(file.st_size) < needed) {
    return fail(ErrorCode::kCorrupt, "store " + o.path + ": data.mdb is truncated: it has " +
                                         std::to_string(file.st_size) +
                                         " bytes but its last page ends at byte " +
                                         std::to_string(needed));
  }

  // Open the tables and check the format version: in a read transaction if the store
  // exists already (so that opening never waits for another process's writer), else in a
  // write transaction that creates them.
  auto ready = initialise(*impl, false);
  if (!ready) return fail(ready.error());
  if (!*ready) {
    auto created = initialise(*impl, true);
    if (!created) return fail(created.error());
  }
  mdb_env_info(impl->env, &info);
  impl->last_txn = info.me_last_txnid;

  auto* raw = impl.get();
  if (!o.read_only) {
    raw->writer = std::thread([raw] {
      ::pthread_setname_np(::pthread_self(), "duractor-store");
      raw->writer_loop();
    });
  }
  return std::unique_ptr<LmdbStore>(new LmdbStore(std::move(impl)));
}

// ---- writes ----

void LmdbStore::create_instance_async(NewInstance request, Callback<CreateOutcome> done) {
  auto* impl = impl_.get();
  impl->submit<CreateOutcome>(
      [impl, r = std::move(request)](Tx& tx) { return impl->create_instance(tx, r); },
      std::move(done));
}

void LmdbStore::enqueue_async(InstanceId instance, InboxMessage message,
                              Callback<std::uint64_t> done) {
  auto* impl = impl_.get();
  impl->submit<std::uint64_t>(
      [impl, id = std::move(instance), m = std::move(message)](Tx& tx) {
        return impl->enqueue(tx, id, m);
      },
      std::move(done));
}

void LmdbStore::commit_turn_async(TurnCommit turn, Callback<TurnCommitted> done) {
  auto* impl = impl_.get();
  // The typed result carries the removed work ids so that their leases are forgotten only
  // after the commit is durable.
  auto answer = std::make_shared<Callback<TurnCommitted>>(std::move(done));
  impl->submit<Impl::CommitResult>(
      [impl, t = std::move(turn)](Tx& tx) { return impl->commit_turn(tx, t); },
      [answer](Result<Impl::CommitResult> r) {
        if (!r) {
          (*answer)(std::unexpected(r.error()));
        } else {
          (*answer)(std::move(r->out));
        }
      },
      [impl](const Impl::CommitResult& r) {
        impl->forget_leases(r.removed_work);
        impl->journal_records += r.journaled;
      });
}

void LmdbStore::complete_work_async(WorkLease lease, message::ActivityResult result,
                                    Callback<InstanceId> done) {
  auto* impl = impl_.get();
  impl->submit<InstanceId>(
      [impl, lease, r = std::move(result)](Tx& tx) { return impl->complete_work(tx, lease, r); },
      std::move(done),
      [impl, item = lease.item](const InstanceId&) { impl->forget_leases({item}); });
}

void LmdbStore::record_delivery_async(WorkLease lease, std::uint32_t deliveries,
                                      StatusCallback done) {
  auto* impl = impl_.get();
  impl->submit<bool>(
      [impl, lease, deliveries](Tx& tx) -> Result<bool> {
        DURACTOR_TRY(impl->record_delivery(tx, lease, deliveries));
        return true;
      },
      [done = std::move(done)](Result<bool> r) {
        if (r) return done(Status{});
        done(fail(r.error()));
      });
}

void LmdbStore::count_turn_delivery_async(InstanceLock lock, Callback<std::uint32_t> done) {
  auto* impl = impl_.get();
  impl->submit<std::uint32_t>(
      [impl, l = std::move(lock)](Tx& tx) { return impl->count_turn_delivery(tx, l); },
      std::move(done));
}

void LmdbStore::fire_timers_async(std::vector<TimerKey> keys,
                                  Callback<std::vector<InstanceId>> done) {
  auto* impl = impl_.get();
  impl->submit<std::vector<InstanceId>>(
      [impl, k = std::move(keys)](Tx& tx) { return impl->fire_timers(tx, k); }, std::move(done));
}

void LmdbStore::publish_async(std::string topic, Bytes payload, Callback<PublishReceipt> done) {
  auto* impl = impl_.get();
  impl->submit<PublishReceipt>(
      [impl, t = std::move(topic), p = std::move(payload)](Tx& tx) { return impl->publish(tx, t, p); },
      std::move(done));
}

void LmdbStore::delete_instance_async(InstanceId id, DeleteOptions options,
                                      Callback<DeleteSummary> done) {
  auto* impl = impl_.get();
  impl->submit<DeleteSummary>(
      [impl, i = std::move(id), options](Tx& tx) { return impl->delete_instance(tx, i, options); },
      std::move(done),
      [impl](const DeleteSummary& summary) { impl->forget_instances(summary.deleted); });
}

void LmdbStore::import_instance_async(InstanceImage image, Callback<std::uint64_t> done) {
  auto* impl = impl_.get();
  impl->submit<std::uint64_t>(
      [impl, i = std::move(image)](Tx& tx) { return impl->import_instance(tx, i); },
      std::move(done));
}

// ---- locks and leases ----

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

// ---- reads ----

Result<InstanceInfo> LmdbStore::read_instance(const InstanceId& id) {
  return impl_->read([&](Tx& tx) { return tx.existing_instance(id); });
}

Result<std::vector<ExecutionInfo>> LmdbStore::read_executions(const InstanceId& id) {
  return impl_->read([&](Tx& tx) -> Result<std::vector<ExecutionInfo>> {
    auto info = tx.existing_instance(id);
    if (!info) return fail(info.error());
    std::vector<ExecutionInfo> out;
    for (ExecutionId x = 1; x <= info->execution; ++x) {
      auto e = tx.execution(*info, x);
      if (!e) return fail(e.error());
      if (*e) out.push_back(**e);
    }
    return out;
  });
}

Result<std::vector<HistoryEvent>> LmdbStore::read_history(const InstanceId& id,
                                                          ExecutionId execution) {
  return impl_->read([&](Tx& tx) -> Result<std::vector<HistoryEvent>> {
    auto info = tx.existing_instance(id);
    if (!info) return fail(info.error());
    if (execution == 0 || execution > info->execution) {
      return fail(ErrorCode::kNotFound, "instance '" + id + "' has no execution " +
                                            std::to_string(execution) + " (its latest is " +
                                            std::to_string(info->execution) + ")");
    }
    return tx.history(id, execution);
  });
}

Result<ExecutionHistory> LmdbStore::read_latest_history(const InstanceId& id) {
  if (const auto& inject = impl_->options.fault_injector) {
    auto step = "read_latest_history:" + id;
    DURACTOR_TRY(inject(FaultStep{step, id}));
  }
  return impl_->read([&](Tx& tx) -> Result<ExecutionHistory> {
    auto info = tx.existing_instance(id);
    if (!info) return fail(info.error());
    ExecutionHistory h;
    h.execution = info->execution;
    if (h.execution == 0) return h;
    auto events = tx.history(id, h.execution);
    if (!events) return fail(events.error());
    h.events = std::move(*events);
    return h;
  });
}

Result<std::vector<InboxEntry>> LmdbStore::read_inbox(const InstanceId& id, std::size_t max) {
  return impl_->read([&](Tx& tx) -> Result<std::vector<InboxEntry>> {
    auto info = tx.get(tx.tables().instance_ids, id);
    if (!info) return fail(info.error());
    if (!*info) return fail(ErrorCode::kNotFound, "no instance '" + id + "'");
    std::vector<InboxEntry> out;
    DURACTOR_TRY(tx.scan_prefix(tx.tables().inbox, instance_prefix(id),
                                [&](std::string_view, std::string_view v) -> Result<bool> {
                                  if (max != 0 && out.size() >= max) return false;
                                  auto m = decode_message(v);
                                  if (!m) return fail(tx.corrupt("inbox of '" + id + "'", m.error()));
                                  out.push_back(std::move(*m));
                                  return true;
                                }));
    return out;
  });
}

Result<std::vector<InstanceId>> LmdbStore::instances_with_messages(const std::string& after,
                                                                   std::size_t max) {
  return impl_->read([&](Tx& tx) -> Result<std::vector<InstanceId>> {
    std::vector<InstanceId> out;
    // Jump from one instance's messages to the next: "id\x01" sorts after every "id\0...".
    std::string start = after.empty() ? std::string() : after + '\x01';
    while (max == 0 || out.size() < max) {
      std::optional<std::string> found;
      DURACTOR_TRY(tx.scan_from(tx.tables().inbox, start,
                                [&](std::string_view k, std::string_view) -> Result<bool> {
                                  auto id = detail::id_of_key(k);
                                  if (id) found = std::string(*id);
                                  return false;
                                }));
      if (!found) break;
      out.push_back(*found);
      start = *found + '\x01';
    }
    return out;
  });
}

Result<std::vector<InboxDepth>> LmdbStore::inbox_depths(const std::string& after,
                                                         std::size_t max) {
  return impl_->read([&](Tx& tx) -> Result<std::vector<InboxDepth>> {
    std::vector<InboxDepth> out;
    std::string start = after.empty() ? std::string() : after + '\x01';
    DURACTOR_TRY(tx.scan_from(tx.tables().inbox, start,
                              [&](std::string_view k, std::string_view v) -> Result<bool> {
                                auto id = detail::id_of_key(k);
                                if (!id) return true;
                                if (!out.empty() && out.back().instance == *id) {
                                  ++out.back().messages;
                                  return true;
                                }
                                if (max != 0 && out.size() >= max) return false;
                                auto m = decode_message(v);
                                if (!m) {
                                  return fail(tx.corrupt("inbox of '" + std::string(*id) + "'",
                                                         m.error()));
                                }
                                out.push_back(InboxDepth{std::string(*id), 1, m->enqueued_at});
                                return true;
                              }));
    return out;
  });
}

Result<std::vector<TimerEntry>> LmdbStore::due_timers(TimePoint now, std::size_t max) {
  return impl_->read([&](Tx& tx) -> Result<std::vector<TimerEntry>> {
    std::vector<TimerEntry> out;
    DURACTOR_TRY(tx.scan_from(tx.tables().timers, "",
                              [&](std::string_view, std::string_view v) -> Result<bool> {
                                if (max != 0 && out.size() >= max) return false;
                                auto t = decode_timer(v);
                                if (!t) return fail(tx.corrupt("timer", t.error()));
                                if (t->key.fire_at > now) return false;
                                out.push_back(std::move(*t));
                                return true;
                              }));
    return out;
  });
}

Result<std::optional<TimerEntry>> LmdbStore::next_timer() {
  return impl_->read([&](Tx& tx) -> Result<std::optional<TimerEntry>> {
    std::optional<TimerEntry> out;
    DURACTOR_TRY(tx.scan_from(tx.tables().timers, "",
                              [&](std::string_view, std::string_view v) -> Result<bool> {
                                auto t = decode_timer(v);
                                if (!t) return fail(tx.corrupt("timer", t.error()));
                                out = std::move(*t);
                                return false;
                              }));
    return out;
  });
}

Result<std::vector<WorkItem>> LmdbStore::list_work(std::uint64_t after, std::size_t max) {
  return impl_->read([&](Tx& tx) -> Result<std::vector<WorkItem>> {
    std::vector<WorkItem> out;
    DURACTOR_TRY(tx.scan_from(tx.tables().work, detail::work_key(after + 1),
                              [&](std::string_view, std::string_view v) -> Result<bool> {
                                if (max != 0 && out.size() >= max) return false;
                                auto w = decode_work_item(v);
                                if (!w) return fail(tx.corrupt("work item", w.error()));
                                out.push_back(std::move(*w));
                                return true;
                              }));
    return out;
  });
}

Result<InstancePage> LmdbStore::list_instances(const InstanceQuery& q) {
  auto matches = [&q](const InstanceInfo& i) {
    if (!q.statuses.empty() &&
        std::find(q.statuses.begin(), q.statuses.end(), i.status) == q.statuses.end()) {
      return false;
    }
    if (q.name && i.name != *q.name) return false;
    if (q.created_after && i.created_at < *q.created_after) return false;
    if (q.created_before && i.created_at >= *q.created_before) return false;
    if (q.parent && (!i.parent || i.parent->instance != *q.parent)) return false;
    return true;
  };
  return impl_->read([&](Tx& tx) -> Result<InstancePage> {
    InstancePage page;
    std::string start = q.after.empty() ? std::string() : q.after + '\0';
    DURACTOR_TRY(tx.scan_from(tx.tables().instance_ids, start,
                              [&](std::string_view k, std::string_view) -> Result<bool> {
                                auto info = tx.existing_instance(std::string(k));
                                if (!info) return fail(info.error());
                                if (!matches(*info)) return true;
                                if (q.limit != 0 && page.instances.size() == q.limit) {
                                  page.next = page.instances.back().id;
                                  return false;
                                }
                                page.instances.push_back(std::move(*info));
                                return true;
                              }));
    return page;
  });
}

Result<std::vector<InstanceId>> LmdbStore::subscribers(const std::string& topic) {
  return impl_->read([&](Tx& tx) -> Result<std::vector<InstanceId>> {
    std::vector<InstanceId> out;
    auto prefix = detail::pair_key(topic, "");
    DURACTOR_TRY(tx.scan_prefix(tx.tables().subscriptions, prefix,
                                [&](std::string_view k, std::string_view) -> Result<bool> {
                                  out.emplace_back(k.substr(prefix.size()));
                                  return true;
                                }));
    return out;
  });
}

Result<std::vector<std::string>> LmdbStore::subscriptions(const InstanceId& instance) {
  return impl_->read([&](Tx& tx) -> Result<std::vector<std::string>> {
    auto info = tx.instance_row(instance);
    if (!info) return fail(info.error());
    if (!*info) return fail(ErrorCode::kNotFound, "no instance '" + instance + "'");
    std::vector<std::string> out;
    auto prefix = instance_prefix(instance);
    DURACTOR_TRY(tx.scan_prefix(tx.tables().instance_topics, prefix,
                                [&](std::string_view k, std::string_view) -> Result<bool> {
                                  out.emplace_back(k.substr(prefix.size()));
                                  return true;
                                }));
    return out;
  });
}

Result<InstanceImage> LmdbStore::export_instance(const InstanceId& id) {
  return impl_->read([&](Tx& tx) -> Result<InstanceImage> {
    const auto& t = tx.tables();
    InstanceImage image;
    auto info = tx.existing_instance(id);
    if (!info) return fail(info.error());
    image.info = std::move(*info);
    for (ExecutionId x = 1; x <= image.info.execution; ++x) {
      ExecutionImage execution;
      auto derived = tx.execution(image.info, x);
      if (!derived) return fail(derived.error());
      if (!*derived) {
        return fail(ErrorCode::kCorrupt, "store " + impl_->options.path + ": execution " +
                                             std::to_string(x) + " of '" + id + "' has no record");
      }
      execution.info = **derived;
      // The current execution may have continued as new already, its successor not yet
      // started: keep its record, which says so.
      auto stored = tx.get(t.executions, execution_key(id, x));
      if (!stored) return fail(stored.error());
      if (*stored) {
        auto record = decode_execution(**stored);
        if (!record) {
          return fail(tx.corrupt("execution " + std::to_string(x) + " of '" + id + "'",
                                 record.error()));
        }
        execution.info = *record;
      }
      auto events = tx.history(id, x);
      if (!events) return fail(events.error());
      execution.events = std::move(*events);
      image.executions.push_back(std::move(execution));
    }
    auto prefix = instance_prefix(id);
    DURACTOR_TRY(tx.scan_prefix(t.inbox, prefix,
                                [&](std::string_view, std::string_view v) -> Result<bool> {
                                  auto m = decode_message(v);
                                  if (!m) return fail(tx.corrupt("inbox of '" + id + "'", m.error()));
                                  image.inbox.push_back(std::move(*m));
                                  return true;
                                }));
    std::vector<std::uint64_t> work_ids;
    std::vector<std::string> timer_keys;
    DURACTOR_TRY(tx.scan_prefix(t.work_index, prefix,
                                [&](std::string_view, std::string_view v) -> Result<bool> {
                                  if (v.size() == 8) work_ids.push_back(detail::get_be64(v));
                                  return true;
                                }));
    DURACTOR_TRY(tx.scan_prefix(t.timer_index, prefix,
                                [&](std::string_view, std::string_view v) -> Result<bool> {
                                  timer_keys.emplace_back(v);
                                  return true;
                                }));
    for (auto w : work_ids) {
      auto raw = tx.get(t.work, detail::work_key(w));
      if (!raw) return fail(raw.error());
      if (!*raw) continue;
      auto item = decode_work_item(**raw);
      if (!item) return fail(tx.corrupt("work item " + std::to_string(w), item.error()));
      image.work.push_back(std::move(*item));
    }
    for (const auto& k : timer_keys) {
      auto raw = tx.get(t.timers, k);
      if (!raw) return fail(raw.error());
      if (!*raw) continue;
      auto timer = decode_timer(**raw);
      if (!timer) return fail(tx.corrupt("timer of '" + id + "'", timer.error()));
      image.timers.push_back(std::move(*timer));
    }
    DURACTOR_TRY(tx.scan_prefix(t.instance_topics, prefix,
                                [&](std::string_view k, std::string_view) -> Result<bool> {
                                  image.topics.emplace_back(k.substr(prefix.size()));
                                  return true;
                                }));
    return image;
  });
}

Result<StoreStats> LmdbStore::stats() {
  return impl_->read([&](Tx& tx) -> Result<StoreStats> {
    StoreStats s;
    s.path = impl_->options.path;
    MDB_envinfo info;
    mdb_env_info(impl_->env, &info);
    MDB_stat env_stat;
    mdb_env_stat(impl_->env, &env_stat);
    s.map_size = info.me_mapsize;
    s.used_bytes = (info.me_last_pgno + 1) * std::uint64_t{env_stat.ms_psize};
    s.page_size = env_stat.ms_psize;
    s.readers = info.me_numreaders;
    s.max_readers = info.me_maxreaders;
    s.last_commit = info.me_last_txnid;
    struct stat file{};
    if (::stat((s.path + "/data.mdb").c_str(), &file) == 0) {
      s.file_bytes = static_cast<std::uint64_t>(file.st_size);
    }
    const auto& t = tx.tables();
    s.instances = tx.entries(t.instance_ids);
    // Executions that continued as new have records; every started instance also has its
    // current execution.
    s.executions = tx.entries(t.executions);
    DURACTOR_TRY(tx.scan_from(t.instances, "", [&](std::string_view k, std::string_view v) -> Result<bool> {
      auto instance = decode_instance(v);
      if (!instance) {
        return fail(tx.corrupt("instance row " + std::to_string(detail::get_be64(k)),
                               instance.error()));
      }
      if (instance->execution != 0) ++s.executions;
      auto status = static_cast<std::size_t>(instance->status);
      if (status < s.instances_by_status.size()) ++s.instances_by_status[status];
      return true;
    }));
    s.history_events = tx.entries(t.history);
    s.journal_records = tx.entries(t.journal);
    DURACTOR_TRY(tx.scan_from(t.journal, "", [&](std::string_view, std::string_view v) -> Result<bool> {
      auto record = decode_journal_record(v);
      if (record) s.history_events += record->events.size();
      return true;
    }));
    s.inbox_messages = tx.entries(t.inbox);
    s.work_items = tx.entries(t.work);
    s.timers = tx.entries(t.timers);
    s.subscriptions = tx.entries(t.subscriptions);
    return s;
  });
}

Result<SequenceMarks> LmdbStore::sequence_marks() {
  return impl_->read([&](Tx& tx) -> Result<SequenceMarks> {
    SequenceMarks marks;
    for (auto [name, mark] :
         {std::pair{"seq.inbox", &marks.inbox}, std::pair{"seq.work", &marks.work},
          std::pair{"seq.timer", &marks.timer}}) {
      auto raw = tx.get(tx.tables().meta, name);
      if (!raw) return fail(raw.error());
      if (*raw && (*raw)->size() == 8) *mark = detail::get_be64(**raw);
    }
    return marks;
  });
}

Result<std::uint32_t> LmdbStore::turn_deliveries(const InstanceId& id) {
  return impl_->read([&](Tx& tx) -> Result<std::uint32_t> {
    auto row = tx.instance_row(id);
    if (!row) return fail(row.error());
    if (!*row) return fail(ErrorCode::kNotFound, "no instance '" + id + "'");
    if (!tx.tables().turn_deliveries_open) return std::uint32_t{0};
    auto raw = tx.get(tx.tables().turn_deliveries, id);
    if (!raw) return fail(raw.error());
    if (!*raw) return std::uint32_t{0};
    if ((*raw)->size() != 4) {
      return fail(ErrorCode::kCorrupt, "store " + impl_->options.path +
                                           ": turn-delivery count of instance '" + id +
                                           "' is malformed");
    }
    return detail::get_be32(**raw);
  });
}

Result<std::uint64_t> LmdbStore::change_counter() {
  MDB_envinfo info;
  int rc = mdb_env_info(impl_->env, &info);
  if (rc != 0) return fail(impl_->error(rc, "read environment info"));
  return static_cast<std::uint64_t>(info.me_last_txnid);
}

std::uint64_t LmdbStore::foreign_writes() const {
  if (impl_->options.read_only) return impl_->poll_foreign();
  return impl_->foreign_generation;
}

}  // namespace duractor
