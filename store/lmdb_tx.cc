// Tx, one transaction's view of the LMDB store's tables: the record operations the
// store's reads and writes are made of (see store/detail/lmdb_tx.h for each contract).

#include "duractor/store/detail/lmdb_tx.h"
#include "duractor/runtime/detail/codec.h"
#include "duractor/store/detail/keys.h"

#include <algorithm>
#include <string>

namespace duractor::detail {

Error Tx::error(int rc, std::string_view what) {
  if (rc == MDB_MAP_FULL) map_full_ = true;
  return lmdb_error(rc, what, path_);
}

Result<std::optional<std::string_view>> Tx::get(MDB_dbi dbi, std::string_view key) {
  MDB_val k = to_val(key), v;
  int rc = mdb_get(txn_, dbi, &k, &v);
  if (rc == MDB_NOTFOUND) return std::optional<std::string_view>();
  if (rc != 0) return fail(error(rc, "read"));
  return std::optional<std::string_view>(from_val(v));
}

Status Tx::put(MDB_dbi dbi, std::string_view key, std::string_view value) {
  wrote_ = true;
  MDB_val k = to_val(key), v = to_val(value);
  int rc = mdb_put(txn_, dbi, &k, &v, 0);
  if (rc != 0) return fail(error(rc, "write"));
  return {};
}

Result<bool> Tx::del(MDB_dbi dbi, std::string_view key) {
  wrote_ = true;
  MDB_val k = to_val(key);
  int rc = mdb_del(txn_, dbi, &k, nullptr);
  if (rc == MDB_NOTFOUND) return false;
  if (rc != 0) return fail(error(rc, "delete"));
  return true;
}

Result<std::uint64_t> Tx::erase_keys(MDB_dbi dbi, const std::vector<std::string>& keys) {
  for (const auto& k : keys) {
    auto d = del(dbi, k);
    if (!d) return fail(d.error());
  }
  return keys.size();
}

Result<std::uint64_t> Tx::erase_prefix(MDB_dbi dbi, std::string_view prefix) {
  std::vector<std::string> keys;
  auto st = scan_prefix(dbi, prefix, [&](std::string_view k, std::string_view) -> Result<bool> {
    keys.emplace_back(k);
    return true;
  });
  if (!st) return fail(st.error());
  return erase_keys(dbi, keys);
}

Result<std::uint64_t> Tx::erase_range(MDB_dbi dbi, std::string_view from, std::string_view to) {
  std::vector<std::string> keys;
  auto st = scan_from(dbi, from, [&](std::string_view k, std::string_view) -> Result<bool> {
    if (k >= to) return false;
    keys.emplace_back(k);
    return true;
  });
  if (!st) return fail(st.error());
  return erase_keys(dbi, keys);
}

Result<std::uint64_t> Tx::next_counter(std::string_view name) {
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

Result<std::optional<std::pair<std::string_view, std::string_view>>> Tx::last_with_prefix(
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

Result<std::optional<JournalRecord>> Tx::journal_record(const InstanceId& id,
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

Result<bool> Tx::journal_record_present(const InstanceId& id,
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

Result<std::vector<JournalRecord>> Tx::unindexed_records(const InstanceId& id,
                                                         ExecutionId execution) {
  std::vector<JournalRecord> out;
  auto st = scan_from(
      t.journal, detail::journal_key(index_.high_water() + 1),
      [&](std::string_view k, std::string_view v) -> Result<bool> {
        auto record = decode_journal_record(v);
        if (!record) {
          return fail(
              corrupt("journal record " + std::to_string(detail::get_be64(k)), record.error()));
        }
        if (record->instance == id && (execution == 0 || record->execution == execution)) {
          out.push_back(std::move(*record));
        }
        return true;
      });
  if (!st) return fail(st.error());
  return out;
}

Result<EventId> Tx::last_event(const InstanceId& id, ExecutionId execution) {
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

Result<std::vector<HistoryEvent>> Tx::history(const InstanceId& id, ExecutionId execution) {
  std::vector<HistoryEvent> events;
  auto prefix = execution_key(id, execution);
  auto where = [&](EventId event) {
    return "history of '" + id + "' execution " + std::to_string(execution) + " event " +
           std::to_string(event);
  };
  auto st =
      scan_prefix(t.history, prefix, [&](std::string_view k, std::string_view v) -> Result<bool> {
        auto e = decode_event(v);
        if (!e) {
          return fail(corrupt(where(detail::get_be64(k.substr(prefix.size()))), e.error()));
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

Status Tx::append_journal(const InstanceId& id, ExecutionId execution, EventId first_event,
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

namespace {

// Deletes the journal records of `id` whose execution `wanted` accepts; returns their event
// count (Tx::erase_journal, Tx::erase_journal_of).
template <class Wanted>
Result<std::uint64_t> erase_journal_where(Tx& tx, JournalIndex& index, const InstanceId& id,
                                          Wanted wanted, JournalUndo* erased) {
  const auto& t = tx.tables();
  std::uint64_t events = 0;
  for (const auto& entry : index.entries(id)) {
    if (!wanted(entry.execution)) continue;
    auto present = tx.journal_record_present(id, entry);
    if (!present) return fail(present.error());
    if (!*present) continue;
    events += entry.last_event - entry.first_event + 1;
    DURACTOR_TRY(tx.del(t.journal, detail::journal_key(entry.seq)));
    if (erased != nullptr) erased->emplace_back(id, entry.seq);
  }
  std::vector<std::uint64_t> foreign;
  auto st = tx.scan_from(t.journal, detail::journal_key(index.high_water() + 1),
                         [&](std::string_view k, std::string_view v) -> Result<bool> {
                           auto record = decode_journal_record(v);
                           if (record && record->instance == id && wanted(record->execution)) {
                             foreign.push_back(detail::get_be64(k));
                             events += record->events.size();
                           }
                           return true;
                         });
  if (!st) return fail(st.error());
  for (auto seq : foreign) DURACTOR_TRY(tx.del(t.journal, detail::journal_key(seq)));
  return events;
}

}  // namespace

Result<std::uint64_t> Tx::erase_journal(const InstanceId& id, ExecutionId before,
                                        JournalUndo* erased) {
  return erase_journal_where(
      *this, index_, id,
      [before](ExecutionId execution) { return before == 0 || execution < before; }, erased);
}

Result<std::uint64_t> Tx::erase_journal_of(const InstanceId& id, ExecutionId execution,
                                           JournalUndo* erased) {
  return erase_journal_where(
      *this, index_, id, [execution](ExecutionId e) { return e == execution; }, erased);
}

Status Tx::compact_journal(std::size_t max, JournalUndo& moved) {
  std::vector<std::pair<std::uint64_t, JournalRecord>> records;
  auto st = scan_from(t.journal, "", [&](std::string_view k, std::string_view v) -> Result<bool> {
    if (records.size() >= max) return false;
    auto record = decode_journal_record(v);
    if (!record) {
      return fail(corrupt("journal record " + std::to_string(detail::get_be64(k)), record.error()));
    }
    records.emplace_back(detail::get_be64(k), std::move(*record));
    return true;
  });
  if (!st) return fail(st.error());
  for (auto& [seq, r] : records) {
    for (std::size_t i = 0; i < r.events.size(); ++i) {
      DURACTOR_TRY(
          put(t.history, history_key(r.instance, r.execution, r.first_event + i), r.events[i]));
    }
    DURACTOR_TRY(del(t.journal, detail::journal_key(seq)));
    DURACTOR_TRY(fault("compact_journal.record", r.instance));
    moved.emplace_back(r.instance, seq);
  }
  return {};
}

Status Tx::drop_subscriptions(const InstanceId& id) {
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

std::uint64_t Tx::entries(MDB_dbi dbi) {
  MDB_stat st;
  return mdb_stat(txn_, dbi, &st) == 0 ? st.ms_entries : 0;
}

Status Tx::fault(std::string_view step, std::string_view instance) {
  if (faults_ == nullptr || !*faults_) return {};
  return (*faults_)(FaultStep{step, instance});
}

Error Tx::corrupt(std::string_view where, const Error& cause) {
  return Error::make(cause.code,
                     "store " + path_ + ": " + std::string(where) + ": " + cause.message);
}

Result<std::optional<std::uint64_t>> Tx::instance_row(const InstanceId& id) {
  auto raw = get(t.instance_ids, id);
  if (!raw) return fail(raw.error());
  if (!*raw) return std::optional<std::uint64_t>();
  if ((*raw)->size() != 8) {
    return fail(ErrorCode::kCorrupt,
                "store " + path_ + ": row of instance '" + id + "' is malformed");
  }
  return std::optional<std::uint64_t>(detail::get_be64(**raw));
}

Result<std::optional<InstanceInfo>> Tx::instance(const InstanceId& id) {
  auto row = instance_row(id);
  if (!row) return fail(row.error());
  if (!*row) return std::optional<InstanceInfo>();
  auto raw = get(t.instances, detail::row_key(**row));
  if (!raw) return fail(raw.error());
  if (!*raw) {
    return fail(ErrorCode::kCorrupt, "store " + path_ + ": record of instance '" + id + "' (row " +
                                         std::to_string(**row) + ") is missing");
  }
  auto info = decode_instance(**raw);
  if (!info) return fail(corrupt("instance '" + id + "'", info.error()));
  return std::optional<InstanceInfo>(std::move(*info));
}

Result<InstanceInfo> Tx::existing_instance(const InstanceId& id) {
  auto info = instance(id);
  if (!info) return fail(info.error());
  if (!*info) return fail(ErrorCode::kNotFound, "no instance '" + id + "'");
  return std::move(**info);
}

Status Tx::put_instance(const InstanceInfo& info) {
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

Status Tx::remove_instance(const InstanceId& id) {
  auto row = instance_row(id);
  if (!row) return fail(row.error());
  if (!*row) return {};
  DURACTOR_TRY(del(t.instances, detail::row_key(**row)));
  DURACTOR_TRY(del(t.instance_ids, id));
  return {};
}

Result<std::optional<TimePoint>> Tx::first_event_time(const InstanceId& id, ExecutionId execution) {
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

Result<ExecutionId> Tx::oldest_execution(const InstanceInfo& info) {
  auto prefix = instance_prefix(info.id);
  ExecutionId oldest = info.execution;
  auto st = scan_prefix(t.executions, prefix, [&](std::string_view k, std::string_view) {
    if (k.size() == prefix.size() + 4)
      oldest = std::min(oldest, detail::get_be32(k.substr(prefix.size())));
    return Result<bool>(false);
  });
  if (!st) return fail(st.error());
  return oldest;
}

Result<std::optional<ExecutionInfo>> Tx::execution(const InstanceInfo& info,
                                                   ExecutionId execution) {
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

Result<std::uint64_t> Tx::append_inbox(const InstanceId& id, InboxMessage message) {
  auto seq = next_counter("seq.inbox");
  if (!seq) return fail(seq.error());
  InboxEntry entry{*seq, now_, std::move(message)};
  auto st = put(t.inbox, inbox_key(id, *seq), encode_message(entry));
  if (!st) return fail(st.error());
  return *seq;
}

Result<WorkItem> Tx::add_work(const InstanceId& id, ExecutionId execution, EventId scheduled_id,
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

Result<TimerEntry> Tx::add_timer(const InstanceId& id, ExecutionId execution, EventId scheduled_id,
                                 TimePoint fire_at) {
  auto seq = next_counter("seq.timer");
  if (!seq) return fail(seq.error());
  TimerEntry timer{TimerKey{fire_at, *seq}, id, execution, scheduled_id};
  auto key = detail::timer_key(fire_at, *seq);
  DURACTOR_TRY(put(t.timers, key, encode_timer(timer)));
  DURACTOR_TRY(put(t.timer_index, detail::scheduled_key(id, execution, scheduled_id), key));
  return timer;
}

Result<std::optional<WorkItem>> Tx::remove_work(std::uint64_t work_id) {
  auto key = detail::work_key(work_id);
  auto raw = get(t.work, key);
  if (!raw) return fail(raw.error());
  if (!*raw) return std::optional<WorkItem>();
  auto item = decode_work_item(**raw);
  if (!item) return fail(corrupt("work item " + std::to_string(work_id), item.error()));
  auto d = del(t.work, key);
  if (!d) return fail(d.error());
  d = del(t.work_index, detail::scheduled_key(item->instance, item->execution, item->scheduled_id));
  if (!d) return fail(d.error());
  return std::optional<WorkItem>(std::move(*item));
}

Result<std::optional<TimerEntry>> Tx::remove_timer(const TimerKey& key) {
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

Result<std::vector<std::uint64_t>> Tx::drop_pending(const InstanceId& id, ExecutionId execution) {
  auto prefix = execution == 0 ? instance_prefix(id) : execution_key(id, execution);
  std::vector<std::uint64_t> work_ids;
  auto st =
      scan_prefix(t.work_index, prefix, [&](std::string_view, std::string_view v) -> Result<bool> {
        if (v.size() == 8) work_ids.push_back(detail::get_be64(v));
        return true;
      });
  if (!st) return fail(st.error());
  for (auto w : work_ids) {
    auto r = remove_work(w);
    if (!r) return fail(r.error());
  }
  std::vector<std::string> timer_keys;
  st =
      scan_prefix(t.timer_index, prefix, [&](std::string_view, std::string_view v) -> Result<bool> {
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

}  // namespace duractor::detail
