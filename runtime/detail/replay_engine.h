#pragma once
// ReplayEngine: runs one instance's orchestration code against its history. No I/O: history
// and inbox messages in; new history events, actions and the execution's outcome out.
//
//   ReplayEngine engine(registry, "order-17");
//   if (auto st = engine.load(execution, history); !st) ...     // replay (rebuild)
//   auto turn = engine.run_turn(inbox_messages, clock.now());  // one turn
//   // commit turn->new_events, consume turn->consumed, dispatch turn->actions
//
// The engine keeps the orchestration's coroutine alive between turns, so a turn costs only
// its new events. `load` rebuilds that live state by running the code from the start and
// matching everything it does against the recorded events, in order: an operation that
// differs from the history (kind, name, input), one the history lacks, or one the history
// has but the code no longer does is a kNondeterminism error naming the event position.
// If a turn's results cannot be committed, discard the engine: its state is ahead of the
// store (load a fresh one from the store).
//
// Not thread-safe: one engine per instance, used by one thread at a time.

#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "duractor/runtime/context.h"
#include "duractor/runtime/inbox_message.h"
#include "duractor/runtime/registry.h"

namespace duractor {

// What a turn asks the outside world to do, after its commit.
namespace action {
struct ScheduleActivity {
  EventId id = 0;
  std::string name;
  Bytes input;
  std::uint32_t attempt = 1;
};
struct CreateTimer {
  EventId id = 0;
  TimePoint fire_at;
};
struct StartChild {
  EventId id = 0;
  InstanceId instance;
  std::string name;
  std::uint32_t version = 0;
  Bytes input;
  bool detached = false;
};
struct SendEvent {
  InstanceId instance;
  std::string name;
  Bytes payload;
};
struct CancelActivity {
  EventId id = 0;  // of its ActivityScheduled
  std::string reason;
};
struct CancelChild {
  EventId id = 0;  // of its SubOrchestrationScheduled
  InstanceId instance;
  std::string reason;
  bool terminate = false;
};
struct Subscribe {
  std::string topic;
};
struct Unsubscribe {
  std::string topic;
};
// Delivered to the topic's subscribers by the turn's own commit (Store::commit_turn).
struct Publish {
  std::string topic;
  Bytes payload;
};
}  // namespace action

using Action = std::variant<action::ScheduleActivity, action::CreateTimer, action::StartChild,
                            action::SendEvent, action::CancelActivity, action::CancelChild,
                            action::Subscribe, action::Unsubscribe, action::Publish>;

// How the current (or last) execution stands.
namespace outcome {
struct NotStarted {};
struct Running {};
struct Completed {
  Bytes output;
};
struct Failed {
  FailureDetails failure;
};
struct Cancelled {
  std::string reason;
  bool terminated = false;  // ended by a terminate, not by the code after a cooperative cancel
};
struct ContinuedAsNew {
  Bytes input;
  std::uint32_t version = 0;
  std::vector<CarriedEvent> carried;  // unconsumed events, in arrival order
  std::string custom_status;          // the last one set: the next execution starts with it
};
}  // namespace outcome

using Outcome = std::variant<outcome::NotStarted, outcome::Running, outcome::Completed,
                             outcome::Failed, outcome::Cancelled, outcome::ContinuedAsNew>;

// True for Completed, Failed and Cancelled (not for ContinuedAsNew: the instance goes on).
bool is_final(const Outcome& outcome);

// The failure recorded when a Cancelled-typed failure escapes an execution that was not
// asked to cancel (it awaited a when_any loser, or rethrew the failure of a cancelled
// activity or child): type "duractor::Cancelled" kept, the message prefixed with
// "awaited a cancelled operation: ". The execution ends failed, not cancelled: only a
// requested cancellation (CancelRequested in its history) ends one cancelled.
FailureDetails awaited_cancelled_operation(FailureDetails failure);

struct TurnResult {
  ExecutionId execution = 0;             // the execution the new events belong to
  std::vector<HistoryEvent> new_events;  // ids continue the execution's history
  std::vector<std::uint64_t> consumed;   // inbox seqs this turn used or dropped
  std::vector<Action> actions;
  Outcome outcome;                           // after the turn
  bool ended = false;                        // the execution ended in this turn
  bool started = false;                      // the execution started in this turn
  std::optional<std::string> custom_status;  // set if the turn changed it
};

// The turn that ends execution `execution` with `failure` instead of running its code: how
// every path that fails an execution from outside the code builds it (ReplayEngine::
// fail_turn, and in actors/ a turn over a limit, a turn that cannot go on, a poisoned turn
// or an unreadable history). It consumes `consumed` and has no actions. With `started`
// (the turn starts the execution) it keeps that ExecutionStarted and records the
// ExecutionFailed right after it; without, the ExecutionFailed follows `last_event`, the
// execution's last recorded event.
TurnResult failed_turn(ExecutionId execution, std::vector<std::uint64_t> consumed,
                       std::optional<HistoryEvent> started, EventId last_event,
                       FailureDetails failure, TimePoint now);

// Where a load found the code and its history apart: set when load returns
// kNondeterminism, for tools that report it in their own words (replay_check).
struct Divergence {
  // The recorded event the code disagrees with; when the code does more than the history
  // holds, the id the code's extra event would have had.
  EventId event = 0;
  std::optional<HistoryEvent> recorded;  // unset: the history ends before `event`
  std::optional<EventBody> code;         // what the code does there; unset: nothing
  bool code_finished = false;            // with `code` unset: the code had returned
};

struct EngineOptions {
  std::shared_ptr<spdlog::logger> logger;  // default: spdlog's default logger
};

class ReplayEngine {
 public:
  ReplayEngine(const Registry& registry, InstanceId instance, EngineOptions options = {});
  ~ReplayEngine();
  ReplayEngine(const ReplayEngine&) = delete;
  ReplayEngine& operator=(const ReplayEngine&) = delete;

