#include "duractor/runtime/detail/replay_engine.h"

#include <algorithm>

#include "duractor/runtime/detail/operation_cores.h"

namespace duractor {

namespace {

// Events the code produces (matched against history on replay) versus events that come
// from outside (applied to the code).
bool is_code_event(EventKind kind) {
  switch (kind) {
    case EventKind::kActivityScheduled:
    case EventKind::kTimerCreated:
    case EventKind::kSubOrchestrationScheduled:
    case EventKind::kEventSent:
    case EventKind::kCustomStatusSet:
    case EventKind::kActivityCancelRequested:
    case EventKind::kSubOrchestrationCancelRequested:
    case EventKind::kContinuedAsNew:
    case EventKind::kExecutionCompleted:
    case EventKind::kExecutionFailed:
    case EventKind::kExecutionCancelled:
    case EventKind::kTopicSubscribed:
    case EventKind::kTopicUnsubscribed:
    case EventKind::kTopicPublished:
      return true;
    default:
      return false;
  }
}

// Whether what the code does now is what history recorded.
bool same_action(const EventBody& now, const EventBody& recorded) {
  // Earlier builds ended an execution as cancelled whenever a Cancelled escaped, even
  // with no cancel requested; the code now fails it. Such a history still replays (and
  // keeps its recorded end).
  if (const auto* failed = std::get_if<event::ExecutionFailed>(&now);
      failed != nullptr && failed->failure.type == kCancelledType &&
      std::holds_alternative<event::ExecutionCancelled>(recorded)) {
    return true;
  }
  if (now.index() != recorded.index()) return false;
  return std::visit(
      [&](const auto& a) -> bool {
        using T = std::decay_t<decltype(a)>;
        const auto& b = std::get<T>(recorded);
        if constexpr (std::is_same_v<T, event::ActivityCancelRequested> ||
                      std::is_same_v<T, event::SubOrchestrationCancelRequested>) {
          return a.scheduled_id == b.scheduled_id;
        } else if constexpr (std::is_same_v<T, event::ExecutionFailed>) {
          return a.failure.type == b.failure.type;  // messages may carry incidental detail
        } else if constexpr (std::is_same_v<T, event::ExecutionCancelled>) {
          return true;
        } else {
          return a == b;
        }
      },
      now);
}

}  // namespace

FailureDetails awaited_cancelled_operation(FailureDetails failure) {
  static constexpr std::string_view kPrefix = "awaited a cancelled operation: ";
  if (!failure.message.starts_with(kPrefix)) failure.message.insert(0, kPrefix);
  return failure;
}

bool is_final(const Outcome& o) {
  return std::holds_alternative<outcome::Completed>(o) ||
         std::holds_alternative<outcome::Failed>(o) ||
         std::holds_alternative<outcome::Cancelled>(o);
}

ReplayEngine::ReplayEngine(const Registry& registry, InstanceId instance, EngineOptions options)
    : registry_(registry),
      instance_(std::move(instance)),
      options_(std::move(options)),
      logger_(options_.logger, instance_) {}

ReplayEngine::~ReplayEngine() {
  reset_execution();
}

const std::string& ReplayEngine::custom_status() const {
  static const std::string kNone;
  return ctx_ ? ctx_->custom_status() : kNone;
}

void ReplayEngine::reset_execution() {
  if (ctx_) ctx_->closing_ = true;
  task_ = Task<Bytes>();  // destroys the coroutine frames (they refer to the context)
  ctx_.reset();
}

Error ReplayEngine::nondeterminism(const HistoryEvent& recorded,
                                   const std::string& what_code_does) const {
  return Error::make(ErrorCode::kNondeterminism,
                     "nondeterminism in instance '" + instance_ + "' execution " +
                         std::to_string(execution_) + " (orchestration '" + name_ + "' v" +
                         std::to_string(version_) + ") at event #" + std::to_string(recorded.id) +
                         ": history recorded " + describe(recorded) + ", but the code now " +
                         what_code_does);
}

Error ReplayEngine::corrupt(const HistoryEvent& e, const std::string& problem) const {
  return Error::make(ErrorCode::kCorrupt, "history of instance '" + instance_ + "' execution " +
                                              std::to_string(execution_) +
                                              " is corrupt at event #" + std::to_string(e.id) +
                                              " (" + std::string(e.kind_name()) + "): " + problem);
}

Status ReplayEngine::load(ExecutionId execution, const std::vector<HistoryEvent>& history) {
  reset_execution();
  execution_ = execution;
  next_event_ = 1;
  outcome_ = outcome::NotStarted{};
  broken_ = true;  // until the whole history replays
  divergence_.reset();
  mode_ = Mode::kReplay;
  if (history.empty()) {
    return fail(ErrorCode::kCorrupt, "history of instance '" + instance_ + "' execution " +
                                         std::to_string(execution) + " has no events");
  }
  for (std::size_t i = 0; i < history.size(); ++i) {
    const auto& e = history[i];
    if (e.id != next_event_) {
      return fail(corrupt(e, "expected event #" + std::to_string(next_event_)));
    }
    // A cancel recorded as having come with the start: the code did not run then.
    if (e.kind() == EventKind::kExecutionStarted && i + 1 < history.size()) {
      const auto* cancel = std::get_if<event::CancelRequested>(&history[i + 1].body);
      cancel_before_start_ =
          cancel != nullptr && cancel->disposition == event::CancelDisposition::kBeforeStart;
    }
    if (auto st = process_recorded(e); !st) {
      mode_ = Mode::kLive;
      return st;
    }
    next_event_ = e.id + 1;
  }
  mode_ = Mode::kLive;
  if (ctx_ && !ctx_->pending_.empty()) {
    HistoryEvent extra{next_event_, ctx_->now_, ctx_->pending_.front().body};
    divergence_ = Divergence{next_event_, std::nullopt, extra.body, false};
    return fail(Error::make(
        ErrorCode::kNondeterminism,
        "nondeterminism in instance '" + instance_ + "' execution " + std::to_string(execution_) +
            " (orchestration '" + name_ + "' v" + std::to_string(version_) +
            "): the code now does " + describe(extra).substr(describe(extra).find(' ') + 1) +
            " after event #" + std::to_string(next_event_ - 1) +
            ", where the recorded history has nothing (an operation was added or reordered, or the "
            "history was cut short)"));
  }
  if (ctx_) {
    ctx_->replaying_ = false;
    ctx_->logger_.set_muted(false);
  }
  broken_ = false;
  return {};
}

Status ReplayEngine::process_recorded(const HistoryEvent& e) {
  if (!running() && !std::holds_alternative<outcome::NotStarted>(outcome_)) {
    return fail(corrupt(e, "the execution had already ended"));
  }
  if (ctx_) ctx_->now_ = e.timestamp;
  if (!is_code_event(e.kind())) return apply_input(e);
  if (!ctx_) return fail(corrupt(e, "the execution has not started"));
  if (ctx_->pending_.empty()) {
    std::string state = task_.done() ? "has finished" : "is waiting";
    divergence_ = Divergence{e.id, e, std::nullopt, task_.done()};
    return fail(nondeterminism(e, "does not do it (the code " + state +
                                      " at that point: an operation was removed or reordered)"));
  }
  auto action = std::move(ctx_->pending_.front());
  ctx_->pending_.pop_front();
  if (action.cancels) {
    std::visit(
        [&](auto& body) {
          if constexpr (requires { body.scheduled_id; }) body.scheduled_id = action.cancels->id;
        },
        action.body);
  }
  if (!same_action(action.body, e.body)) {
    HistoryEvent now{e.id, e.timestamp, action.body};
    divergence_ = Divergence{e.id, e, action.body, false};
    auto text = describe(now);
    return fail(nondeterminism(e, "does " + text.substr(text.find(' ') + 1)));
  }
  if (action.binds) bind(*action.binds, e.id);
  apply_code_event(e);
  return {};
}

void ReplayEngine::bind(detail::OperationCore& core, EventId id) {
  core.bind(id);
  if (core.abandoned()) {  // given up in the turn that created it
    ctx_->given_up_.emplace(id, core.kind());
  } else {
    ctx_->open_[id] = std::static_pointer_cast<detail::OperationCore>(core.shared_from_this());
  }
}

void ReplayEngine::apply_code_event(const HistoryEvent& e) {
  std::visit(
      [&](const auto& body) {
        using T = std::decay_t<decltype(body)>;
        if constexpr (std::is_same_v<T, event::ExecutionCompleted>) {
          end_execution(outcome::Completed{body.output});
        } else if constexpr (std::is_same_v<T, event::ExecutionFailed>) {
          end_execution(outcome::Failed{body.failure});
        } else if constexpr (std::is_same_v<T, event::ExecutionCancelled>) {
          end_execution(outcome::Cancelled{body.reason, terminate_requested_});
        } else if constexpr (std::is_same_v<T, event::ContinuedAsNew>) {
          std::vector<CarriedEvent> carried(ctx_->buffered_events_.begin(),
                                            ctx_->buffered_events_.end());
          end_execution(outcome::ContinuedAsNew{body.input, body.version, std::move(carried),
                                                ctx_->custom_status_});
        } else if constexpr (std::is_same_v<T, event::ActivityCancelRequested> ||
                             std::is_same_v<T, event::SubOrchestrationCancelRequested>) {
          // Nothing changes for the code: the operation stays open (a late result is
          // recorded) unless its future was abandoned.
        }
      },
      e.body);
}

void ReplayEngine::end_execution(Outcome outcome) {
  outcome_ = std::move(outcome);
  if (ctx_) ctx_->closing_ = true;
  // The coroutine is finished or will never resume: free it. The context goes too, but not
  // before the turn has read what it needs (custom status is kept in the result).
  task_ = Task<Bytes>();
}

Status ReplayEngine::start_execution(const HistoryEvent& e) {
  const auto& started = std::get<event::ExecutionStarted>(e.body);
  if (ctx_ || !std::holds_alternative<outcome::NotStarted>(outcome_)) {
    return fail(corrupt(e, "a second ExecutionStarted"));
  }
  name_ = started.name;
  version_ = started.version;
  parent_ = started.parent;
  cancel_requested_ = false;
  terminate_requested_ = false;
  body_held_ = false;
  bool defer = std::exchange(cancel_before_start_, false);
  if (started.rules < kFirstRules || started.rules > kCurrentRules) {
    return fail(Error::make(ErrorCode::kUnsupported,
                            "history of instance '" + instance_ + "' execution " +
                                std::to_string(execution_) + " was recorded under rules revision " +
                                std::to_string(started.rules) + "; this build knows revisions " +
                                std::to_string(kFirstRules) + " to " +
                                std::to_string(kCurrentRules)));
  }
  auto entry = registry_.orchestration(started.name, started.version);
  ctx_.reset(new OrchestrationContext(instance_, execution_, started.name, started.version,
                                      options_.logger));
  ctx_->now_ = e.timestamp;
  ctx_->replaying_ = mode_ == Mode::kReplay;
  ctx_->logger_.set_muted(ctx_->replaying_);
  ctx_->buffered_events_.assign(started.carried_events.begin(), started.carried_events.end());
  ctx_->rules_ = started.rules;
  ctx_->custom_status_ = started.custom_status;
  outcome_ = outcome::Running{};
  if (!entry) {
    if (mode_ == Mode::kReplay) return fail(entry.error());
    // A live start of an unknown orchestration fails the instance with a clear reason.
    ctx_->emit(event::ExecutionFailed{FailureDetails{.category = ErrorCategory::kConfiguration,
                                                     .type = "duractor::NotRegistered",
                                                     .message = entry.error().message,
                                                     .kind = FailureKind::kUnregistered}});
    return {};
  }
  // A cancel that came with the start: the code never runs (the CancelRequested that
  // follows ends the execution).
  if (defer) {
    body_held_ = true;
    return {};
  }
  task_ = (*entry)->function(*ctx_, started.input);
  task_.handle().resume();
  check_progress();
  return {};
}

void ReplayEngine::check_progress() {
  if (!running() || !ctx_ || !task_.handle()) return;
  if (ctx_->continue_as_new_) {
    auto [input, version] = std::move(*ctx_->continue_as_new_);
    ctx_->continue_as_new_.reset();
    ctx_->emit(event::ContinuedAsNew{std::move(input), version});
    return;
  }
  if (!task_.done()) return;
  auto handle = task_.handle();
  auto& promise = handle.promise();
  if (promise.error) {
    auto failure = failure_of(promise.error);
    if (failure.type == kCancelledType && cancel_requested_) {
      ctx_->emit(event::ExecutionCancelled{failure.message});
    } else if (failure.type == kCancelledType) {
      // Nobody asked this instance to stop: the code awaited something that was cancelled
      // (a when_any loser, a cancelled activity or child) and let it escape. That is a
      // failure of the code, not a cancellation of the instance.
      ctx_->emit(event::ExecutionFailed{awaited_cancelled_operation(std::move(failure))});
    } else {
      ctx_->emit(event::ExecutionFailed{failure});
    }
  } else {
    ctx_->emit(event::ExecutionCompleted{*promise.value});
  }
  task_ = Task<Bytes>();  // emitted once; the frame is no longer needed
}

Status ReplayEngine::apply_input(const HistoryEvent& e) {
  if (e.kind() == EventKind::kExecutionStarted) return start_execution(e);
  if (!ctx_ || !running()) return fail(corrupt(e, "the execution is not running"));
  auto& ctx = *ctx_;
  // Completions: find the operation they complete.
  if (auto completes = e.completes()) {
    auto it = ctx.open_.find(*completes);
    auto expected = [&]() {
      switch (e.kind()) {
        case EventKind::kActivityCompleted:
        case EventKind::kActivityFailed:
          return detail::CoreKind::kActivity;
        case EventKind::kTimerFired:
          return detail::CoreKind::kTimer;
        default:
          return detail::CoreKind::kChild;
      }
    }();
    if (it == ctx.open_.end()) {
      // A result for an operation the code gave up: builds before rules 2 recorded it;
      // it was never used.
      if (auto given_up = ctx.given_up_.find(*completes);
          given_up != ctx.given_up_.end() && given_up->second == expected) {
        ctx.given_up_.erase(given_up);
        return {};
      }
      return fail(corrupt(
          e, "it completes #" + std::to_string(*completes) + ", which is not an open operation"));
    }
    auto core = it->second;
    if (core->kind() != expected) {
      return fail(
          corrupt(e, "#" + std::to_string(*completes) + " is not an operation of that kind"));
    }
    ctx.open_.erase(it);
    std::visit(
        [&](const auto& body) {
          using T = std::decay_t<decltype(body)>;
          if constexpr (std::is_same_v<T, event::ActivityCompleted> ||
                        std::is_same_v<T, event::SubOrchestrationCompleted>) {
            core->settle_payload(body.output);
          } else if constexpr (std::is_same_v<T, event::TimerFired>) {
            core->settle_payload(encode(Unit{}));
          } else if constexpr (std::is_same_v<T, event::ActivityFailed>) {
            core->settle_error(std::make_exception_ptr(ActivityFailed(core->name, body.failure)));
          } else if constexpr (std::is_same_v<T, event::SubOrchestrationFailed>) {
            core->settle_error(std::make_exception_ptr(
                SubOrchestrationFailed(core->name, core->child, body.failure)));
          }
        },
        e.body);
    check_progress();
    return {};
  }
  if (const auto* raised = std::get_if<event::EventRaised>(&e.body)) {
    auto it = ctx.event_waiters_.find(raised->name);
    if (it != ctx.event_waiters_.end() && !it->second.empty()) {
      auto* waiter = it->second.front();
      it->second.pop_front();
      if (it->second.empty()) ctx.event_waiters_.erase(it);
      waiter->deliver(raised->payload);
    } else {
      ctx.buffered_events_.push_back({raised->name, raised->payload});
    }
    check_progress();
    return {};
  }
  if (const auto* cancel = std::get_if<event::CancelRequested>(&e.body)) {
    if (cancel->disposition == event::CancelDisposition::kIgnored) return {};  // one was delivered
    if (cancel->disposition == event::CancelDisposition::kBeforeStart) {
      if (!body_held_) {
        return fail(corrupt(e, "a cancel recorded as before the start, after the code ran"));
      }
      cancel_requested_ = true;
      terminate_requested_ = cancel->terminate;
      ctx.emit(event::ExecutionCancelled{cancel->reason});
      return {};
    }
    cancel_requested_ = true;
    terminate_requested_ = terminate_requested_ || cancel->terminate;
    // Cascade, in id order: in-flight activities see their token, children are cancelled.
    for (auto& [id, core] : ctx.open_) {
      if (!core->abandoned()) core->request_cancel(cancel->reason, cancel->terminate);
    }
    if (cancel->terminate) {
      ctx.emit(event::ExecutionCancelled{cancel->reason});
      ctx.closing_ = true;  // what the frames still hold is ended with the execution
      task_ = Task<Bytes>();
      return {};
    }
    // Cooperative: every suspended await throws Cancelled (once).
    ctx.awaits_.interrupt_all(cancel->reason);
    check_progress();
    return {};
  }
  return fail(corrupt(e, "unexpected event kind"));
}

void ReplayEngine::flush_pending(TurnResult& turn) {
  if (!ctx_) return;
  while (!ctx_->pending_.empty()) {
    auto action = std::move(ctx_->pending_.front());
    ctx_->pending_.pop_front();
    if (action.cancels) {
      std::visit(
          [&](auto& body) {
            if constexpr (requires { body.scheduled_id; }) body.scheduled_id = action.cancels->id;
          },
          action.body);
    }
    HistoryEvent e{next_event_++, turn_now_, std::move(action.body)};
    if (action.binds) bind(*action.binds, e.id);
    std::visit(
        [&](const auto& body) {
          using T = std::decay_t<decltype(body)>;
          if constexpr (std::is_same_v<T, event::ActivityScheduled>) {
            turn.actions.emplace_back(std::in_place_type<action::ScheduleActivity>, e.id, body.name,
                                      body.input, body.attempt);
          } else if constexpr (std::is_same_v<T, event::TimerCreated>) {
            turn.actions.emplace_back(std::in_place_type<action::CreateTimer>, e.id, body.fire_at);
          } else if constexpr (std::is_same_v<T, event::SubOrchestrationScheduled>) {
            turn.actions.emplace_back(std::in_place_type<action::StartChild>, e.id, body.instance,
                                      body.name, body.version, body.input, body.detached);
          } else if constexpr (std::is_same_v<T, event::EventSent>) {
            turn.actions.emplace_back(std::in_place_type<action::SendEvent>, body.instance,
                                      body.name, body.payload);
          } else if constexpr (std::is_same_v<T, event::ActivityCancelRequested>) {
            turn.actions.emplace_back(std::in_place_type<action::CancelActivity>, body.scheduled_id,
                                      body.reason);
          } else if constexpr (std::is_same_v<T, event::SubOrchestrationCancelRequested>) {
            turn.actions.emplace_back(std::in_place_type<action::CancelChild>, body.scheduled_id,
                                      action.cancels->child, body.reason, body.terminate);
          } else if constexpr (std::is_same_v<T, event::CustomStatusSet>) {
            turn.custom_status = body.status;
          } else if constexpr (std::is_same_v<T, event::TopicSubscribed>) {
            turn.actions.emplace_back(std::in_place_type<action::Subscribe>, body.topic);
          } else if constexpr (std::is_same_v<T, event::TopicUnsubscribed>) {
            turn.actions.emplace_back(std::in_place_type<action::Unsubscribe>, body.topic);
          } else if constexpr (std::is_same_v<T, event::TopicPublished>) {
            // Only a live turn gets here: a replayed publication was delivered by the turn
            // that recorded it, and replay only matches it (process_recorded).
            turn.actions.emplace_back(std::in_place_type<action::Publish>, body.topic,
                                      body.payload);
          }
        },
        e.body);
    apply_code_event(e);
    if (!running()) turn.ended = true;
    turn.new_events.push_back(std::move(e));
  }
}

void ReplayEngine::append_input(TurnResult& turn, EventBody body) {
  HistoryEvent e{next_event_++, turn_now_, std::move(body)};
  if (ctx_) ctx_->now_ = turn_now_;
  auto applied = apply_input(e);
  turn.new_events.push_back(std::move(e));
  if (!applied) logger_.error("could not apply an input event: {}", applied.error().message);
  flush_pending(turn);
}

void ReplayEngine::handle_message(TurnResult& turn, const InboxEntry& entry) {
  const auto& m = entry.message;
  auto consume = [&] { turn.consumed.push_back(entry.seq); };
  auto drop = [&](std::string_view why) {
    consume();
    logger_.debug("dropped inbox message {} ({}): {}", entry.seq, to_string(kind_of(m)), why);
  };

  // Results for another execution, or for an operation no longer open, are dropped.
  auto open_operation = [&](ExecutionId execution, EventId id,
                            detail::CoreKind kind) -> std::shared_ptr<detail::OperationCore> {
    if (!running() || execution != execution_ || !ctx_) return nullptr;
    // Given up (cancellation recorded, or a timer nobody waits for): not recorded.
    if (ctx_->given_up_.erase(id) != 0) return nullptr;
    auto it = ctx_->open_.find(id);
    if (it == ctx_->open_.end() || it->second->kind() != kind) return nullptr;
    return it->second;
  };

  std::visit(
      [&](const auto& msg) {
        using T = std::decay_t<decltype(msg)>;
        if constexpr (std::is_same_v<T, message::Start>) {
          if (!std::holds_alternative<outcome::NotStarted>(outcome_) &&
              !std::holds_alternative<outcome::ContinuedAsNew>(outcome_)) {
            return drop("the instance has already started");
          }
          if (msg.execution != execution_ + 1) return drop("not the next execution");
          consume();
          reset_execution();
          execution_ = msg.execution;
          next_event_ = 1;
          outcome_ = outcome::NotStarted{};
          std::uint32_t version = msg.version;
          if (version == 0) {
            auto latest = registry_.orchestration(msg.name, 0);
            if (latest) version = (*latest)->version;
          }
          turn.execution = execution_;
          turn.started = true;
          append_input(
              turn, event::ExecutionStarted{msg.name, version, msg.input, msg.parent,
                                            msg.carried_events, kCurrentRules, msg.custom_status});
        } else if constexpr (std::is_same_v<T, message::Event>) {
          if (is_final(outcome_)) return drop("the instance has finished");
          if (!running()) return;  // for the next execution
          consume();
          append_input(turn, event::EventRaised{msg.name, msg.payload});
        } else if constexpr (std::is_same_v<T, message::Cancel>) {
          if (is_final(outcome_)) return drop("the instance has finished");
          if (!running()) return;
          consume();
          auto disposition = event::CancelDisposition::kDelivered;
          if (body_held_ && !cancel_requested_) {
            disposition = event::CancelDisposition::kBeforeStart;  // the code was held back
          } else if (cancel_requested_ && !msg.terminate) {
            disposition = event::CancelDisposition::kIgnored;
            logger_.info("cancel ignored (\"{}\"): a cancel was already delivered", msg.reason);
          }
          append_input(turn, event::CancelRequested{msg.reason, msg.terminate, disposition});
        } else if constexpr (std::is_same_v<T, message::ActivityResult>) {
          if (!open_operation(msg.execution, msg.scheduled_id, detail::CoreKind::kActivity)) {
            return drop("no open activity with that id");
          }
          consume();
          if (msg.failure) {
            append_input(turn, event::ActivityFailed{msg.scheduled_id, *msg.failure});
          } else {
            append_input(turn, event::ActivityCompleted{msg.scheduled_id, msg.output});
          }
        } else if constexpr (std::is_same_v<T, message::TimerFired>) {
          if (!open_operation(msg.execution, msg.scheduled_id, detail::CoreKind::kTimer)) {
            return drop("no open timer with that id");
          }
          consume();
          append_input(turn, event::TimerFired{msg.scheduled_id, msg.fire_at});
        } else if constexpr (std::is_same_v<T, message::ChildResult>) {
          if (!open_operation(msg.execution, msg.scheduled_id, detail::CoreKind::kChild)) {
            return drop("no open sub-orchestration with that id");
          }
          consume();
          if (msg.failure) {
            append_input(turn, event::SubOrchestrationFailed{msg.scheduled_id, *msg.failure});
          } else {
            append_input(turn, event::SubOrchestrationCompleted{msg.scheduled_id, msg.output});
          }
        } else if constexpr (std::is_same_v<T, message::Pause> ||
                             std::is_same_v<T, message::Resume>) {
          drop("pause and resume are taken by the host, not by the code");
        }
      },
      m);
}

Result<TurnResult> ReplayEngine::run_turn(const std::vector<InboxEntry>& messages, TimePoint now) {
  if (broken_) {
    return fail(ErrorCode::kInternal,
                "the engine of instance '" + instance_ + "' failed to load; discard it");
  }
  mode_ = Mode::kLive;
  turn_now_ = now;
  TurnResult turn;
  turn.execution = execution_;
  // An instance waiting for its (next) execution starts it first, whatever the order.
  // A cancel that came with the start goes right after it, and the code never runs.
  std::vector<const InboxEntry*> order;
  const InboxEntry* cancel_first = nullptr;
  bool waiting_for_start = std::holds_alternative<outcome::NotStarted>(outcome_) ||
                           std::holds_alternative<outcome::ContinuedAsNew>(outcome_);
  if (waiting_for_start) {
    bool starts = false;
    for (const auto& m : messages) {
      if (const auto* start = std::get_if<message::Start>(&m.message)) {
        starts = starts || start->execution == execution_ + 1;
        order.push_back(&m);
      }
    }
    for (const auto& m : messages) {
      if (starts && std::holds_alternative<message::Cancel>(m.message)) {
        cancel_first = &m;
        break;
      }
    }
    cancel_before_start_ = cancel_first != nullptr;
    if (cancel_first != nullptr) order.push_back(cancel_first);
  }
  for (const auto& m : messages) {
    if (!(waiting_for_start && std::holds_alternative<message::Start>(m.message)) &&
        &m != cancel_first) {
      order.push_back(&m);
    }
  }
  // Once the execution ends, what follows is dropped (the instance finished) or left for
  // the next execution (it continued as new); handle_message decides from the outcome.
  for (const auto* m : order) handle_message(turn, *m);
  cancel_before_start_ = false;
  turn.outcome = outcome_;
  return turn;
}

TurnResult failed_turn(ExecutionId execution, std::vector<std::uint64_t> consumed,
                       std::optional<HistoryEvent> started, EventId last_event,
                       FailureDetails failure, TimePoint now) {
  TurnResult turn;
  turn.execution = execution;
  turn.consumed = std::move(consumed);
  if (started) {
    last_event = started->id;
    turn.started = true;
    turn.new_events.push_back(std::move(*started));
  }
  turn.new_events.push_back(HistoryEvent{last_event + 1, now, event::ExecutionFailed{failure}});
  turn.outcome = outcome::Failed{std::move(failure)};
  turn.ended = true;
  return turn;
}

TurnResult ReplayEngine::fail_turn(FailureDetails failure, EventId history_length,
                                   const std::vector<InboxEntry>& messages, TimePoint now) {
  reset_execution();
  std::vector<std::uint64_t> consumed;
  for (const auto& m : messages) consumed.push_back(m.seq);
  auto turn = failed_turn(execution_, std::move(consumed), std::nullopt, history_length,
                          std::move(failure), now);
  next_event_ = history_length + 2;
  outcome_ = turn.outcome;
  broken_ = false;
  return turn;
}

}  // namespace duractor
