// The instance actor: owns one instance. It keeps the orchestration's coroutine alive in a
// ReplayEngine between turns, runs a turn whenever messages wait (its durable inbox, plus
// results delivered in memory by workers and the timer service), commits the turn through
// the store's group-committing writer, and only after the commit dispatches what the turn
// decided. Handlers are thin; the turn itself is ReplayEngine + plan_turn.
//
// Poison: before a turn processes messages that a previous process left (inbox messages,
// results of work items and timers at or below HostCore::inherited), the actor counts the
// turn's delivery durably (Store::count_turn_delivery; the commit resets it). The previous
// process is taken to have delivered it once already, so a count of n means delivery n + 1.
// A turn counted before, by a process that then died, is a suspect: suspects run one at a
// time (HostCore's SuspectGate, shared with suspect activities), each counted only when its turn
// comes, so that when one kills the process no bystander's count moves with it. Other inherited
// turns (the usual recovery after a crash) are counted and run concurrently. Past
// HostOptions::max_turn_deliveries the instance is failed as duractor::TurnPoisoned from the
// store's records, without running its code (plan_turn_without_code). Turns of messages this
// process saw arrive — nearly all of them — are not counted: no extra write.
//
// Pause: Pause and Resume messages are taken here, never by the code (pause_gate.h says
// which messages a turn may take). A paused instance takes no turns: its inbox keeps what
// arrives, and results delivered in memory are moved into it (an activity's result
// completes its work item, a fired timer fires in the store), so that a restart while it
// is paused neither loses them nor runs the activity again. Only a result whose write
// fails waits in `held`, in memory (the actor is not passivated while it holds some). A
// Resume lets everything through in its order. Whether the instance is paused is read
// from the store once (its status), then kept up to date by the commits.

#include <optional>

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>

#include "duractor/actors/detail/actor_messages.h"
#include "duractor/actors/detail/actors.h"
#include "duractor/actors/detail/pause_gate.h"
#include "duractor/actors/detail/turn_failure_policy.h"
#include "duractor/actors/detail/turn_without_code.h"

namespace duractor::detail {
namespace {

using namespace std::chrono_literals;

struct InstanceState {
  std::shared_ptr<HostCore> core;
  InstanceId id;
  caf::actor directory;
  ContextLogger log;

  std::unique_ptr<ReplayEngine> engine;
  std::optional<InstanceLock> lock;
  ExecutionId committed_execution = 0;  // what the store holds for the current execution
  EventId committed_length = 0;
  std::optional<FailureDetails> must_fail;  // fail the execution at the next turn
  bool broken = false;                      // the engine could not load the history

