#pragma once
// From an engine turn to a store commit: which history events to append, which inbox
// messages and in-memory results it consumed, what work, timers and messages to other
// instances it creates, and how the instance's metadata changes. Pure (no CAF, no I/O), so
// the instance actor stays thin and this can be tested on its own.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "duractor/runtime/detail/replay_engine.h"
#include "duractor/store/store.h"

namespace duractor {

// A result delivered to an instance in memory (by an activity worker or the timer
// service) rather than through its durable inbox. It carries what to delete when the turn
// that consumes it commits; for an activity's result, the worker's lease on its item, with
// which a paused instance moves the result into its durable inbox (Store::complete_work).
struct MemoryMessage {
  InboxMessage message;
  std::optional<WorkLease> work;  // activity results: the item, leased by the worker
  std::optional<TimerKey> timer;  // fired timers
};

// Inbox seqs at and above this value are synthetic: they stand for memory messages.
inline constexpr std::uint64_t kMemorySeqBase = std::uint64_t{1} << 62;

struct TurnPlan {
  TurnCommit commit;
  std::string orchestration;                         // its name
  InstanceStatus status = InstanceStatus::kRunning;  // after the turn
  bool started = false;   // the instance's first execution started in this turn
  bool finished = false;  // the instance reached a final state in this turn
  std::vector<action::CancelActivity> cancel_activities;  // to signal after the commit
  // Set when the turn paused (true) or resumed (false) the instance (pause_gate.h).
  std::optional<bool> paused;
  std::string pause_reason;  // when it paused
};

// What plan_turn needs to know of the execution a turn belongs to: the engine that ran the
// turn knows it, and so does the store's metadata for a turn that ends an execution
// without running its code (turn_without_code.h).
struct TurnOrigin {
  ExecutionId execution = 0;  // used when the turn names none
  std::string orchestration;  // its name
  std::uint32_t version = 0;
  std::optional<ParentLink> parent;  // an awaiting parent hears how the execution ended
};

// Builds the commit for `turn`, produced from the durable inbox entries and `memory`
// messages (given to the engine as inbox entries with seq kMemorySeqBase + index). A
// final outcome sets the instance's status and output or failure and reports to the
// parent (a ChildResult). A sub-orchestration (not detached) whose input is over
// `max_payload_bytes` is not started: the commit sends its parent (this instance) a
// ChildResult with the failure {configuration, "duractor::LimitExceeded", "cannot start
// sub-orchestration ..."}, which the code receives as SubOrchestrationFailed and may catch.
TurnPlan plan_turn(const InstanceLock& lock, const TurnOrigin& origin, const TurnResult& turn,
                   const std::vector<MemoryMessage>& memory,
                   std::size_t max_payload_bytes = SIZE_MAX);
// The same for a turn that `engine` ran.
TurnPlan plan_turn(const InstanceLock& lock, const ReplayEngine& engine, const TurnResult& turn,
                   const std::vector<MemoryMessage>& memory,
                   std::size_t max_payload_bytes = SIZE_MAX);

// The failure of a sub-orchestration start refused because its input is over the limit.
FailureDetails child_input_too_large(const std::string& name, const InstanceId& child,
                                     std::size_t size, std::size_t max_payload_bytes);

// The status a final outcome gives an instance.
InstanceStatus status_of(const Outcome& outcome);

}  // namespace duractor
