#include "duractor/runtime/history.h"

#include <type_traits>

#include <fmt/format.h>

namespace duractor {

std::string_view to_string(FailureKind kind) {
  switch (kind) {
    case FailureKind::kApplication:
      return "application";
    case FailureKind::kActivityFailed:
      return "activity failed";
    case FailureKind::kTimedOut:
      return "timed out";
    case FailureKind::kCancelled:
      return "cancelled";
    case FailureKind::kTerminated:
      return "terminated";
    case FailureKind::kNondeterminism:
      return "nondeterminism";
    case FailureKind::kUnregistered:
      return "unregistered";
    case FailureKind::kPoison:
      return "poison";
    case FailureKind::kLimitExceeded:
      return "limit exceeded";
    case FailureKind::kDecode:
      return "decode";
    case FailureKind::kAlreadyExists:
      return "already exists";
    case FailureKind::kSubOrchestrationFailed:
      return "sub-orchestration failed";
    case FailureKind::kInvalidArgument:
      return "invalid argument";
    case FailureKind::kInfrastructure:
      return "infrastructure";
  }
  return "unknown";
}

FailureKind failure_kind_of(ErrorCode code) {
  switch (code) {
    case ErrorCode::kNondeterminism:
      return FailureKind::kNondeterminism;
    case ErrorCode::kNotRegistered:
      return FailureKind::kUnregistered;
    case ErrorCode::kPayloadMismatch:
      return FailureKind::kDecode;
    case ErrorCode::kLimitExceeded:
      return FailureKind::kLimitExceeded;
    case ErrorCode::kAlreadyExists:
      return FailureKind::kAlreadyExists;
    case ErrorCode::kCancelled:
      return FailureKind::kCancelled;
    case ErrorCode::kTimeout:
      return FailureKind::kTimedOut;
    case ErrorCode::kApplicationFailure:
      return FailureKind::kApplication;
    case ErrorCode::kInvalidArgument:
    case ErrorCode::kNotFound:
    case ErrorCode::kFailedPrecondition:
      return FailureKind::kInvalidArgument;
    case ErrorCode::kConflict:
    case ErrorCode::kBusy:
    case ErrorCode::kCorrupt:
    case ErrorCode::kIo:
    case ErrorCode::kStoreFull:
    case ErrorCode::kUnsupported:
    case ErrorCode::kShutdown:
    case ErrorCode::kInternal:
      return FailureKind::kInfrastructure;
  }
  return FailureKind::kInfrastructure;
}

FailureDetails failure_from_child(FailureDetails failure, const InstanceId& child,
                                  const std::string& name) {
  failure.causes.insert(failure.causes.begin(), FailureCause{child, name, failure.kind});
  if (failure.causes.size() > kMaxFailureCauses) {
    failure.causes.erase(failure.causes.begin() + (kMaxFailureCauses - 1),
                         failure.causes.end() - 1);
  }
  failure.kind = FailureKind::kSubOrchestrationFailed;
  return failure;
}

std::string describe_causes(const std::vector<FailureCause>& causes) {
  std::string s;
  for (const auto& c : causes) {
    if (!s.empty()) s += " <- ";
    s += c.instance + " (" + c.name + ", " + std::string(to_string(c.kind)) + ")";
  }
  return s;
}

std::string_view to_string(EventKind kind) {
  switch (kind) {
    case EventKind::kExecutionStarted:
      return "ExecutionStarted";
    case EventKind::kActivityScheduled:
      return "ActivityScheduled";
    case EventKind::kActivityCompleted:
      return "ActivityCompleted";
    case EventKind::kActivityFailed:
      return "ActivityFailed";
    case EventKind::kActivityCancelRequested:
      return "ActivityCancelRequested";
    case EventKind::kTimerCreated:
      return "TimerCreated";
    case EventKind::kTimerFired:
      return "TimerFired";
    case EventKind::kEventRaised:
      return "EventRaised";
    case EventKind::kEventSent:
      return "EventSent";
    case EventKind::kSubOrchestrationScheduled:
      return "SubOrchestrationScheduled";
    case EventKind::kSubOrchestrationCompleted:
      return "SubOrchestrationCompleted";
    case EventKind::kSubOrchestrationFailed:
      return "SubOrchestrationFailed";
    case EventKind::kSubOrchestrationCancelRequested:
      return "SubOrchestrationCancelRequested";
    case EventKind::kCancelRequested:
      return "CancelRequested";
    case EventKind::kContinuedAsNew:
      return "ContinuedAsNew";
    case EventKind::kExecutionCompleted:
      return "ExecutionCompleted";
    case EventKind::kExecutionFailed:
      return "ExecutionFailed";
    case EventKind::kExecutionCancelled:
      return "ExecutionCancelled";
    case EventKind::kCustomStatusSet:
      return "CustomStatusSet";
    case EventKind::kTopicSubscribed:
      return "TopicSubscribed";
    case EventKind::kTopicUnsubscribed:
      return "TopicUnsubscribed";
    case EventKind::kTopicPublished:
      return "TopicPublished";
  }
  return "UnknownEvent";
}

EventKind HistoryEvent::kind() const {
  return std::visit([](const auto& e) { return std::decay_t<decltype(e)>::kKind; }, body);
}

std::string_view HistoryEvent::kind_name() const {
  return to_string(kind());
}

std::optional<EventId> HistoryEvent::completes() const {
  return std::visit(
      [](const auto& e) -> std::optional<EventId> {
        if constexpr (requires { e.scheduled_id; }) {
          return e.scheduled_id;
        } else {
          return std::nullopt;
        }
      },
      body);
}

bool HistoryEvent::is_terminal() const {
  switch (kind()) {
    case EventKind::kContinuedAsNew:
    case EventKind::kExecutionCompleted:
    case EventKind::kExecutionFailed:
    case EventKind::kExecutionCancelled:
      return true;
    default:
      return false;
  }
}

namespace {

std::string failure_text(const FailureDetails& f) {
  std::string s = "kind=" + std::string(to_string(f.kind)) + " " +
                  std::string(to_string(f.category)) + " " + f.type + ": " + f.message +
                  (f.retryable ? "" : " (not retryable)");
  if (!f.causes.empty()) s += " from " + describe_causes(f.causes);
  return s;
}

struct Describer {
  std::string operator()(const event::ExecutionStarted& e) const {
    std::string s =
        e.name + " v" + std::to_string(e.version) + " input=" + describe_payload(e.input);
    if (e.parent) {
      s += " parent=" + e.parent->instance + "/" + std::to_string(e.parent->execution) + "#" +
           std::to_string(e.parent->scheduled_id);
    }
    if (!e.carried_events.empty()) s += " carried=" + std::to_string(e.carried_events.size());
    if (!e.custom_status.empty()) s += " custom_status=" + e.custom_status;
    return s;
  }
  std::string operator()(const event::ActivityScheduled& e) const {
    return e.name + " attempt=" + std::to_string(e.attempt) + " input=" + describe_payload(e.input);
  }
  std::string operator()(const event::ActivityCompleted& e) const {
    return "of #" + std::to_string(e.scheduled_id) + " output=" + describe_payload(e.output);
  }
  std::string operator()(const event::ActivityFailed& e) const {
    return "of #" + std::to_string(e.scheduled_id) + " " + failure_text(e.failure);
  }
  std::string operator()(const event::ActivityCancelRequested& e) const {
    return "of #" + std::to_string(e.scheduled_id) + " reason=" + e.reason;
  }
  std::string operator()(const event::TimerCreated& e) const {
    return "fire_at=" + std::to_string(to_unix_ms(e.fire_at));
  }
  std::string operator()(const event::TimerFired& e) const {
    return "of #" + std::to_string(e.scheduled_id);
  }
  std::string operator()(const event::EventRaised& e) const {
    return e.name + " payload=" + describe_payload(e.payload);
  }
  std::string operator()(const event::EventSent& e) const {
    return e.name + " to " + e.instance + " payload=" + describe_payload(e.payload);
  }
  std::string operator()(const event::SubOrchestrationScheduled& e) const {
    return e.name + " v" + std::to_string(e.version) + " instance=" + e.instance +
           (e.detached ? " detached" : "") + " input=" + describe_payload(e.input);
  }
  std::string operator()(const event::SubOrchestrationCompleted& e) const {
    return "of #" + std::to_string(e.scheduled_id) + " output=" + describe_payload(e.output);
  }
  std::string operator()(const event::SubOrchestrationFailed& e) const {
    return "of #" + std::to_string(e.scheduled_id) + " " + failure_text(e.failure);
  }
  std::string operator()(const event::SubOrchestrationCancelRequested& e) const {
    return "of #" + std::to_string(e.scheduled_id) + (e.terminate ? " terminate" : "") +
           " reason=" + e.reason;
  }
  std::string operator()(const event::CancelRequested& e) const {
    std::string s = (e.terminate ? "terminate reason=" : "reason=") + e.reason;
    if (e.disposition == event::CancelDisposition::kBeforeStart) s += " (before the code ran)";
    if (e.disposition == event::CancelDisposition::kIgnored) s += " (ignored: already cancelled)";
    return s;
  }
  std::string operator()(const event::ContinuedAsNew& e) const {
    return fmt::format("v{} input={}", e.version, describe_payload(e.input));
  }
  std::string operator()(const event::ExecutionCompleted& e) const {
    return "output=" + describe_payload(e.output);
  }
  std::string operator()(const event::ExecutionFailed& e) const { return failure_text(e.failure); }
  std::string operator()(const event::ExecutionCancelled& e) const { return "reason=" + e.reason; }
  std::string operator()(const event::CustomStatusSet& e) const { return e.status; }
  std::string operator()(const event::TopicSubscribed& e) const { return e.topic; }
  std::string operator()(const event::TopicUnsubscribed& e) const { return e.topic; }
  std::string operator()(const event::TopicPublished& e) const {
    return e.topic + " payload=" + describe_payload(e.payload);
  }
};

}  // namespace

std::string describe(const HistoryEvent& event) {
  return fmt::format("#{} {} {}", event.id, event.kind_name(), std::visit(Describer{}, event.body));
}

}  // namespace duractor
