// The LMDB store's rewind and fork (Store::rewind_instance, Store::fork_instance): each one
// write run by the writer inside its batch's transaction. Where the history is cut and what
// must be created again is decided by store/detail/history_cut.h; this file reads and writes
// the tables.

#include "duractor/runtime/detail/codec.h"
#include "duractor/store/detail/history_cut.h"
#include "duractor/store/detail/keys.h"
#include "duractor/store/detail/lmdb_impl.h"

namespace duractor {

using detail::execution_key;
using detail::history_key;
using detail::inbox_key;
using detail::instance_prefix;
using detail::Tx;

namespace {

constexpr int kMaxRewindDepth = 64;  // sub-orchestrations rewound inside each other

// The topics an instance is subscribed to after events 1..upto of execution `last` (the
// executions before it in full: subscriptions outlive continue-as-new).
Result<std::vector<std::string>> topics_until(Tx& tx, const InstanceInfo& info, ExecutionId last,
                                              const std::vector<HistoryEvent>& last_events,
                                              EventId upto) {
  std::vector<std::string> topics;
  auto oldest = tx.oldest_execution(info);
  if (!oldest) return fail(oldest.error());
  for (ExecutionId x = *oldest; x != 0 && x < last; ++x) {
    auto events = tx.history(info.id, x);
    if (!events) return fail(events.error());
    detail::apply_topics(topics, *events, events->size());
  }
  detail::apply_topics(topics, last_events, upto);
  return topics;
}

Status subscribe(Tx& tx, const InstanceId& id, const std::vector<std::string>& topics) {
  for (const auto& topic : topics) {
    DURACTOR_TRY(tx.put(tx.tables().subscriptions, detail::pair_key(topic, id), ""));
    DURACTOR_TRY(tx.put(tx.tables().instance_topics, detail::pair_key(id, topic), ""));
  }
  return {};
}

// The execution a result message in the inbox is for (unset: not a result).
std::optional<ExecutionId> result_execution(const InboxMessage& m) {
  if (const auto* a = std::get_if<message::ActivityResult>(&m)) return a->execution;
  if (const auto* t = std::get_if<message::TimerFired>(&m)) return t->execution;
  if (const auto* c = std::get_if<message::ChildResult>(&m)) return c->execution;
  return std::nullopt;
}

}  // namespace

Result<LmdbStore::Impl::RewindResult> LmdbStore::Impl::rewind_instance(Tx& tx,
                                                                       const InstanceId& id) {
  RewindResult result;
  DURACTOR_TRY(rewind_one(tx, id, result, 0));
  return result;
}

Status LmdbStore::Impl::rewind_one(Tx& tx, const InstanceId& id, RewindResult& result, int depth) {
  const auto& t = tx.tables();
  auto loaded = tx.existing_instance(id);
  if (!loaded) return fail(loaded.error());
  InstanceInfo info = std::move(*loaded);
  if (info.status != InstanceStatus::kFailed) {
    return fail(ErrorCode::kFailedPrecondition, "cannot rewind instance '" + id + "': it is " +
                                                    std::string(to_string(info.status)) +
                                                    "; only a failed instance can be rewound");
  }
  const ExecutionId execution = info.execution;
  std::vector<HistoryEvent> events;
  if (execution != 0) {
    auto read = tx.history(id, execution);
    if (!read) return fail(read.error());
    events = std::move(*read);
  }
  auto planned = detail::plan_rewind(id, execution, events);
  if (!planned) return fail(planned.error());
  auto& plan = *planned;

  // The children the kept history waits for: each must still be there, linked to this
  // execution, and either running on (it reports back when it ends), completed (its result
  // is delivered again: this instance had ended when it came) or failed (rewound too).
  std::vector<InboxMessage> child_results;
  for (const auto& c : plan.outstanding.children) {
    auto child = tx.instance(c.instance);
    if (!child) return fail(child.error());
    const std::string what = "sub-orchestration '" + c.name + "' (instance '" + c.instance +
                             "', event " + std::to_string(c.scheduled_id) + ")";
    ParentLink link{id, execution, c.scheduled_id};
    if (!*child || (*child)->parent != link) {
      return fail(ErrorCode::kFailedPrecondition,
                  "cannot rewind instance '" + id + "': " + what +
                      " would have to run again, but " +
                      (!*child ? std::string("that instance no longer exists")
                               : std::string("that instance is not this execution's child (the id "
                                             "was taken when it was started)")));
    }
    switch ((*child)->status) {
      case InstanceStatus::kPending:
      case InstanceStatus::kRunning:
      case InstanceStatus::kPaused:
        break;
      case InstanceStatus::kCompleted:
        child_results.emplace_back(
            message::ChildResult{execution, c.scheduled_id, (*child)->output, std::nullopt});
        break;
      case InstanceStatus::kFailed:
        if (depth + 1 > kMaxRewindDepth) {
          return fail(ErrorCode::kFailedPrecondition,
                      "cannot rewind instance '" + id + "': its failed sub-orchestrations nest " +
                          "deeper than " + std::to_string(kMaxRewindDepth) + " levels");
        }
        DURACTOR_TRY(rewind_one(tx, c.instance, result, depth + 1));
        break;
      case InstanceStatus::kCancelled:
      case InstanceStatus::kTerminated:
        return fail(ErrorCode::kFailedPrecondition,
                    "cannot rewind instance '" + id + "': " + what + " was " +
                        std::string(to_string((*child)->status)) +
                        ", and a rewind does not restart a cancelled child");
    }
  }

  // History: the execution's events go (history table and journal) and the kept ones are
  // written back to the history table (the journal is the runtime's; see storage-format.md).
  if (execution != 0) {
    auto erased =
        tx.erase_range(t.history, execution_key(id, execution), execution_key(id, execution + 1));
    if (!erased) return fail(erased.error());
    auto journaled = tx.erase_journal_of(id, execution, &result.erased);
    if (!journaled) return fail(journaled.error());
    for (EventId i = 0; i < plan.kept; ++i) {
      const auto& e = events[i];
      DURACTOR_TRY(tx.put(t.history, history_key(id, execution, e.id), encode_event(e)));
    }
  }
  DURACTOR_TRY(tx.fault("rewind_instance.history", id));

  // Inbox: results for the failed execution still waiting are dropped (the work is created
  // again); what woke the code after the cut is delivered again, in order.
  std::vector<std::uint64_t> stale;
  DURACTOR_TRY(tx.scan_prefix(t.inbox, instance_prefix(id),
                              [&](std::string_view, std::string_view v) -> Result<bool> {
                                auto m = decode_message(v);
                                if (!m) return fail(tx.corrupt("inbox of '" + id + "'", m.error()));
                                if (result_execution(m->message) == execution) {
                                  stale.push_back(m->seq);
                                }
                                return true;
                              }));
  for (auto seq : stale) DURACTOR_TRY(tx.del(t.inbox, inbox_key(id, seq)));
  bool woken = false;
  for (auto* list : {&plan.redeliver, &child_results}) {
    for (auto& m : *list) {
      auto seq = tx.append_inbox(id, std::move(m));
      if (!seq) return fail(seq.error());
      woken = true;
    }
  }

  // Work and timers the kept history waits for.
  for (const auto& w : plan.outstanding.work) {
    auto item =
        tx.add_work(id, execution, w.scheduled_id, w.activity, w.input, w.attempt, tx.now(), 0);
    if (!item) return fail(item.error());
    result.summary.work.push_back(std::move(*item));
  }
  // Time stood still while the instance was failed: each timer fires as long after the
  // rewind as it was due after the failure (a timeout of a call that runs again gets its
  // time back); one due before the failure fires at once.
  const auto failed_at = events.empty() ? tx.now() : events.back().timestamp;
  const auto shift = tx.now() > failed_at ? tx.now() - failed_at : TimePoint::duration{0};
  for (const auto& timer : plan.outstanding.timers) {
    auto restarted = plan.restarted_timers.find(timer.scheduled_id);
    auto fire_at = restarted != plan.restarted_timers.end() ? tx.now() + restarted->second
                                                            : timer.fire_at + shift;
    auto added = tx.add_timer(id, execution, timer.scheduled_id, fire_at);
    if (!added) return fail(added.error());
    result.summary.timers.push_back(std::move(*added));
  }
  DURACTOR_TRY(tx.fault("rewind_instance.pending", id));

  // Subscriptions ended with the failure; the kept history says which it had.
  auto topics = topics_until(tx, info, execution, events, plan.kept);
  if (!topics) return fail(topics.error());
  DURACTOR_TRY(tx.drop_subscriptions(id));
  DURACTOR_TRY(subscribe(tx, id, *topics));

  // The record: running again (or, with nothing kept, back before the execution started).
  if (plan.kept == 0 && execution != 0) info.execution = execution - 1;
  info.status = info.execution == 0 ? InstanceStatus::kPending : InstanceStatus::kRunning;
  info.completed_at.reset();
  info.failure.reset();
  info.output = Bytes();
  info.custom_status = plan.outstanding.custom_status;
  info.updated_at = tx.now();
  DURACTOR_TRY(tx.put_instance(info));
  DURACTOR_TRY(tx.del(t.turn_deliveries, id));

  if (depth == 0) {
    result.summary.execution = execution;
    result.summary.kept = plan.kept;
    result.summary.dropped = events.size() - plan.kept;
  }
  result.summary.rewound.push_back(id);
  if (woken) result.summary.woken.push_back(id);
  return {};
}

Result<ForkSummary> LmdbStore::Impl::fork_instance(Tx& tx, const ForkRequest& r) {
  if (auto valid = validate_instance_id(r.target); !valid) {
    return fail(ErrorCode::kInvalidArgument,
                "cannot fork instance '" + r.source +
                    "': the new instance's id is invalid: " + valid.error().message);
  }
  auto source = tx.existing_instance(r.source);
  if (!source) return fail(source.error());
  auto taken = tx.instance(r.target);
  if (!taken) return fail(taken.error());
  if (*taken) {
    return fail(ErrorCode::kAlreadyExists,
                "cannot fork into instance '" + r.target + "': it already exists (orchestration '" +
                    (*taken)->name + "', " + std::string(to_string((*taken)->status)) + ")");
  }
  const ExecutionId execution = r.execution != 0 ? r.execution : source->execution;
  std::vector<HistoryEvent> events;
  if (execution != 0) {
    auto oldest = tx.oldest_execution(*source);
    if (!oldest) return fail(oldest.error());
    if (execution > source->execution) {
      return fail(ErrorCode::kNotFound, "instance '" + r.source + "' has no execution " +
                                            std::to_string(execution) + " (its current one is " +
                                            std::to_string(source->execution) + ")");
    }
    if (execution < *oldest) {
      return fail(ErrorCode::kNotFound, "execution " + std::to_string(execution) + " of '" +
                                            r.source + "' was pruned (the oldest kept is " +
                                            std::to_string(*oldest) + ")");
    }
    auto read = tx.history(r.source, execution);
    if (!read) return fail(read.error());
    events = std::move(*read);
  }
  auto copy = detail::plan_fork(r, execution, events);
  if (!copy) return fail(copy.error());
  const auto& started = std::get<event::ExecutionStarted>(copy->events.front().body);

  const auto& t = tx.tables();
  InstanceInfo info;
  info.id = r.target;
  info.name = started.name;
  info.version = started.version;
  info.status = InstanceStatus::kRunning;
  info.execution = 1;
  info.created_at = info.updated_at = tx.now();
  info.input = started.input;
  info.custom_status = copy->outstanding.custom_status;
  info.forked_from = ForkOrigin{r.source, execution, r.at};
  DURACTOR_TRY(tx.put_instance(info));
  for (const auto& e : copy->events) {
    DURACTOR_TRY(tx.put(t.history, history_key(r.target, 1, e.id), encode_event(e)));
  }
  DURACTOR_TRY(tx.fault("fork_instance.history", r.target));

  ForkSummary summary;
  summary.instance = r.target;
  summary.origin = *info.forked_from;
  for (const auto& w : copy->outstanding.work) {
    auto item =
        tx.add_work(r.target, 1, w.scheduled_id, w.activity, w.input, w.attempt, tx.now(), 0);
    if (!item) return fail(item.error());
    summary.work.push_back(std::move(*item));
  }
  for (const auto& timer : copy->outstanding.timers) {
    auto added = tx.add_timer(r.target, 1, timer.scheduled_id, timer.fire_at);
    if (!added) return fail(added.error());
    summary.timers.push_back(std::move(*added));
  }
  auto topics = topics_until(tx, *source, execution, events, r.at);
  if (!topics) return fail(topics.error());
  DURACTOR_TRY(subscribe(tx, r.target, *topics));
  return summary;
}

void LmdbStore::rewind_instance_async(InstanceId id, Callback<RewindSummary> done) {
  auto* impl = impl_.get();
  auto answer = std::make_shared<Callback<RewindSummary>>(std::move(done));
  impl->submit<Impl::RewindResult>(
      [impl, i = std::move(id)](Tx& tx) { return impl->rewind_instance(tx, i); },
      [answer](Result<Impl::RewindResult> r) {
        if (!r) {
          (*answer)(std::unexpected(r.error()));
        } else {
          (*answer)(std::move(r->summary));
        }
      },
      [impl](const Impl::RewindResult& r) {
        // The journal records of the rewound executions are gone (their kept events are in
        // the history table now).
        impl->forget_erased_journal(r.erased);
      });
}

void LmdbStore::fork_instance_async(ForkRequest request, Callback<ForkSummary> done) {
  auto* impl = impl_.get();
  impl->submit<ForkSummary>(
      [impl, r = std::move(request)](Tx& tx) { return impl->fork_instance(tx, r); },
      std::move(done));
}

}  // namespace duractor
