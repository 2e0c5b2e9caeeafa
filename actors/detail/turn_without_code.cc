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
  TurnPlan plan;
  auto& c = plan.commit;
  c.lock = lock;
  for (const auto& entry : inbox) c.consumed.push_back(entry.seq);
  for (const auto& m : memory) {
    if (m.work_item) c.finished_work.push_back(*m.work_item);
    if (m.timer) c.fired_timers.push_back(*m.timer);
  }
  plan.orchestration = info.name;
  const ExecutionInfo* last = executions.empty() ? nullptr : &executions.back();
  std::optional<ParentLink> parent = info.parent;

  if (is_terminal(info.status)) {
    if (info.execution == 0) return std::nullopt;
    c.execution = info.execution;  // nothing left to fail: the messages are dropped
    plan.status = info.status;
    return plan;
  }
  if (last != nullptr && !is_terminal(last->status) && !last->continued_as_new) {
    c.execution = last->execution;
    c.events.push_back(HistoryEvent{last->event_count + 1, now, event::ExecutionFailed{failure}});
  } else {
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
    c.execution = next;
    c.events.push_back(HistoryEvent{1, now,
                                    event::ExecutionStarted{start->name, version, start->input,
                                                            start->parent, start->carried_events}});
    c.events.push_back(HistoryEvent{2, now, event::ExecutionFailed{failure}});
    c.update.name = start->name;
    c.update.version = version;
    plan.orchestration = start->name;
    plan.started = next == 1;
    parent = start->parent;
  }
  c.update.status = InstanceStatus::kFailed;
  c.update.failure = failure;
  plan.status = InstanceStatus::kFailed;
  plan.finished = true;
  if (parent) {
    message::ChildResult report;
    report.execution = parent->execution;
    report.scheduled_id = parent->scheduled_id;
    report.failure = failure;
    c.outbound.push_back(OutboundMessage{parent->instance, std::move(report)});
  }
  return plan;
}

}  // namespace duractor