  // Replays execution `execution` from its whole recorded history. Errors:
  // kNondeterminism (the code and the history disagree; the message names the event, what
  // history recorded and what the code does now), kNotRegistered (the orchestration or
  // version is gone), kCorrupt (a malformed history: ids out of order, a completion for
  // an operation never scheduled, events after the end). After an error the engine must
  // not run turns (use fail_turn, or discard it).
  Status load(ExecutionId execution, const std::vector<HistoryEvent>& history);

  // Runs one turn over `messages` (in inbox order), stamping new events with `now`.
  // Messages that cannot apply any more (results for an older execution, for operations
  // already completed or given up, anything for a finished instance) are consumed and
  // dropped. A Start comes first; a Cancel in the same batch comes right after it, and
  // the execution ends cancelled without running any of its code. A cooperative Cancel
  // after one was delivered is recorded as ignored.
  // Messages for the next execution (after continue-as-new) are left unconsumed. Pause and
  // Resume are not for the engine (the host takes them): given one, it drops it.
  // Errors: kNondeterminism never (live code is recorded as it runs); kInternal if the
  // engine is unusable after a failed load.
  Result<TurnResult> run_turn(const std::vector<InboxEntry>& messages, TimePoint now);

  // A turn that ends the current execution with `failure` and consumes `messages`: what to
  // commit when load reported an error that waiting will not fix (nondeterminism, a
  // removed orchestration). `history_length` is the number of recorded events.
  TurnResult fail_turn(FailureDetails failure, EventId history_length,
                       const std::vector<InboxEntry>& messages, TimePoint now);

  ExecutionId execution() const { return execution_; }
  // The id of the last event of the current execution (0 before it starts).
  EventId last_event() const { return next_event_ - 1; }
  const Outcome& outcome() const { return outcome_; }
  bool running() const { return std::holds_alternative<outcome::Running>(outcome_); }
  // Of the current execution (from its ExecutionStarted).
  const std::string& orchestration_name() const { return name_; }
  std::uint32_t orchestration_version() const { return version_; }
  const std::optional<ParentLink>& parent() const { return parent_; }
  const std::string& custom_status() const;
  // After a load that failed with kNondeterminism: where and how (else unset).
  const std::optional<Divergence>& divergence() const { return divergence_; }

 private:
  enum class Mode { kReplay, kLive };

  Status process_recorded(const HistoryEvent& e);
  Status apply_input(const HistoryEvent& e);
  void apply_code_event(const HistoryEvent& e);
  Status start_execution(const HistoryEvent& e);
  void check_progress();
  void flush_pending(TurnResult& turn);
  void append_input(TurnResult& turn, EventBody body);
  void handle_message(TurnResult& turn, const InboxEntry& entry);
  void end_execution(Outcome outcome);
  Error nondeterminism(const HistoryEvent& recorded, const std::string& what_code_does) const;
  Error corrupt(const HistoryEvent& e, const std::string& problem) const;
  void reset_execution();
  void bind(detail::OperationCore& core, EventId id);

  const Registry& registry_;
  InstanceId instance_;
  EngineOptions options_;
  ContextLogger logger_;

  ExecutionId execution_ = 0;
  EventId next_event_ = 1;
  Outcome outcome_;
  std::string name_;
  std::uint32_t version_ = 0;
  std::optional<ParentLink> parent_;
  bool broken_ = false;                   // a load failed; only fail_turn is allowed
  std::optional<Divergence> divergence_;  // of the last load
  bool cancel_requested_ = false;         // a cancel was delivered to the current execution
  bool terminate_requested_ = false;      // ... and it was a terminate
  // The next ExecutionStarted comes with a cancel: hold the code back (it never runs).
  bool cancel_before_start_ = false;
  bool body_held_ = false;  // the current execution's code was held back so
  Mode mode_ = Mode::kLive;
  TimePoint turn_now_{};

  // The live orchestration: its context (state shared with the futures) and coroutine.
  // The task is destroyed before the context.
  std::unique_ptr<OrchestrationContext> ctx_;
  Task<Bytes> task_;
};

}  // namespace duractor
