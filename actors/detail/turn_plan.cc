#include "duractor/actors/detail/turn_plan.h"

namespace duractor {

InstanceStatus status_of(const Outcome& outcome) {
  if (std::holds_alternative<outcome::Completed>(outcome)) return InstanceStatus::kCompleted;
  if (std::holds_alternative<outcome::Failed>(outcome)) return InstanceStatus::kFailed;
  if (const auto* cancelled = std::get_if<outcome::Cancelled>(&outcome)) {
    return cancelled->terminated ? InstanceStatus::kTerminated : InstanceStatus::kCancelled;
  }
  if (std::holds_alternative<outcome::NotStarted>(outcome)) return InstanceStatus::kPending;
  return InstanceStatus::kRunning;
}

FailureDetails child_input_too_large(const std::string& name, const InstanceId& child,
                                     std::size_t size, std::size_t max_payload_bytes) {
  return FailureDetails{
      .category = ErrorCategory::kConfiguration,
      .type = "duractor::LimitExceeded",
      .message = "cannot start sub-orchestration '" + name + "' (instance '" + child +
                 "'): its input is " + std::to_string(size) + " bytes, over the payload limit of " +
                 std::to_string(max_payload_bytes) + " bytes (HostOptions::max_payload_bytes)",
      .kind = FailureKind::kLimitExceeded};
}

TurnPlan plan_turn(const InstanceLock& lock, const ReplayEngine& engine, const TurnResult& turn,
                   const std::vector<MemoryMessage>& memory, std::size_t max_payload_bytes) {
  return plan_turn(lock,
                   TurnOrigin{engine.execution(), engine.orchestration_name(),
                              engine.orchestration_version(), engine.parent()},
                   turn, memory, max_payload_bytes);
}

TurnPlan plan_turn(const InstanceLock& lock, const TurnOrigin& origin, const TurnResult& turn,
                   const std::vector<MemoryMessage>& memory, std::size_t max_payload_bytes) {
  TurnPlan plan;
  auto& c = plan.commit;
  c.lock = lock;
  c.execution = turn.execution != 0 ? turn.execution : origin.execution;
  c.events = turn.new_events;
  const InstanceId& self = lock.instance;
  plan.orchestration = origin.orchestration;
  plan.started = turn.started && c.execution == 1;

  for (auto seq : turn.consumed) {
    if (seq < kMemorySeqBase) {
      c.consumed.push_back(seq);
      continue;
    }
    const auto& m = memory.at(static_cast<std::size_t>(seq - kMemorySeqBase));
    if (m.work) c.finished_work.push_back(m.work->item);
    if (m.timer) c.fired_timers.push_back(*m.timer);
  }

  for (const auto& a : turn.actions) {
    std::visit(
        [&](const auto& act) {
          using T = std::decay_t<decltype(act)>;
          if constexpr (std::is_same_v<T, action::ScheduleActivity>) {
            c.work.push_back(NewWorkItem{act.id, act.name, act.input, act.attempt});
          } else if constexpr (std::is_same_v<T, action::CreateTimer>) {
            c.timers.push_back(NewTimer{act.id, act.fire_at});
          } else if constexpr (std::is_same_v<T, action::StartChild>) {
            if (!act.detached && act.input.size() > max_payload_bytes) {
              // Refused: the parent (this instance) hears of it as the child's failure.
              message::ChildResult refused;
              refused.execution = c.execution;
              refused.scheduled_id = act.id;
              refused.failure = child_input_too_large(act.name, act.instance, act.input.size(),
                                                      max_payload_bytes);
              c.outbound.push_back(OutboundMessage{self, std::move(refused)});
              return;
            }
            message::Start start;
            start.execution = 1;
            start.name = act.name;
            start.version = act.version;
            start.input = act.input;
            if (!act.detached) start.parent = ParentLink{self, c.execution, act.id};
            c.outbound.push_back(OutboundMessage{act.instance, std::move(start)});
          } else if constexpr (std::is_same_v<T, action::SendEvent>) {
            c.outbound.push_back(
                OutboundMessage{act.instance, message::Event{act.name, act.payload}});
          } else if constexpr (std::is_same_v<T, action::CancelChild>) {
            c.outbound.push_back(
                OutboundMessage{act.instance, message::Cancel{act.reason, act.terminate}});
          } else if constexpr (std::is_same_v<T, action::Subscribe>) {
            c.subscribe.push_back(act.topic);
          } else if constexpr (std::is_same_v<T, action::Unsubscribe>) {
            c.unsubscribe.push_back(act.topic);
          } else if constexpr (std::is_same_v<T, action::Publish>) {
            c.publications.push_back(TopicPublication{act.topic, act.payload});
          } else if constexpr (std::is_same_v<T, action::CancelActivity>) {
            plan.cancel_activities.push_back(act);
          }
        },
        a);
  }

  const Outcome& outcome = turn.outcome;
  plan.status = status_of(outcome);
  auto& u = c.update;
  if (turn.started) {
    u.name = origin.orchestration;
    u.version = origin.version;
  }
  if (turn.started || turn.ended || !turn.new_events.empty()) u.status = plan.status;
  if (turn.custom_status) u.custom_status = *turn.custom_status;

  if (turn.ended) {
    const auto& parent = origin.parent;
    if (const auto* next = std::get_if<outcome::ContinuedAsNew>(&outcome)) {
      message::Start start;
      start.execution = c.execution + 1;
      start.name = origin.orchestration;
      start.version = next->version;
      start.input = next->input;
      start.parent = parent;
      start.carried_events = next->carried;
      start.custom_status = next->custom_status;
      c.outbound.push_back(OutboundMessage{self, std::move(start)});
      u.status = InstanceStatus::kRunning;
    } else {
      plan.finished = true;
      message::ChildResult report;
      if (const auto* done = std::get_if<outcome::Completed>(&outcome)) {
        u.output = done->output;
        report.output = done->output;
      } else if (const auto* failed = std::get_if<outcome::Failed>(&outcome)) {
        u.failure = failed->failure;
        report.failure = failed->failure;
      } else if (const auto* cancelled = std::get_if<outcome::Cancelled>(&outcome)) {
        FailureDetails f{
            .category = ErrorCategory::kApplication,
            .type = "duractor::Cancelled",
            .message = cancelled->reason,
            .kind = cancelled->terminated ? FailureKind::kTerminated : FailureKind::kCancelled};
        u.failure = f;
        report.failure = f;
      }
      if (parent) {
        report.execution = parent->execution;
        report.scheduled_id = parent->scheduled_id;
        c.outbound.push_back(OutboundMessage{parent->instance, std::move(report)});
      }
    }
  }
  return plan;
}

}  // namespace duractor