  std::vector<MemoryMessage> memory;      // results waiting for a turn
  std::vector<MemoryMessage> in_turn;     // results given to the turn in flight
  std::vector<MemoryMessage> held;        // results waiting for the instance to be resumed
  bool paused = false;                    // the instance is paused (as committed)
  bool paused_known = false;              // ... read from the store
  bool wake = false;                      // the inbox may hold messages
  bool in_flight = false;                 // a commit is under way
  bool counting = false;                  // a turn-delivery count is being written
  bool delivery_counted = false;          // ... and was written; reset by the next commit
  std::optional<std::uint32_t> poisoned;  // the turn is poison: delivered this often
  bool gate_waiting = false;              // queued for the recovery gate (HostCore)
  bool gate_held = false;                 // ... or holding it
  bool backing_off = false;               // waiting to retry after a failed turn
  bool idle_reported = false;
  bool stopping = false;
  std::uint32_t failures = 0;
  std::chrono::steady_clock::time_point turn_began;  // with metrics: when run_turn began
};

using Self = caf::stateful_actor<InstanceState>;

void maybe_turn(Self* self);

// Leaves the suspect gate (HostCore), if the actor holds it or waits for it.
void leave_gate(Self* self) {
  auto& s = self->state;
  if (!s.gate_held && !s.gate_waiting) return;
  s.gate_held = s.gate_waiting = false;
  s.core->suspect_gate.leave(self);
}

// The actor leaves; `deleted`: because the instance no longer exists (deleted here or by
// another process), so whatever results it still held are dropped.
void leave(Self* self, bool deleted) {
  auto& s = self->state;
  if (deleted) {
    s.log.debug("the instance no longer exists (deleted); dropping {} results delivered for it",
                s.memory.size() + s.in_turn.size());
    s.core->hub.gone(s.id);  // whoever waits for it to finish learns it never will
  }
  if (s.lock) s.core->store.unlock_instance(*s.lock);  // a no-op if it is no longer held
  s.lock.reset();
  leave_gate(self);
  self->quit();
}

// A turn failed: carry out the turn-failure policy (actors/detail/turn_failure_policy.h).
// The engine is dropped in any case, since its state may be ahead of the store; the next
// turn rebuilds it from the store.
void turn_failed(Self* self, const Error& error) {
  auto& s = self->state;
  leave_gate(self);
  s.engine.reset();
  auto decision = decide_after_failed_turn(error, s.failures + 1, s.must_fail.has_value(),
                                           s.core->options.max_turn_attempts,
                                           s.core->options.turn_retry_backoff);
  s.log.log(decision.level, "{}", decision.log_message);
  if (decision.action == AfterFailedTurn::kStop) {
    s.wake = false;
    return;
  }
  ++s.failures;
  if (decision.failure) s.must_fail = std::move(decision.failure);
  s.wake = true;
  s.backing_off = true;
  self->delayed_send(self, decision.delay, retry_atom::value);
}

void commit(Self* self, TurnPlan plan);

// The history cannot be read (a record does not decode), so there is no engine to end the
// execution: its failure is committed from the store's metadata instead (the execution's
// event count, the instance's parent), consuming what waits in the inbox. False if that is
// not possible either (the metadata cannot be read, or the execution has already ended).
bool fail_without_history(Self* self, const FailureDetails& failure) {
  auto& s = self->state;
  auto& store = s.core->store;
  auto info = store.read_instance(s.id);
  auto executions = store.read_executions(s.id);
  if (!info || !executions || executions->empty()) return false;
  const auto& last = executions->back();
  if (is_terminal(last.status) || last.continued_as_new) return false;
  std::vector<InboxEntry> inbox;
  if (auto read = store.read_inbox(s.id)) inbox = std::move(*read);
  auto plan = plan_turn_without_code(*s.lock, *info, *executions, inbox, s.memory, failure,
                                     s.core->registry, s.core->clock.now());
  if (!plan) return false;
  s.in_turn = std::move(s.memory);
  s.memory.clear();
  s.log.error("the history cannot be read; recording the failure without it: {}", failure.message);
  commit(self, std::move(*plan));
  return true;
}

// Takes the instance's turn lock if the actor does not hold it. False if the turn cannot
// go on (the instance is gone, or a failure was scheduled for retry).
bool ensure_locked(Self* self) {
  auto& s = self->state;
  if (s.lock) return true;
  auto lock = s.core->store.lock_instance(s.id, 24h);
  if (!lock) {
    if (lock.error().code == ErrorCode::kNotFound) {
      leave(self, true);
    } else {
      turn_failed(self, lock.error());
    }
    return false;
  }
  s.lock = *lock;
  return true;
}

// Makes sure the engine is loaded from the store. False if the turn cannot go on (the
// instance is gone, or a failure was scheduled for retry).
bool ensure_loaded(Self* self) {
  auto& s = self->state;
  auto& store = s.core->store;
  if (!ensure_locked(self)) return false;
  if (s.engine) return true;
  auto latest = store.read_latest_history(s.id);
  if (!latest) {
    if (latest.error().code == ErrorCode::kNotFound) {
      leave(self, true);
    } else if (!(s.must_fail && fail_without_history(self, *s.must_fail))) {
      turn_failed(self, latest.error());
    }
    return false;
  }
  s.engine = std::make_unique<ReplayEngine>(s.core->registry, s.id, EngineOptions{s.core->logger});
  s.broken = false;
  s.committed_execution = latest->execution;
  s.committed_length = latest->events.size();
  if (latest->execution == 0) return true;
  if (const auto* started = std::get_if<event::ExecutionStarted>(&latest->events.front().body)) {
    s.log = s.core->log(s.id + "/" + std::to_string(latest->execution) + " " + started->name);
  }
  auto began = std::chrono::steady_clock::now();
  auto loaded = s.engine->load(latest->execution, latest->events);
  if (auto* m = s.core->metrics) {
    m->history_replayed(s.engine->orchestration_name(), latest->events.size(),
                        std::chrono::steady_clock::now() - began);
  }
  if (!loaded) {
    const auto& e = loaded.error();
    if (e.code == ErrorCode::kNondeterminism || e.code == ErrorCode::kNotRegistered) {
      // Nondeterminism or a removed orchestration: waiting will not fix it.
      s.log.error("{}", e.message);
      s.broken = true;
      s.must_fail =
          FailureDetails{.category = ErrorCategory::kConfiguration,
                         .type = e.code == ErrorCode::kNondeterminism ? "duractor::Nondeterminism"
                                                                      : "duractor::NotRegistered",
                         .message = e.message,
                         .kind = failure_kind_of(e.code)};
      return true;
    }
    if (!e.retryable) {
      // A history the engine cannot replay (corrupt): end the execution without running it.
      s.log.error("the history cannot be replayed, failing the instance: {}", e.to_string());
      s.broken = true;
      if (!s.must_fail) s.must_fail = turn_failure(e, s.failures + 1);
      return true;
    }
    turn_failed(self, e);
    return false;
  }
  return true;
}

// The instance's record from the store; when it cannot be read, the actor leaves (the
// instance is gone) or the turn fails, and the result is empty.
std::optional<InstanceInfo> read_own_record(Self* self) {
  auto& s = self->state;
  auto info = s.core->store.read_instance(s.id);
  if (info) return std::move(*info);
  if (info.error().code == ErrorCode::kNotFound) {
    leave(self, true);
  } else {
    turn_failed(self, info.error());
  }
  return std::nullopt;
}

// An engine whose execution has ended may be out of date: the store may have rewound the
// instance since (Store::rewind_instance, from a client or the command line), while this
// actor had not left yet. When messages come for an ended engine, the store says whether the
// instance is still finished; if not, the engine is loaded again. False if the turn cannot
// go on (as ensure_loaded).
bool reload_if_rewound(Self* self, bool messages) {
  auto& s = self->state;
  if (!messages || !s.engine || !is_final(s.engine->outcome()) || s.must_fail) return true;
  auto info = read_own_record(self);
  if (!info) return false;
  if (is_terminal(info->status)) return true;
  s.log.info("the instance was rewound: its history is loaded again");
  s.engine.reset();
  s.paused = info->status == InstanceStatus::kPaused;
  s.paused_known = true;
  return ensure_loaded(self);
}

// The first payload or custom status of the turn's new events that is over its limit,
// described with its size and the limit.
std::optional<std::string> oversized(const TurnResult& turn, const HostOptions& options) {
  for (const auto& e : turn.new_events) {
    std::optional<std::size_t> size;
    std::string what;
    if (const auto* status = std::get_if<event::CustomStatusSet>(&e.body);
        status != nullptr && status->status.size() > options.max_custom_status_bytes) {
      return "the custom status is " + std::to_string(status->status.size()) +
             " bytes, over the custom status limit of " +
             std::to_string(options.max_custom_status_bytes) +
             " bytes (HostOptions::max_custom_status_bytes)";
    }
    std::visit(
        [&](const auto& b) {
          using T = std::decay_t<decltype(b)>;
          if constexpr (std::is_same_v<T, event::ActivityScheduled>) {
            size = b.input.size(), what = "the input of activity '" + b.name + "'";
          } else if constexpr (std::is_same_v<T, event::SubOrchestrationScheduled>) {
            // An awaited child with too large an input is refused in plan_turn, and its
            // parent gets a SubOrchestrationFailed it can catch; a detached one has nobody
            // to tell, so it fails this instance.
            if (b.detached) {
              size = b.input.size(),
              what = "the input of detached sub-orchestration '" + b.name + "'";
            }
          } else if constexpr (std::is_same_v<T, event::EventSent>) {
            size = b.payload.size(), what = "the payload of event '" + b.name + "'";
          } else if constexpr (std::is_same_v<T, event::TopicPublished>) {
            // Worded as the broker refuses Client::publish.
            size = b.payload.size(), what = "the payload of a publication on '" + b.topic + "'";
          } else if constexpr (std::is_same_v<T, event::ExecutionCompleted>) {
            size = b.output.size(), what = "the output";
          } else if constexpr (std::is_same_v<T, event::ContinuedAsNew>) {
            size = b.input.size(), what = "the input of the next execution";
          }
        },
        e.body);
    if (size && *size > options.max_payload_bytes) {
      return what + " is " + std::to_string(*size) + " bytes, over the payload limit of " +
             std::to_string(options.max_payload_bytes) + " bytes";
    }
  }
  return std::nullopt;
}

// An execution holds at most max_history_events events: the turn that would record more
// records the execution's failure instead. Why, if `turn` is such a turn.
std::optional<std::string> over_history_limit(const TurnResult& turn, EventId committed_length,
                                              const HostOptions& options) {
  auto length = (turn.started ? 0 : committed_length) + turn.new_events.size();
  auto limit = options.max_history_events;
  if (length <= limit) return std::nullopt;
  return "the history of execution " + std::to_string(turn.execution) + " reached the limit of " +
         std::to_string(limit) +
         " events (HostOptions::max_history_events): this turn would make it " +
         std::to_string(length) + "; use continue_as_new for long-running loops";
}

void commit(Self* self, TurnPlan plan) {
  auto& s = self->state;
  auto shared = std::make_shared<const TurnPlan>(std::move(plan));
  s.in_flight = true;
  auto me = caf::actor_cast<caf::actor>(self);
  s.core->store.commit_turn_async(shared->commit, [me, shared](Result<TurnCommitted> result) {
    caf::anon_send(me, committed_atom::value, CommitReply{std::move(result), shared});
  });
}

// Whether the turn would process a message that a previous process left, and so may have
// died processing (inbox seqs, work item ids and timer seqs at or below the marks it left).
bool inherited(const HostCore& core, const std::vector<InboxEntry>& inbox,
               const std::vector<MemoryMessage>& memory) {
  const auto& marks = core.inherited;
  if (!inbox.empty() && inbox.front().seq <= marks.inbox) return true;  // in seq order
  for (const auto& m : memory) {
    if (m.work && m.work->item <= marks.work) return true;
    if (m.timer && m.timer->seq <= marks.timer) return true;
  }
  return false;
}

// Counts the delivery of the turn about to run (see the top of this file); the turn runs
// when the count is written (on_counted).
void count_delivery(Self* self) {
  auto& s = self->state;
  s.counting = true;
  auto me = caf::actor_cast<caf::actor>(self);
  s.core->store.count_turn_delivery_async(*s.lock, [me](Result<std::uint32_t> result) {
    caf::anon_send(me, counted_atom::value, CountReply{std::move(result)});
  });
}

// The failure of an instance whose turn is poison.
FailureDetails poison_failure(const HostCore& core, std::uint32_t deliveries,
                              const std::vector<InboxEntry>& inbox,
                              const std::vector<MemoryMessage>& memory) {
  return FailureDetails{.category = ErrorCategory::kApplication,
                        .type = "duractor::TurnPoisoned",
                        .message = "a turn of this instance was delivered " +
                                   std::to_string(deliveries) +
                                   " times and the process died each time before it committed "
                                   "(HostOptions::max_turn_deliveries = " +
                                   std::to_string(core.options.max_turn_deliveries) +
                                   "); its code is not run again. The turn was delivering: " +
                                   describe_messages(inbox, memory),
                        .retryable = false,
                        .kind = FailureKind::kPoison};
}

// Ends a poisoned instance from the store's records, consuming what waits for it.
void commit_poisoned(Self* self, const std::vector<InboxEntry>& entries) {
  auto& s = self->state;
  auto& store = s.core->store;
  auto info = store.read_instance(s.id);
  if (!info) {
    if (info.error().code == ErrorCode::kNotFound) return leave(self, true);
    return turn_failed(self, info.error());
  }
  auto executions = store.read_executions(s.id);
  if (!executions) return turn_failed(self, executions.error());
  auto failure = poison_failure(*s.core, *s.poisoned, entries, s.memory);
  auto plan = plan_turn_without_code(*s.lock, *info, *executions, entries, s.memory, failure,
                                     s.core->registry, s.core->clock.now());
  if (!plan) return maybe_turn(self);
  if (plan->finished) {
    s.log.error("{}", failure.message);
    if (auto* m = s.core->metrics) m->turn_poisoned(plan->orchestration);
  }
  s.engine.reset();  // never loaded again: loading runs the code
  s.in_turn = std::move(s.memory);
  s.memory.clear();
  commit(self, std::move(*plan));
}

// Learns from the store whether the instance is paused (once: the commits keep it up to
// date). False if the turn cannot go on (the instance is gone, or a failure was scheduled).
bool know_paused(Self* self) {
  auto& s = self->state;
  if (s.paused_known) return true;
  auto info = read_own_record(self);
  if (!info) return false;
  s.paused = info->status == InstanceStatus::kPaused;
  s.paused_known = true;
  return true;
}

// Moves one result delivered in memory into the durable inbox of the paused instance.
// False if it must stay in memory (the write failed, or there is nothing to write with).
bool keep_durably(Self* self, const MemoryMessage& m) {
  auto& s = self->state;
  const auto* result = std::get_if<message::ActivityResult>(&m.message);
  std::optional<Error> failed;
  if (result != nullptr && m.work) {
    auto done = s.core->store.complete_work(*m.work, *result);
    if (!done && done.error().code == ErrorCode::kConflict) {
      // The item is gone (cancelled) or another attempt owns it: the result is dropped,
      // as complete_work says, and that attempt's result counts.
      s.log.debug("dropping the result of work item {}: {}", m.work->item,
                  done.error().to_string());
      return true;
    }
    if (!done) failed = done.error();
  } else if (m.timer) {
    auto done = s.core->store.fire_timers({*m.timer});
    if (!done) failed = done.error();
  } else {
    return false;
  }
  if (failed) {
    s.log.warn(
        "a result for the paused instance stays in memory until it is resumed "
        "(a restart before then runs its activity or timer again): {}",
        failed->to_string());
    return false;
  }
  return true;
}

// The results delivered in memory wait in the inbox until the instance is resumed. These
// are synchronous writes from the actor (as lease_work below), taken only while paused.
void hold(Self* self) {
  auto& s = self->state;
  for (auto& m : s.memory) {
    if (!keep_durably(self, m)) s.held.push_back(std::move(m));
  }
  s.memory.clear();
}

// Adds to `plan` what the pause gate decided: the Pause and Resume messages it consumes,
// and the status they leave (unless the turn ended the instance: its end wins).
void apply_pause(const PauseSplit& split, bool was_paused, const Outcome& outcome, TurnPlan& plan) {
  auto& c = plan.commit;
  c.consumed.insert(c.consumed.end(), split.control.begin(), split.control.end());
  bool ended = plan.finished || is_final(outcome);
  if (split.paused && !ended) {
    c.update.status = plan.status = InstanceStatus::kPaused;
    if (!was_paused) {
      plan.paused = true;
      plan.pause_reason = split.reason;
    }
  } else if (!split.paused && was_paused) {
    // Resumed; the messages that waited may have ended it in the same turn.
    if (!ended) c.update.status = plan.status = status_of(outcome);  // pending or running
    plan.paused = false;
  }
}

void run_turn(Self* self) {
  auto& s = self->state;
  s.wake = false;
  if (s.core->metrics != nullptr) s.turn_began = std::chrono::steady_clock::now();
  if (!ensure_locked(self)) return;
  auto inbox = s.core->store.read_inbox(s.id);
  if (!inbox && inbox.error().code == ErrorCode::kNotFound) return leave(self, true);
  if (inbox && !s.must_fail && !s.poisoned) {
    if (!know_paused(self)) return;
    if (s.paused && split_for_pause(*inbox, true, true).nothing()) {
      hold(self);  // paused, and nothing it may take: no turn (and no delivery counted)
      return maybe_turn(self);
    }
  }
  if (inbox && !s.delivery_counted && inherited(*s.core, *inbox, s.memory)) {
    // Counted before anything runs the code. A turn counted before (by a process that then
    // died) is a suspect: suspects run one at a time (SuspectGate).
    if (!s.gate_held) {
      auto prior = s.core->store.turn_deliveries(s.id);
      if (!prior) {
        if (prior.error().code == ErrorCode::kNotFound) return leave(self, true);
        return turn_failed(self, prior.error());
      }
      if (*prior > 0) {
        auto me = caf::actor_cast<caf::actor>(self);
        bool entered =
            s.core->suspect_gate.enter(self, [me] { caf::anon_send(me, gate_atom::value); });
        if (!entered) {
          s.gate_waiting = true;
          s.wake = true;  // run_turn again when the gate opens
          return;
        }
        s.gate_held = true;
      }
    }
    return count_delivery(self);
  }
  if (s.poisoned) {
    if (!inbox) return turn_failed(self, inbox.error());
    if (inbox->empty() && s.memory.empty()) return maybe_turn(self);
    return commit_poisoned(self, *inbox);
  }
  if (!ensure_loaded(self)) return;
  if (!reload_if_rewound(self, (inbox && !inbox->empty()) || !s.memory.empty())) return;
  if (!inbox) {
    // With a failure due, it is recorded without the messages that cannot be read.
    if (!s.must_fail || !s.engine->running()) return turn_failed(self, inbox.error());
    s.log.error("the inbox cannot be read; failing the instance without its messages: {}",
                inbox.error().to_string());
  }
  auto now = s.core->clock.now();
  std::vector<InboxEntry> entries;
  if (inbox) entries = std::move(*inbox);
  std::optional<PauseSplit> pause;  // unset: no pause gate (a failure is due, or it ended)
  if (!s.must_fail && !is_final(s.engine->outcome())) {
    // After a continue-as-new the next execution has not started either: its Start waits
    // in the inbox, and a terminate must go with it (so that it ends before code runs).
    bool started = !std::holds_alternative<outcome::NotStarted>(s.engine->outcome()) &&
                   !std::holds_alternative<outcome::ContinuedAsNew>(s.engine->outcome());
    pause = split_for_pause(entries, s.paused, started);
    entries = std::move(pause->run);
    if (pause->paused) {
      hold(self);
    } else {
      s.memory.insert(s.memory.begin(), s.held.begin(), s.held.end());  // resumed: their turn
      s.held.clear();
    }
  }
  s.in_turn = std::move(s.memory);
  s.memory.clear();
  for (std::size_t i = 0; i < s.in_turn.size(); ++i) {
    entries.push_back(InboxEntry{kMemorySeqBase + i, now, s.in_turn[i].message});
  }
  if (entries.empty() && !(s.must_fail && s.engine->running())) {
    if (!pause || pause->control.empty()) return maybe_turn(self);
    // Only Pause and Resume: a turn that runs no code and changes the status.
    TurnResult control;
    control.execution = s.engine->execution();
    control.outcome = s.engine->outcome();
    auto plan = plan_turn(*s.lock, *s.engine, control, s.in_turn);
    apply_pause(*pause, s.paused, control.outcome, plan);
    return commit(self, std::move(plan));
  }

  TurnResult turn;
  if (s.must_fail && is_final(s.engine->outcome())) s.must_fail.reset();  // nothing left to fail
  if (s.must_fail && s.broken) {
    // The code cannot run against its history: fail the execution without running it.
    turn = s.engine->fail_turn(*s.must_fail, s.committed_length, entries, now);
  } else {
    auto result = s.engine->run_turn(entries, now);
    if (!result) {
      s.memory.insert(s.memory.begin(), s.in_turn.begin(), s.in_turn.end());
      return turn_failed(self, result.error());
    }
    turn = std::move(*result);
    std::optional<FailureDetails> failure = s.must_fail;
    if (!failure) {
      auto why = oversized(turn, s.core->options);
      if (!why) why = over_history_limit(turn, s.committed_length, s.core->options);
      if (why) {
        s.log.error("{}", *why);
        failure = FailureDetails{.category = ErrorCategory::kConfiguration,
                                 .type = "duractor::LimitExceeded",
                                 .message = *why,
                                 .kind = FailureKind::kLimitExceeded};
      }
    }
    if (failure) {
      // Commit a failure instead of what the code did; the engine, now ahead of the store,
      // is rebuilt from the store at the next turn.
      std::optional<HistoryEvent> started;
      if (turn.started) started = turn.new_events.front();
      turn = failed_turn(turn.execution, turn.consumed, std::move(started), s.committed_length,
                         *failure, now);
      auto plan = plan_turn(*s.lock, *s.engine, turn, s.in_turn, s.core->options.max_payload_bytes);
      s.engine.reset();
      s.must_fail = failure;  // until the failure is committed
      return commit(self, std::move(plan));
    }
  }
  auto plan = plan_turn(*s.lock, *s.engine, turn, s.in_turn, s.core->options.max_payload_bytes);
  if (pause) apply_pause(*pause, s.paused, turn.outcome, plan);
  commit(self, std::move(plan));
}

void dispatch(Self* self, const TurnCommitted& committed, const TurnPlan& plan) {
  auto& s = self->state;
  auto& core = *s.core;
  for (const auto& item : committed.work) {
    auto lease = core.store.lease_work(item.id, core.options.work_lease);
    if (lease) core.pool->submit(item, *lease, Delivery::kCounted);
  }
  if (!committed.timers.empty()) {
    caf::anon_send(core.timers, timers_atom::value, committed.timers);
  }
  for (const auto& id : committed.woken) {
    if (id == s.id) {
      s.wake = true;
    } else {
      self->send(s.directory, wake_atom::value, id);
    }
  }
  for (const auto& c : plan.cancel_activities) {
    core.pool->cancel(s.id, plan.commit.execution, c.id, c.reason);
  }
  for (const auto& lost : committed.undelivered) s.log.warn("not delivered: {}", lost);
}

// Lifecycle notifications, after the commit that made them true.
void notify_lifecycle(Self* self, const TurnPlan& plan) {
  auto& s = self->state;
  auto& hub = s.core->broker->lifecycle();
  if (hub.subscriptions() == 0) return;  // nothing to build notices for
  auto make = [&](LifecycleKind kind) {
    LifecycleEvent e;
    e.kind = kind;
    e.instance = s.id;
    e.orchestration = plan.orchestration;
    e.execution = plan.commit.execution;
    e.at = s.core->clock.now();
    return e;
  };
  if (plan.started) hub.publish(make(LifecycleKind::kStarted));
  if (plan.commit.update.custom_status) {
    auto e = make(LifecycleKind::kCustomStatus);
    e.custom_status = *plan.commit.update.custom_status;
    hub.publish(e);
  }
  for (const auto& event : plan.commit.events) {
    const auto* published = std::get_if<event::TopicPublished>(&event.body);
    if (published == nullptr) continue;
    auto e = make(LifecycleKind::kPublished);
    e.topic = published->topic;
    e.payload = published->payload;
    e.event = event.id;
    e.at = event.timestamp;
    hub.publish(e);
  }
  if (plan.paused) {
    auto e = make(*plan.paused ? LifecycleKind::kPaused : LifecycleKind::kResumed);
    e.reason = plan.pause_reason;
    hub.publish(e);
  }
  if (plan.finished) {
    auto e = make(plan.status == InstanceStatus::kCompleted    ? LifecycleKind::kCompleted
                  : plan.status == InstanceStatus::kFailed     ? LifecycleKind::kFailed
                  : plan.status == InstanceStatus::kTerminated ? LifecycleKind::kTerminated
                                                               : LifecycleKind::kCancelled);
    if (plan.commit.update.output) e.output = *plan.commit.update.output;
    e.failure = plan.commit.update.failure;
    hub.publish(e);
  }
}

// What a committed turn tells the metrics sink (HostOptions::metrics).
void record_metrics(Self* self, const TurnPlan& plan) {
  auto& s = self->state;
  auto* m = s.core->metrics;
  if (m == nullptr) return;
  m->turn_committed(plan.orchestration, std::chrono::steady_clock::now() - s.turn_began);
  if (plan.started) m->orchestration_started(plan.orchestration);
  if (plan.finished) {
    std::optional<FailureKind> failure;
    if (plan.status == InstanceStatus::kFailed && plan.commit.update.failure) {
      failure = plan.commit.update.failure->kind;
    }
    m->orchestration_ended(plan.orchestration, plan.status, failure);
  }
}

// HostOptions::keep_executions: a commit that started execution `execution` prunes the
// executions before the last `keep`, in the background (nobody waits for it).
void prune_old_executions(Self* self, ExecutionId execution) {
  auto& s = self->state;
  auto keep = s.core->options.keep_executions;
  if (keep == 0 || execution <= keep) return;
  // The callback runs on the store's thread: it holds the logger, not the host's core.
  s.core->store.prune_executions_async(
      s.id, keep, [log = s.core->log(s.id)](const Result<PruneSummary>& pruned) {
        if (!pruned && pruned.error().code != ErrorCode::kShutdown &&
            pruned.error().code != ErrorCode::kNotFound) {
          log.warn("could not prune old executions (HostOptions::keep_executions): {}",
                   pruned.error().to_string());
        }
      });
}

void on_committed(Self* self, CommitReply& reply) {
  auto& s = self->state;
  s.in_flight = false;
  if (!reply.result) {
    const auto& e = reply.result.error();
    s.memory.insert(s.memory.begin(), s.in_turn.begin(), s.in_turn.end());
    s.in_turn.clear();
    if (e.code == ErrorCode::kNotFound) {  // deleted while running
      s.log.info("the instance was deleted");
      return leave(self, true);
    }
    turn_failed(self, e);
    if (s.stopping) leave(self, false);
    return;
  }
  s.failures = 0;
  s.must_fail.reset();         // recorded, if one was due
  s.delivery_counted = false;  // the commit reset the count
  leave_gate(self);
  const auto& plan = *reply.plan;
  if (const auto& inject = s.core->options.lmdb.fault_injector) {
    (void)inject(FaultStep{"turn.committed", s.id});  // crash tests: after commit, before dispatch
  }
  if (plan.commit.execution != s.committed_execution) {
    s.committed_execution = plan.commit.execution;
    s.committed_length = 0;
    if (s.engine) {
      s.log = s.core->log(s.id + "/" + std::to_string(s.committed_execution) + " " +
                          s.engine->orchestration_name());
    }
  }
  s.committed_length += plan.commit.events.size();
  if (plan.paused) {
    s.paused = *plan.paused;
    if (s.paused) {
      s.log.info("paused ({}): it takes no turns until resumed", plan.pause_reason);
    } else {
      s.log.info("resumed");
    }
  }
  if (plan.finished) s.paused = false;  // what it held is dropped by the next turn
  if (!s.paused && !s.held.empty()) {
    s.memory.insert(s.memory.begin(), s.held.begin(), s.held.end());
    s.held.clear();
  }
  if (!plan.commit.events.empty() &&
      plan.commit.events.front().kind() == EventKind::kExecutionStarted) {
    prune_old_executions(self, plan.commit.execution);
  }
  record_metrics(self, plan);
  dispatch(self, *reply.result, plan);
  s.in_turn.clear();
  notify_lifecycle(self, plan);
  if (plan.finished && s.core->hub.watching(s.id)) {
    auto info = s.core->store.read_instance(s.id);
    if (info) s.core->hub.finished(*info);
  }
  if (s.stopping) {
    self->send(s.directory, stopped_atom::value, s.id);
    return leave(self, false);
  }
  maybe_turn(self);
}

void on_counted(Self* self, CountReply& reply) {
  auto& s = self->state;
  s.counting = false;
  if (!reply.result) {
    if (reply.result.error().code == ErrorCode::kNotFound) return leave(self, true);
    turn_failed(self, reply.result.error());
    if (s.stopping) leave(self, false);
    return;
  }
  s.delivery_counted = true;
  std::uint32_t deliveries = *reply.result + 1;  // the previous process delivered it once
  if (deliveries > s.core->options.max_turn_deliveries) {
    s.poisoned = deliveries - 1;  // those that ended with the process
  } else {
    s.log.debug("turn delivered again after a restart (delivery {} of at most {})", deliveries,
                s.core->options.max_turn_deliveries);
  }
  if (s.stopping) {
    self->send(s.directory, stopped_atom::value, s.id);
    return leave(self, false);
  }
  run_turn(self);
}

void maybe_turn(Self* self) {
  auto& s = self->state;
  if (s.in_flight || s.counting || s.gate_waiting || s.backing_off || s.stopping) return;
  if (s.wake || !s.memory.empty()) {
    s.idle_reported = false;
    return run_turn(self);
  }
  leave_gate(self);  // nothing to run
  if (!s.idle_reported) {
    s.idle_reported = true;
    bool finished = s.engine && is_final(s.engine->outcome());
    self->send(s.directory, idle_atom::value, s.id, finished);
  }
}

caf::behavior instance_behavior(Self* self, std::shared_ptr<HostCore> core, InstanceId id,
                                caf::actor directory) {
  auto& s = self->state;
  s.core = std::move(core);
  s.id = std::move(id);
  s.directory = std::move(directory);
  s.log = s.core->log(s.id);
  return {
      [=](wake_atom) {
        self->state.wake = true;
        maybe_turn(self);
      },
      [=](deliver_atom, MemoryMessage& m) {
        self->state.memory.push_back(std::move(m));
        maybe_turn(self);
      },
      [=](committed_atom, CommitReply& reply) { on_committed(self, reply); },
      [=](counted_atom, CountReply& reply) { on_counted(self, reply); },
      [=](gate_atom) {
        self->state.gate_waiting = false;  // it holds the recovery gate now
        self->state.gate_held = true;
        maybe_turn(self);
      },
      [=](retry_atom) {
        self->state.backing_off = false;
        maybe_turn(self);
      },
      [=](passivate_atom) {
        auto& st = self->state;
        bool busy = st.in_flight || st.counting || st.gate_waiting || st.wake || st.backing_off ||
                    !st.memory.empty() || !st.held.empty();
        self->send(st.directory, passivated_atom::value, st.id, !busy);
        if (!busy) leave(self, false);
      },
      [=](evict_atom) {
        // The store watcher found the instance gone (deleted by another process). Check: it
        // may exist again (imported under the same id), then the actor stays.
        auto& st = self->state;
        auto info = st.core->store.read_instance(st.id);
        if (info || info.error().code != ErrorCode::kNotFound) return;
        if (st.in_flight || st.counting) return;  // its write fails as not found; it leaves then
        leave(self, true);
      },
      [=](stop_atom) {
        auto& st = self->state;
        st.stopping = true;
        if (!st.in_flight && !st.counting) {
          self->send(st.directory, stopped_atom::value, st.id);
          leave(self, false);
        }
      },
  };
}

}  // namespace

caf::actor spawn_instance(caf::local_actor* parent, std::shared_ptr<HostCore> core, InstanceId id) {
  return parent->system().spawn(instance_behavior, std::move(core), std::move(id),
                                caf::actor_cast<caf::actor>(parent));
}

}  // namespace duractor::detail
