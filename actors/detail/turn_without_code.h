#pragma once
// Ending an instance's execution from what the store holds, without running its code: for
// a turn that is poison (processing it killed the process too often) and for a history
// that cannot be read. Pure (no CAF, no I/O): the failure is built as every other failure
// of an execution from outside its code is (failed_turn, planned by plan_turn), only from
// the store's records instead of an engine.

#include <optional>
#include <string>
#include <vector>

#include "duractor/actors/detail/turn_plan.h"
#include "duractor/runtime/registry.h"

namespace duractor {

// The commit that fails the instance with `failure` and consumes every message waiting for
// it (`inbox`, and `memory` results: their work items and timers are deleted):
// - a running execution gets ExecutionFailed after its last event (`executions` as
//   Store::read_executions returns them);
// - an instance whose next execution has not started (a new instance, or one that
//   continued as new) starts it from its Start message in `inbox` and fails it at once;
// - a finished instance only has the messages consumed: there is nothing left to fail.
// An awaiting parent gets the failure as a ChildResult. nullopt when there is nothing to
// commit: no execution runs and no Start message waits.
std::optional<TurnPlan> plan_turn_without_code(const InstanceLock& lock, const InstanceInfo& info,
                                               const std::vector<ExecutionInfo>& executions,
                                               const std::vector<InboxEntry>& inbox,
                                               const std::vector<MemoryMessage>& memory,
                                               const FailureDetails& failure,
                                               const Registry& registry, TimePoint now);

// What a batch of messages is, for a failure message: "the start of orchestration 'Order',
// event 'Approval', the result of activity #4, ..." (at most a few, then "and n more").
std::string describe_messages(const std::vector<InboxEntry>& inbox,
                              const std::vector<MemoryMessage>& memory);

}  // namespace duractor
