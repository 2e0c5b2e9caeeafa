// Where rewind and fork cut a history, and what the kept events leave outstanding
// (store/detail/history_cut.h).

#include "duractor/store/detail/history_cut.h"

#include <algorithm>
#include <cctype>
#include <map>

namespace duractor::detail {

bool recorded_by_code(EventKind kind) {
  switch (kind) {
    case EventKind::kExecutionStarted:
    case EventKind::kActivityCompleted:
    case EventKind::kActivityFailed:
    case EventKind::kTimerFired:
    case EventKind::kEventRaised:
    case EventKind::kSubOrchestrationCompleted:
    case EventKind::kSubOrchestrationFailed:
    case EventKind::kCancelRequested:
      return false;
    default:
      return true;
  }
}

namespace {

struct Delivered {
  std::vector<EventId> activities, timers, children;  // results delivered again
  static bool has(const std::vector<EventId>& ids, EventId id) {
    return std::find(ids.begin(), ids.end(), id) != ids.end();
  }
};

Outstanding outstanding_except(const std::vector<HistoryEvent>& events, EventId kept,
                               const Delivered& delivered) {
  std::map<EventId, NewWorkItem> work;
  std::map<EventId, NewTimer> timers;
  std::map<EventId, OutstandingChild> children;
  Outstanding out;
  for (std::size_t i = 0; i < events.size() && i < kept; ++i) {
    const auto& e = events[i];
    std::visit(
        [&](const auto& b) {
          using T = std::decay_t<decltype(b)>;
          if constexpr (std::is_same_v<T, event::ExecutionStarted>) {
            out.custom_status = b.custom_status;
          } else if constexpr (std::is_same_v<T, event::CustomStatusSet>) {
            out.custom_status = b.status;
          } else if constexpr (std::is_same_v<T, event::ActivityScheduled>) {
            work[e.id] = NewWorkItem{e.id, b.name, b.input, b.attempt};
          } else if constexpr (std::is_same_v<T, event::ActivityCompleted> ||
                               std::is_same_v<T, event::ActivityFailed> ||
                               std::is_same_v<T, event::ActivityCancelRequested>) {
            // A cancellation requested: the code gave the activity up (a when_any loser, a
            // timeout, a dropped future, a cancelled instance); it is not run again.
            work.erase(b.scheduled_id);
          } else if constexpr (std::is_same_v<T, event::TimerCreated>) {
            timers[e.id] = NewTimer{e.id, b.fire_at};
          } else if constexpr (std::is_same_v<T, event::TimerFired>) {
            timers.erase(b.scheduled_id);
          } else if constexpr (std::is_same_v<T, event::SubOrchestrationScheduled>) {
            if (!b.detached) children[e.id] = OutstandingChild{e.id, b.name, b.instance};
          } else if constexpr (std::is_same_v<T, event::SubOrchestrationCompleted> ||
                               std::is_same_v<T, event::SubOrchestrationFailed> ||
                               std::is_same_v<T, event::SubOrchestrationCancelRequested>) {
            children.erase(b.scheduled_id);
          }
        },
        e.body);
  }
  for (auto& [id, w] : work) {
    if (!Delivered::has(delivered.activities, id)) out.work.push_back(std::move(w));
  }
  for (auto& [id, t] : timers) {
    if (!Delivered::has(delivered.timers, id)) out.timers.push_back(t);
  }
  for (auto& [id, c] : children) {
    if (!Delivered::has(delivered.children, id)) out.children.push_back(std::move(c));
  }
  return out;
}

// Why a rewind of a failure of this kind would only repeat it, if it would. Records written
// before kinds existed read with the kind their type implies (docs/storage-format.md), so
// their nondeterminism, unregistered and poison failures are refused too.
// The type names count too, for a FailureDetails made without a kind. An activity that was
// not registered is no reason: deploying it and rewinding is the repair.
std::optional<std::string> unrewindable(const FailureDetails& f, bool from_activity) {
  if (f.kind == FailureKind::kNondeterminism || f.type == "duractor::Nondeterminism") {
    return "it failed from nondeterminism: its code no longer matches its history, and a "
           "rewind would replay the same history against the same code (fix the code, or "
           "fork the instance before the divergence)";
  }
  if (!from_activity &&
      (f.kind == FailureKind::kUnregistered || f.type == "duractor::NotRegistered")) {
    return "its orchestration is not registered: a rewind would fail the same way";
  }
  if (f.kind == FailureKind::kPoison || f.type == "duractor::TurnPoisoned" ||
      f.type == "duractor::ActivityPoisoned") {
    return "it failed from poison (" + f.type +
           "): the work it was doing killed the process each time it ran, and a rewind "
           "would run it again";
  }
  return std::nullopt;
}

const FailureDetails* failure_of_event(const HistoryEvent& e) {
  if (const auto* a = std::get_if<event::ActivityFailed>(&e.body)) return &a->failure;
  if (const auto* c = std::get_if<event::SubOrchestrationFailed>(&e.body)) return &c->failure;
  return nullptr;
}

// Whether `failure` is the failure of event `e` as it escaped the code.
bool escaped_as(const std::vector<HistoryEvent>& events, const HistoryEvent& e,
                const FailureDetails& failure) {
  const auto* f = failure_of_event(e);
  if (f == nullptr) return false;
  if (*f == failure) return true;
  const auto* child = std::get_if<event::SubOrchestrationFailed>(&e.body);
  if (child == nullptr || failure.causes.empty()) return false;
  for (const auto& s : events) {
    if (s.id != child->scheduled_id) continue;
    const auto* scheduled = std::get_if<event::SubOrchestrationScheduled>(&s.body);
    return scheduled != nullptr &&
           failure_from_child(*f, scheduled->instance, scheduled->name) == failure;
  }
  return false;
}

}  // namespace

Outstanding outstanding_after(const std::vector<HistoryEvent>& events, EventId kept,
                              std::optional<EventId> except_activity,
                              std::optional<EventId> except_child) {
  Delivered delivered;
  if (except_activity) delivered.activities.push_back(*except_activity);
  if (except_child) delivered.children.push_back(*except_child);
  return outstanding_except(events, kept, delivered);
}

void apply_topics(std::vector<std::string>& topics, const std::vector<HistoryEvent>& events,
                  EventId upto) {
  for (std::size_t i = 0; i < events.size() && i < upto; ++i) {
    if (const auto* s = std::get_if<event::TopicSubscribed>(&events[i].body)) {
      if (std::find(topics.begin(), topics.end(), s->topic) == topics.end()) {
        topics.push_back(s->topic);
      }
    } else if (const auto* u = std::get_if<event::TopicUnsubscribed>(&events[i].body)) {
      topics.erase(std::remove(topics.begin(), topics.end(), u->topic), topics.end());
    }
  }
}

Result<RewindCut> plan_rewind(const InstanceId& id, ExecutionId execution,
                              const std::vector<HistoryEvent>& events) {
  const std::string where = "instance '" + id + "' execution " + std::to_string(execution);
  const auto* failed =
      events.empty() ? nullptr : std::get_if<event::ExecutionFailed>(&events.back().body);
  if (failed == nullptr) {
    return fail(ErrorCode::kFailedPrecondition,
                "cannot rewind " + where + ": its history does not end with ExecutionFailed (" +
                    (events.empty() ? std::string("it has no events")
                                    : "it ends with " + std::string(events.back().kind_name())) +
                    ")");
  }
  const FailureDetails& failure = failed->failure;
  // The cause: the last failure event whose failure is the execution's (it escaped the code,
  // or the code rethrew it after compensating; a child's failure escapes with the child put
  // in front of its chain of causes). Retried attempts before it stay.
  const std::size_t n = events.size();
  std::optional<std::size_t> cut;  // index of the first event dropped
  for (std::size_t i = n - 1; i-- > 0;) {
    if (escaped_as(events, events[i], failure)) {
      cut = i;
      break;
    }
  }
  if (!cut) {
    // The code threw by itself, or the runtime failed the execution from outside (a turn
    // that could not be committed, a limit): before the last event that woke the code.
    for (std::size_t i = n - 1; i-- > 0;) {
      if (!recorded_by_code(events[i].kind())) {
        cut = i;
        break;
      }
    }
  }
  if (!cut) cut = 0;  // unreachable: events[0] is ExecutionStarted
  bool from_activity = std::holds_alternative<event::ActivityFailed>(events[*cut].body) &&
                       escaped_as(events, events[*cut], failure);
  if (auto why = unrewindable(failure, from_activity)) {
    return fail(ErrorCode::kFailedPrecondition, "cannot rewind instance '" + id + "': " + *why);
  }
  RewindCut plan;
  plan.kept = *cut;
  // A call that timed out runs again with its whole timeout: the timer that fired is not
  // delivered again but set anew (delivered, it would fail the call again at once).
  const bool timed_out = failure.kind == FailureKind::kTimedOut;
  // Everything that woke the code after the cut is delivered again, in order, except
  // failures: their activities and children run again. What the code recorded after the cut
  // it records again as it runs on.
  Outstanding at_cut = outstanding_except(events, plan.kept, {});
  auto open = [](const auto& list, EventId sid) {
    return std::any_of(list.begin(), list.end(),
                       [&](const auto& x) { return x.scheduled_id == sid; });
  };
  Delivered delivered;
  for (std::size_t i = *cut; i + 1 < n; ++i) {
    const auto& e = events[i];
    std::visit(
        [&](const auto& b) {
          using T = std::decay_t<decltype(b)>;
          if constexpr (std::is_same_v<T, event::ExecutionStarted>) {
            message::Start start;
            start.execution = execution;
            start.name = b.name;
            start.version = b.version;
            start.input = b.input;
            start.parent = b.parent;
            start.carried_events = b.carried_events;
            start.custom_status = b.custom_status;
            plan.redeliver.emplace_back(std::move(start));
          } else if constexpr (std::is_same_v<T, event::ActivityCompleted>) {
            if (!open(at_cut.work, b.scheduled_id)) return;
            delivered.activities.push_back(b.scheduled_id);
            plan.redeliver.emplace_back(
                message::ActivityResult{execution, b.scheduled_id, b.output, std::nullopt});
          } else if constexpr (std::is_same_v<T, event::TimerFired>) {
            if (!open(at_cut.timers, b.scheduled_id)) return;
            if (timed_out && i == *cut && b.scheduled_id >= 1 && b.scheduled_id <= n) {
              const auto& created = events[b.scheduled_id - 1];
              plan.restarted_timers[b.scheduled_id] =
                  b.fire_at > created.timestamp ? b.fire_at - created.timestamp : Milliseconds{0};
              return;
            }
            delivered.timers.push_back(b.scheduled_id);
            plan.redeliver.emplace_back(message::TimerFired{execution, b.scheduled_id, b.fire_at});
          } else if constexpr (std::is_same_v<T, event::SubOrchestrationCompleted>) {
            if (!open(at_cut.children, b.scheduled_id)) return;
            delivered.children.push_back(b.scheduled_id);
            plan.redeliver.emplace_back(
                message::ChildResult{execution, b.scheduled_id, b.output, std::nullopt});
          } else if constexpr (std::is_same_v<T, event::EventRaised>) {
            plan.redeliver.emplace_back(message::Event{b.name, b.payload});
          } else if constexpr (std::is_same_v<T, event::CancelRequested>) {
            if (b.disposition != event::CancelDisposition::kIgnored) {
              plan.redeliver.emplace_back(message::Cancel{b.reason, b.terminate});
            }
          }
        },
        e.body);
  }
  plan.outstanding = outstanding_except(events, plan.kept, delivered);
  return plan;
}

namespace {

// The id a fork's code gives what the source's code named `name` (a child, an event
// target): ids made from the instance's own id are made from the fork's. The default child
// id "<source>:<execution>:<n>" becomes "<target>:1:<n>" (the fork runs as execution 1).
std::string forked_id(const std::string& name, const InstanceId& source, ExecutionId execution,
                      const InstanceId& target) {
  const std::string default_prefix = source + ":" + std::to_string(execution) + ":";
  if (name.starts_with(default_prefix) && name.size() > default_prefix.size()) {
    auto rest = name.substr(default_prefix.size());
    if (std::all_of(rest.begin(), rest.end(), [](unsigned char c) { return std::isdigit(c); })) {
      return target + ":1:" + rest;
    }
  }
  if (name == source) return target;
  if (name.starts_with(source) && !std::isalnum(static_cast<unsigned char>(name[source.size()]))) {
    return target + name.substr(source.size());
  }
  return name;
}

}  // namespace

Result<ForkCopy> plan_fork(const ForkRequest& request, ExecutionId execution,
                           const std::vector<HistoryEvent>& events) {
  const std::size_t n = events.size();
  const EventId k = request.at;
  const std::string where = "instance '" + request.source + "' at step " + std::to_string(k) +
                            " of execution " + std::to_string(execution);
  auto refuse = [&](const std::string& why) {
    return fail(ErrorCode::kInvalidArgument, "cannot fork " + where + ": " + why);
  };
  if (k < 1 || k > n) {
    return refuse("the execution has " + std::to_string(n) + " events (steps 1.." +
                  std::to_string(n) + ")");
  }
  // The nearest steps before and after k where the code waits (a fork may cut there).
  auto boundary = [&](EventId step) {
    return step >= 1 && step <= n && !events[step - 1].is_terminal() &&
           (step == n || !recorded_by_code(events[step].kind()));
  };
  auto nearest = [&]() {
    std::string text;
    EventId before = k - 1;
    while (before >= 1 && !boundary(before)) --before;
    EventId after = k + 1;
    while (after <= n && !boundary(after)) ++after;
    if (before >= 1) text += "at " + std::to_string(before);
    if (after <= n) text += (text.empty() ? "at " : " or ") + std::to_string(after);
    return text.empty() ? std::string("no step of this execution can be forked")
                        : "fork " + text + " instead";
  };
  if (events[k - 1].is_terminal()) {
    return refuse("event " + std::to_string(k) + " (" + std::string(events[k - 1].kind_name()) +
                  ") ends the execution, and a fork must stop before its end; " + nearest());
  }
  if (k < n && recorded_by_code(events[k].kind())) {
    EventId woke = k;  // the event that woke the code for the step k is inside
    while (woke > 1 && recorded_by_code(events[woke - 1].kind())) --woke;
    EventId last = k + 1;
    while (last < n && recorded_by_code(events[last].kind())) ++last;
    return refuse("it cuts inside one step of the code: events " + std::to_string(woke + 1) + ".." +
                  std::to_string(last) + " were recorded together, in response to event " +
                  std::to_string(woke) + " (" + std::string(events[woke - 1].kind_name()) + "); " +
                  nearest());
  }
  ForkCopy copy;
  copy.events.assign(events.begin(), events.begin() + static_cast<std::ptrdiff_t>(k));
  for (auto& e : copy.events) {
    Status renamed;
    std::visit(
        [&](auto& b) {
          using T = std::decay_t<decltype(b)>;
          if constexpr (std::is_same_v<T, event::ExecutionStarted>) {
            b.parent.reset();  // the fork is a top-level instance
          } else if constexpr (std::is_same_v<T, event::SubOrchestrationScheduled> ||
                               std::is_same_v<T, event::EventSent>) {
            b.instance = forked_id(b.instance, request.source, execution, request.target);
            renamed = validate_instance_id(b.instance);
          }
        },
        e.body);
    if (!renamed) return refuse("event " + std::to_string(e.id) + ": " + renamed.error().message);
  }
  copy.outstanding = outstanding_after(copy.events, k);
  if (!copy.outstanding.children.empty()) {
    const auto& child = copy.outstanding.children.front();
    const auto& original =
        std::get<event::SubOrchestrationScheduled>(events[child.scheduled_id - 1].body);
    return refuse("sub-orchestration '" + child.name + "' (instance '" + original.instance +
                  "', event " + std::to_string(child.scheduled_id) +
                  ") would be outstanding, and a fork cannot share a child with its source; "
                  "fork before event " +
                  std::to_string(child.scheduled_id) + " or after its result");
  }
  return copy;
}

}  // namespace duractor::detail
