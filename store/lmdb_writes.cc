// The LMDB store's write bodies (creating instances, committing turns, completing work,
// firing timers, publishing, deleting, importing), each run by the writer inside its batch's
// transaction, and the Store calls that queue them.

#include <algorithm>
#include <unordered_set>

#include "duractor/runtime/detail/codec.h"
#include "duractor/store/detail/inbox_checks.h"
#include "duractor/store/detail/keys.h"
#include "duractor/store/detail/lmdb_impl.h"

namespace duractor {

using detail::execution_key;
using detail::history_key;
using detail::inbox_key;
using detail::instance_prefix;
using detail::Tx;

namespace {

// The checks Store::import_instance documents for a malformed image.
Status validate_image(const InstanceImage& image) {
  const auto& info = image.info;
  DURACTOR_TRY(validate_instance_id(info.id));
  DURACTOR_TRY(validate_name(info.name, "orchestration name"));
  auto bad = [&](const std::string& why) {
    return fail(ErrorCode::kInvalidArgument, "image of instance '" + info.id + "': " + why);
  };
  // Executions older than the first may be missing: pruned (Store::prune_executions). The
  // ones there are numbered on without gaps, up to the current one.
  const std::size_t count = image.executions.size();
  if (count > info.execution || (info.execution != 0 && count == 0) ||
      (count != 0 && image.executions.back().info.execution != info.execution)) {
    return bad("its record names execution " + std::to_string(info.execution) + " but it has " +
               std::to_string(count) + " executions" +
               (count == 0 ? std::string()
                           : ", the last numbered " +
                                 std::to_string(image.executions.back().info.execution) +
                                 " (they must end with the current one; only older ones may "
                                 "be missing, pruned)"));
  }
  const ExecutionId first = info.execution - static_cast<ExecutionId>(count) + 1;
  for (std::size_t i = 0; i < count; ++i) {
    const auto& x = image.executions[i];
    auto number = std::to_string(first + i);
    if (x.info.execution != first + i) {
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

Result<CreateOutcome> LmdbStore::Impl::create_instance(Tx& tx, const NewInstance& r) {
  DURACTOR_TRY(validate_instance_id(r.id));
  DURACTOR_TRY(validate_name(r.name, "orchestration name"));
  auto existing = tx.instance(r.id);
  if (!existing) return fail(existing.error());
  if (*existing) {
    const auto& e = **existing;
    if (r.idempotent && e.name == r.name && e.input == r.input) {
      return CreateOutcome::kAlreadyExisted;
    }
    std::string why = "instance '" + r.id + "' already exists (orchestration '" + e.name + "', " +
                      std::string(to_string(e.status)) + ")";
    if (r.idempotent) {
      why += e.name != r.name ? "; the repeated start names orchestration '" + r.name + "'"
                              : "; the repeated start has a different input";
    }
    return fail(ErrorCode::kAlreadyExists, why);
  }
  DURACTOR_TRY(create_child(tx, r.id, r.name, r.version, r.input, std::nullopt));
  return CreateOutcome::kCreated;
}

Status LmdbStore::Impl::create_child(Tx& tx, const InstanceId& id, const std::string& name,
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
  if (parent)
    DURACTOR_TRY(tx.put(tx.tables().children, detail::child_key(parent->instance, id), ""));
  return {};
}

namespace {

// Pause (`pause`) or Resume: refused with kFailedPrecondition for a finished instance, and
// unless the instance would be running (paused) when its turn takes the message: as its
// status says, after the Pause and Resume messages already waiting in its inbox.
Status check_pause_request(Tx& tx, const InstanceInfo& info, bool pause) {
  const std::string what = pause ? "paused" : "resumed";
  if (is_terminal(info.status)) {
    return fail(ErrorCode::kFailedPrecondition, "instance '" + info.id + "' has " +
                                                    std::string(to_string(info.status)) +
                                                    "; it cannot be " + what);
  }
  bool paused = info.status == InstanceStatus::kPaused;
  DURACTOR_TRY(tx.scan_prefix(tx.tables().inbox, instance_prefix(info.id),
                              [&](std::string_view, std::string_view v) -> Result<bool> {
                                auto m = decode_message(v);
                                if (!m)
                                  return fail(tx.corrupt("inbox of '" + info.id + "'", m.error()));
                                if (std::holds_alternative<message::Pause>(m->message))
                                  paused = true;
                                if (std::holds_alternative<message::Resume>(m->message))
                                  paused = false;
                                return true;
                              }));
  if (pause && paused) {
    return fail(ErrorCode::kFailedPrecondition,
                "instance '" + info.id + "' is already paused (or a pause of it waits)");
  }
  if (!pause && !paused) {
    return fail(ErrorCode::kFailedPrecondition, "instance '" + info.id + "' is not paused (it is " +
                                                    std::string(to_string(info.status)) + ")");
  }
  return {};
}

}  // namespace

Result<std::uint64_t> LmdbStore::Impl::enqueue(Tx& tx, const InstanceId& id, InboxMessage message) {
  DURACTOR_TRY(detail::validate_inbox_message(id, message));
  auto info = tx.existing_instance(id);
  if (!info) return fail(info.error());
  bool pause = std::holds_alternative<message::Pause>(message);
  if (pause || std::holds_alternative<message::Resume>(message)) {
    DURACTOR_TRY(check_pause_request(tx, *info, pause));
    return tx.append_inbox(id, std::move(message));
  }
  bool from_outside = std::holds_alternative<message::Event>(message) ||
                      std::holds_alternative<message::Cancel>(message);
  if (from_outside && is_terminal(info->status)) {
    return fail(ErrorCode::kFailedPrecondition,
                "instance '" + id + "' has " + std::string(to_string(info->status)) +
                    "; it accepts no more " +
                    (std::holds_alternative<message::Event>(message) ? "events" : "cancellations"));
  }
  return tx.append_inbox(id, std::move(message));
}

Result<LmdbStore::Impl::CommitResult> LmdbStore::Impl::commit_turn(Tx& tx, const TurnCommit& t) {
  const InstanceId& id = t.lock.instance;
  auto info_r = tx.instance(id);
  if (!info_r) return fail(info_r.error());
  if (!*info_r) {
    return fail(ErrorCode::kNotFound, "instance '" + id + "' no longer exists (deleted)");
  }
  DURACTOR_TRY(lease_table.check_lock(t.lock));
  InstanceInfo info = std::move(**info_r);
  CommitResult result;

  // Which execution, and do the event ids continue it?
  bool new_execution = t.execution == info.execution + 1;
  if (!new_execution && t.execution != info.execution) {
    return fail(ErrorCode::kInvalidArgument, "turn for execution " + std::to_string(t.execution) +
                                                 " of '" + id + "', whose current execution is " +
                                                 std::to_string(info.execution));
  }
  EventId last = 0;
  if (new_execution) {
    const auto* started =
        t.events.empty() ? nullptr : std::get_if<event::ExecutionStarted>(&t.events.front().body);
    if (started == nullptr || t.events.front().id != 1) {
      return fail(ErrorCode::kInvalidArgument, "turn starting execution " +
                                                   std::to_string(t.execution) + " of '" + id +
                                                   "' must begin with ExecutionStarted #1");
    }
  } else if (info.execution == 0) {
    // Before the first execution, a turn appends no events: it only consumes messages and
    // sets the status between pending and paused (a pause or resume of an instance that has
    // not started). Anything else needs an execution.
    if (!t.events.empty()) {
      return fail(ErrorCode::kInvalidArgument, "instance '" + id + "' has no execution " +
                                                   std::to_string(t.execution) +
                                                   " yet; its first turn must start one");
    }
    const auto& u = t.update;
    bool only_pause = t.work.empty() && t.timers.empty() && t.outbound.empty() &&
                      t.finished_work.empty() && t.fired_timers.empty() && t.subscribe.empty() &&
                      t.unsubscribe.empty() && t.publications.empty() && !u.name && !u.version &&
                      !u.output && !u.failure && !u.custom_status &&
                      (!u.status || *u.status == InstanceStatus::kPending ||
                       *u.status == InstanceStatus::kPaused);
    if (!only_pause) {
      return fail(ErrorCode::kInvalidArgument,
                  "instance '" + id +
                      "' has not started: a turn without events may only consume messages and "
                      "set it pending or paused");
    }
  } else {
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
  for (const auto& p : t.publications) DURACTOR_TRY(validate_name(p.topic, "topic name"));

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
    DURACTOR_TRY(
        tx.put(tx.tables().executions, execution_key(id, t.execution), encode_execution(done)));
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

  // Publications (ctx.publish), to the subscriptions as they stand now.
  for (const auto& p : t.publications) {
    auto receipt = publish(tx, p.topic, p.payload);
    if (!receipt) return fail(receipt.error());
    auto& woken = result.out.woken;
    for (const auto& who : receipt->delivered) {
      if (std::find(woken.begin(), woken.end(), who) == woken.end()) woken.push_back(who);
    }
    result.out.published.push_back(std::move(*receipt));
  }
  if (!t.publications.empty()) DURACTOR_TRY(tx.fault("commit_turn.publications", id));

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

Status LmdbStore::Impl::deliver(Tx& tx, const InstanceId& from, const OutboundMessage& m,
                                TurnCommitted& out) {
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
      DURACTOR_TRY(
          create_child(tx, m.target, start->name, start->version, start->input, start->parent));
      note(m.target);
      return {};
    }
    if (!start->parent) {
      out.undelivered.push_back(
          "detached orchestration '" + start->name + "' as '" + m.target +
          "': " + (valid ? "the instance id is already taken" : valid.error().message));
    } else {
      message::ChildResult failure;
      failure.execution = start->parent->execution;
      failure.scheduled_id = start->parent->scheduled_id;
      failure.failure = FailureDetails{
          .category = ErrorCategory::kConfiguration,
          .type = "duractor::InstanceAlreadyExists",
          .message = valid ? "cannot start sub-orchestration '" + start->name + "': instance id '" +
                                 m.target + "' is already taken"
                           : "cannot start sub-orchestration '" + start->name +
                                 "': " + valid.error().message,
          .kind = valid ? FailureKind::kAlreadyExists : FailureKind::kInvalidArgument};
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
    out.undelivered.push_back((event ? "event '" + event->name + "'" : std::string("a message")) +
                              " to '" + m.target + "': no such instance");
    return {};
  }
  auto seq = tx.append_inbox(m.target, m.message);
  if (!seq) return fail(seq.error());
  note(m.target);
  return {};
}

Result<InstanceId> LmdbStore::Impl::complete_work(Tx& tx, const WorkLease& lease,
                                                  message::ActivityResult result) {
  DURACTOR_TRY(lease_table.check_lease(lease));
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

Status LmdbStore::Impl::record_delivery(Tx& tx, const WorkLease& lease, std::uint32_t deliveries) {
  DURACTOR_TRY(lease_table.check_lease(lease));
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

Result<std::uint32_t> LmdbStore::Impl::count_turn_delivery(Tx& tx, const InstanceLock& lock) {
  const InstanceId& id = lock.instance;
  auto exists = tx.instance_row(id);
  if (!exists) return fail(exists.error());
  if (!*exists) return fail(ErrorCode::kNotFound, "no instance '" + id + "'");
  DURACTOR_TRY(lease_table.check_lock(lock));
  auto raw = tx.get(tx.tables().turn_deliveries, id);
  if (!raw) return fail(raw.error());
  std::uint32_t count = 0;
  if (*raw) {
    if ((*raw)->size() != 4) {
      return fail(
          ErrorCode::kCorrupt,
          "store " + options.path + ": turn-delivery count of instance '" + id + "' is malformed");
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

Result<std::vector<InstanceId>> LmdbStore::Impl::fire_timers(Tx& tx,
                                                             const std::vector<TimerKey>& keys) {
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

Result<PublishReceipt> LmdbStore::Impl::publish(Tx& tx, const std::string& topic,
                                                const Bytes& payload) {
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

Result<std::vector<InstanceInfo>> LmdbStore::Impl::family(Tx& tx, const InstanceId& root,
                                                          bool cascade) {
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

Result<DeleteSummary> LmdbStore::Impl::delete_instance(Tx& tx, const InstanceId& id,
                                                       const DeleteOptions& o) {
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

Result<std::uint64_t> LmdbStore::Impl::import_instance(Tx& tx, const InstanceImage& image) {
  DURACTOR_TRY(validate_image(image));
  const auto& info = image.info;
  const auto& id = info.id;
  const auto& t = tx.tables();
  auto existing = tx.instance(id);
  if (!existing) return fail(existing.error());
  if (*existing) {
    return fail(ErrorCode::kAlreadyExists, "instance '" + id + "' already exists (orchestration '" +
                                               (*existing)->name + "', " +
                                               std::string(to_string((*existing)->status)) + ")");
  }
  DURACTOR_TRY(tx.put_instance(info));
  // History goes straight to the history table, not to the journal: the journal is this
  // process's runtime's, indexed in its memory (see docs/storage-format.md).
  std::uint64_t events = 0;
  for (const auto& x : image.executions) {
    if (x.info.continued_as_new) {
      DURACTOR_TRY(
          tx.put(t.executions, execution_key(id, x.info.execution), encode_execution(x.info)));
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

Result<LmdbStore::Impl::PruneResult> LmdbStore::Impl::prune_executions(Tx& tx, const InstanceId& id,
                                                                       std::uint32_t keep_last) {
  if (keep_last == 0) {
    return fail(ErrorCode::kInvalidArgument,
                "cannot prune instance '" + id +
                    "' keeping 0 executions: the current execution is always kept (keep at "
                    "least 1)");
  }
  auto info = tx.existing_instance(id);
  if (!info) return fail(info.error());
  auto oldest = tx.oldest_execution(*info);
  if (!oldest) return fail(oldest.error());
  PruneResult result;
  auto& summary = result.summary;
  summary.oldest_kept = *oldest;
  const ExecutionId current = info->execution;
  // Kept: the last keep_last executions up to the current one (keep_from..current).
  const ExecutionId keep_from = current > keep_last ? current - keep_last + 1 : 1;
  if (current == 0 || *oldest >= keep_from) return result;

  const auto& t = tx.tables();
  auto from = execution_key(id, *oldest), to = execution_key(id, keep_from);
  auto events = tx.erase_range(t.history, from, to);
  if (!events) return fail(events.error());
  summary.events += *events;
  auto journaled = tx.erase_journal(id, keep_from, &result.erased);
  if (!journaled) return fail(journaled.error());
  summary.events += *journaled;
  DURACTOR_TRY(tx.fault("prune_executions.history", id));
  auto records = tx.erase_range(t.executions, from, to);
  if (!records) return fail(records.error());
  summary.first_pruned = *oldest;
  summary.executions = keep_from - *oldest;
  summary.oldest_kept = keep_from;
  return result;
}

void LmdbStore::create_instance_async(NewInstance request, Callback<CreateOutcome> done) {
  auto* impl = impl_.get();
  impl->submit<CreateOutcome>(
      [impl, r = std::move(request)](Tx& tx) { return impl->create_instance(tx, r); },
      std::move(done));
}

void LmdbStore::enqueue_async(InstanceId instance, InboxMessage message,
                              Callback<std::uint64_t> done) {
  auto* impl = impl_.get();
  impl->submit<std::uint64_t>([impl, id = std::move(instance),
                               m = std::move(message)](Tx& tx) { return impl->enqueue(tx, id, m); },
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
        impl->lease_table.forget_leases(r.removed_work);
        impl->journal_records += r.journaled;
      });
}

void LmdbStore::complete_work_async(WorkLease lease, message::ActivityResult result,
                                    Callback<InstanceId> done) {
  auto* impl = impl_.get();
  impl->submit<InstanceId>(
      [impl, lease, r = std::move(result)](Tx& tx) { return impl->complete_work(tx, lease, r); },
      std::move(done),
      [impl, item = lease.item](const InstanceId&) { impl->lease_table.forget_leases({item}); });
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
  impl->submit<PublishReceipt>([impl, t = std::move(topic),
                                p = std::move(payload)](Tx& tx) { return impl->publish(tx, t, p); },
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
void LmdbStore::prune_executions_async(InstanceId id, std::uint32_t keep_last,
                                       Callback<PruneSummary> done) {
  auto* impl = impl_.get();
  auto answer = std::make_shared<Callback<PruneSummary>>(std::move(done));
  impl->submit<Impl::PruneResult>([impl, i = std::move(id), keep_last](
                                      Tx& tx) { return impl->prune_executions(tx, i, keep_last); },
                                  [answer](Result<Impl::PruneResult> r) {
                                    if (!r) {
                                      (*answer)(std::unexpected(r.error()));
                                    } else {
                                      (*answer)(std::move(r->summary));
                                    }
                                  },
                                  [impl](const Impl::PruneResult& r) {
                                    // The records are gone; their index entries would only be
                                    // skipped by readers.
                                    impl->forget_erased_journal(r.erased);
                                  });
}

}  // namespace duractor
