#include "duractor/actors/detail/turn_without_code.h"

namespace duractor {
namespace {

std::string describe(const InboxMessage& message) {
  return std::visit(
      [](const auto& m) -> std::string {
        using T = std::decay_t<decltype(m)>;
        if constexpr (std::is_same_v<T, message::Start>) {
          return "the start of orchestration '" + m.name + "' (execution " +
                 std::to_string(m.execution) + ")";
        } else if constexpr (std::is_same_v<T, message::Event>) {
          return "event '" + m.name + "'";
        } else if constexpr (std::is_same_v<T, message::Cancel>) {
          return "a cancellation";
        } else if constexpr (std::is_same_v<T, message::ActivityResult>) {
          return "the result of activity #" + std::to_string(m.scheduled_id);
        } else if constexpr (std::is_same_v<T, message::TimerFired>) {
          return "timer #" + std::to_string(m.scheduled_id);
        } else if constexpr (std::is_same_v<T, message::ChildResult>) {
          return "the result of sub-orchestration #" + std::to_string(m.scheduled_id);
        } else if constexpr (std::is_same_v<T, message::Pause>) {
          return "a pause";
        } else if constexpr (std::is_same_v<T, message::Resume>) {
          return "a resume";
        } else {
          return "a message";
        }
      },
      message);
}

}  // namespace

std::string describe_messages(const std::vector<InboxEntry>& inbox,
                              const std::vector<MemoryMessage>& memory) {
  constexpr std::size_t kShown = 4;
  std::vector<std::string> parts;
  for (const auto& e : inbox) parts.push_back(describe(e.message));
  for (const auto& m : memory) parts.push_back(describe(m.message));
  std::string out;
  for (std::size_t i = 0; i < parts.size() && i < kShown; ++i) {
    if (i > 0) out += ", ";
    out += parts[i];
  }
  if (parts.size() > kShown) out += " and " + std::to_string(parts.size() - kShown) + " more";
  return out.empty() ? "no message" : out;
}

std::optional<TurnPlan> plan_turn_without_code(const InstanceLock& lock, const InstanceInfo& info,
                                               const std::vector<ExecutionInfo>& executions,
                                               const std::vector<InboxEntry>& inbox,
                                               const std::vector<MemoryMessage>& memory,
                                               const FailureDetails& failure,
                                               const Registry& registry, TimePoint now) {
  // Everything waiting is consumed, as if an engine had been given it all (plan_turn
  // deletes the work items and timers of the memory messages).
  std::vector<std::uint64_t> consumed;
  for (const auto& entry : inbox) consumed.push_back(entry.seq);
  for (std::size_t i = 0; i < memory.size(); ++i) consumed.push_back(kMemorySeqBase + i);
  TurnOrigin origin{info.execution, info.name, info.version, info.parent};

  if (is_terminal(info.status)) {
    if (info.execution == 0) return std::nullopt;
    TurnResult drop;  // nothing left to fail: the messages are dropped
    drop.execution = info.execution;
    drop.consumed = std::move(consumed);
    auto plan = plan_turn(lock, origin, drop, memory);
    plan.status = info.status;  // the instance keeps its final status
    return plan;
  }
  const ExecutionInfo* last = executions.empty() ? nullptr : &executions.back();
  if (last != nullptr && !is_terminal(last->status) && !last->continued_as_new) {
    origin.execution = last->execution;
    return plan_turn(lock, origin,
                     failed_turn(last->execution, std::move(consumed), std::nullopt,
                                 last->event_count, failure, now),
                     memory);
  }
  ExecutionId next = last != nullptr ? last->execution + 1 : 1;
  const message::Start* start = nullptr;
  for (const auto& entry : inbox) {
    const auto* s = std::get_if<message::Start>(&entry.message);
    if (s != nullptr && s->execution == next) start = s;
  }
  if (start == nullptr) return std::nullopt;
  std::uint32_t version = start->version;
  if (version == 0) {
    if (auto latest = registry.orchestration(start->name, 0)) version = (*latest)->version;
  }
  // The execution starts from its Start message and fails at once.
  HistoryEvent started{1, now,
                       event::ExecutionStarted{start->name, version, start->input, start->parent,
                                               start->carried_events}};
  return plan_turn(lock, TurnOrigin{next, start->name, version, start->parent},
                   failed_turn(next, std::move(consumed), std::move(started), 0, failure, now),
                   memory);
}

}  // namespace duractor
