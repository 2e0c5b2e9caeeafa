// The LMDB store's reads, each in its own read transaction on the calling thread: instances,
// executions, history, inboxes, timers, work, listings, subscriptions, export and stats.

#include "duractor/store/lmdb_store.h"

#include <sys/stat.h>

#include <algorithm>

#include "duractor/runtime/detail/codec.h"
#include "duractor/store/detail/keys.h"
#include "duractor/store/detail/lmdb_impl.h"

namespace duractor {

using detail::execution_key;
using detail::instance_prefix;
using detail::Tx;

Result<InstanceInfo> LmdbStore::read_instance(const InstanceId& id) {
  return impl_->read([&](Tx& tx) { return tx.existing_instance(id); });
}

Result<std::vector<ExecutionInfo>> LmdbStore::read_executions(const InstanceId& id) {
  return impl_->read([&](Tx& tx) -> Result<std::vector<ExecutionInfo>> {
    auto info = tx.existing_instance(id);
    if (!info) return fail(info.error());
    auto oldest = tx.oldest_execution(*info);
    if (!oldest) return fail(oldest.error());
    std::vector<ExecutionInfo> out;
    for (ExecutionId x = std::max<ExecutionId>(*oldest, 1); x <= info->execution; ++x) {
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
    auto oldest = tx.oldest_execution(*info);
    if (!oldest) return fail(oldest.error());
    if (execution < *oldest) {
      return fail(ErrorCode::kNotFound, "execution " + std::to_string(execution) +
                                            " of instance '" + id +
                                            "' was pruned (the oldest kept is execution " +
                                            std::to_string(*oldest) + ")");
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
                                  if (!m)
                                    return fail(tx.corrupt("inbox of '" + id + "'", m.error()));
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

Result<std::vector<InboxDepth>> LmdbStore::inbox_depths(const std::string& after, std::size_t max) {
  return impl_->read([&](Tx& tx) -> Result<std::vector<InboxDepth>> {
    std::vector<InboxDepth> out;
    std::string start = after.empty() ? std::string() : after + '\x01';
    DURACTOR_TRY(tx.scan_from(
        tx.tables().inbox, start, [&](std::string_view k, std::string_view v) -> Result<bool> {
          auto id = detail::id_of_key(k);
          if (!id) return true;
          if (!out.empty() && out.back().instance == *id) {
            ++out.back().messages;
            return true;
          }
          if (max != 0 && out.size() >= max) return false;
          auto m = decode_message(v);
          if (!m) {
            return fail(tx.corrupt("inbox of '" + std::string(*id) + "'", m.error()));
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
    auto oldest = tx.oldest_execution(image.info);
    if (!oldest) return fail(oldest.error());
    for (ExecutionId x = std::max<ExecutionId>(*oldest, 1); x <= image.info.execution; ++x) {
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
          return fail(
              tx.corrupt("execution " + std::to_string(x) + " of '" + id + "'", record.error()));
        }
        execution.info = *record;
      }
      auto events = tx.history(id, x);
      if (!events) return fail(events.error());
      execution.events = std::move(*events);
      image.executions.push_back(std::move(execution));
    }
    auto prefix = instance_prefix(id);
    DURACTOR_TRY(
        tx.scan_prefix(t.inbox, prefix, [&](std::string_view, std::string_view v) -> Result<bool> {
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
    struct stat file {};
    if (::stat((s.path + "/data.mdb").c_str(), &file) == 0) {
      s.file_bytes = static_cast<std::uint64_t>(file.st_size);
    }
    const auto& t = tx.tables();
    s.instances = tx.entries(t.instance_ids);
    // Executions that continued as new have records; every started instance also has its
    // current execution.
    s.executions = tx.entries(t.executions);
    DURACTOR_TRY(
        tx.scan_from(t.instances, "", [&](std::string_view k, std::string_view v) -> Result<bool> {
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
    DURACTOR_TRY(
        tx.scan_from(t.journal, "", [&](std::string_view, std::string_view v) -> Result<bool> {
          auto record = decode_journal_record(v);
          if (record) s.history_events += record->events.size();
          return true;
        }));
    s.inbox_messages = tx.entries(t.inbox);
    s.work_items = tx.entries(t.work);
    s.timers = tx.entries(t.timers);
    s.subscriptions = tx.entries(t.subscriptions);
    s.message_ids = t.message_ids_open ? tx.entries(t.message_ids) : 0;
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

}  // namespace duractor
