#pragma once
// Cutting an execution's history for Store::rewind_instance and Store::fork_instance: where
// a rewind cuts, whether a fork's step is a place the code can go on from, and what work
// the kept events leave outstanding. Pure functions over events, shared by every store (the
// LMDB one in store/lmdb_rewind.cc); docs/operations.md ("Rewind", "Fork") explains the
// rules. Internal.
//
// The replay engine appends each event that wakes the code (a start, a completion, a raised
// event, a cancellation) and right after it the events the code records in response, until
// the code waits again. A history can only be cut where the code waits: before an event that
// wakes it, or at its end. Cut anywhere else and the code, replayed, would do what the
// history no longer holds (a nondeterminism).

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "duractor/runtime/error.h"
#include "duractor/runtime/history.h"
#include "duractor/runtime/inbox_message.h"
#include "duractor/store/store.h"

namespace duractor::detail {

// Whether events of this kind are recorded by the code (ActivityScheduled, TimerCreated,
// ExecutionFailed, ...), rather than coming from outside to wake it (ExecutionStarted,
// ActivityCompleted, TimerFired, EventRaised, CancelRequested, ...). Kinds added later are
// the code's unless listed here as waking it.
bool recorded_by_code(EventKind kind);

// A sub-orchestration the kept events scheduled (awaited, not detached) and did not see end.
struct OutstandingChild {
  EventId scheduled_id = 0;
  std::string name;
  InstanceId instance;
};

// What events 1..kept of an execution leave outstanding, and what they say.
struct Outstanding {
  std::vector<NewWorkItem> work;  // activities scheduled, not completed, not given up
  std::vector<NewTimer> timers;   // timers created, not fired
  std::vector<OutstandingChild> children;
  std::string custom_status;  // the last one set (or the one the execution started with)
};

// The outstanding work of events 1..kept (`except_activity` / `except_child`: the one whose
// result is delivered again instead).
Outstanding outstanding_after(const std::vector<HistoryEvent>& events, EventId kept,
                              std::optional<EventId> except_activity = std::nullopt,
                              std::optional<EventId> except_child = std::nullopt);

// Applies the TopicSubscribed / TopicUnsubscribed of events 1..upto to `topics`
// (subscriptions outlive continue-as-new, so a caller applies every execution in order).
void apply_topics(std::vector<std::string>& topics, const std::vector<HistoryEvent>& events,
                  EventId upto);

// Where a rewind cuts the history of a failed execution.
struct RewindCut {
  EventId kept = 0;  // events 1..kept stay
  // What woke the code after the cut, to deliver again in order (all but failures: their
  // activities and children run again instead): completions of operations open at the cut,
  // raised events, cancellations, the start (when nothing is kept).
  std::vector<InboxMessage> redeliver;
  Outstanding outstanding;  // at the cut, less what is delivered again
  // Timers of `outstanding` that run their whole duration again from the rewind, by
  // TimerCreated id: the timeout that failed the execution (kind timed out), whose call
  // runs again. Every other timer keeps the time it had left at the failure.
  std::map<EventId, Milliseconds> restarted_timers;
};

// The rewind of execution `execution` of `id`, whose `events` end with ExecutionFailed.
// The cut: before the failure event (ActivityFailed, SubOrchestrationFailed) whose failure
// is the execution's — the code let it escape, or rethrew it after compensating — so that
// its activity or child runs again; without one (the code itself threw, or the runtime
// failed the execution from outside), before the last event that woke the code. Errors:
// kFailedPrecondition (the history does not end with ExecutionFailed; the failure is one a rewind
// would only repeat: nondeterminism, a removed orchestration, poison).
Result<RewindCut> plan_rewind(const InstanceId& id, ExecutionId execution,
                              const std::vector<HistoryEvent>& events);

// The events of a fork of events 1..request.at of execution `execution` of request.source
// (`events`: its whole history), as the new instance's execution 1 records them, and what
// they leave outstanding. Errors: kInvalidArgument (at out of range, inside one step of the
// code, including the end; a sub-orchestration left outstanding; a rewritten id invalid).
struct ForkCopy {
  std::vector<HistoryEvent> events;
  Outstanding outstanding;
};
Result<ForkCopy> plan_fork(const ForkRequest& request, ExecutionId execution,
                           const std::vector<HistoryEvent>& events);

}  // namespace duractor::detail
