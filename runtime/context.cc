// OrchestrationContext's members: what the orchestration code's calls record (runtime/
// context.h). Each call validates its names and ids, creates the future's core
// (detail/operation_cores.h) and queues the event it records; the replay engine matches
// the queue against history or records it (detail/replay_engine.cc).

#include "duractor/runtime/context.h"

#include <algorithm>

#include "duractor/runtime/detail/operation_cores.h"
#include "duractor/runtime/exceptions.h"
#include "duractor/runtime/ids.h"

namespace duractor {

OrchestrationContext::OrchestrationContext(InstanceId instance, ExecutionId execution,
                                           std::string name, std::uint32_t version,
                                           std::shared_ptr<spdlog::logger> logger)
    : instance_(std::move(instance)),
      execution_(execution),
      name_(std::move(name)),
      version_(version),
      logger_(std::move(logger), instance_ + "/" + std::to_string(execution_) + " " + name_) {}

OrchestrationContext::~OrchestrationContext() {
  // Futures still waiting for events must not reach back into a half-destroyed context.
  event_waiters_.clear();
}

std::string OrchestrationContext::new_guid() {
  return uuid_from_seed(instance_ + "/" + std::to_string(execution_) + "/" +
                        std::to_string(++guids_));
}

void OrchestrationContext::emit(EventBody body, std::shared_ptr<detail::OperationCore> binds,
                                std::shared_ptr<detail::OperationCore> cancels) {
  pending_.push_back(PendingAction{std::move(body), std::move(binds), std::move(cancels)});
}

std::shared_ptr<detail::FutureCore> OrchestrationContext::schedule_activity(
    std::string_view name, Bytes input, const RetryPolicy* retry) {
  if (auto valid = validate_name(name, "activity name"); !valid) {
    throw_configuration_error(valid.error());
  }
  auto schedule_attempt = [this](std::string activity, Bytes payload, std::uint32_t attempt) {
    auto core = std::make_shared<detail::OperationCore>(*this, detail::CoreKind::kActivity,
                                                        "activity '" + activity + "'");
    core->name = activity;
    emit(event::ActivityScheduled{std::move(activity), std::move(payload), attempt}, core);
    return core;
  };
  if (retry == nullptr) return schedule_attempt(std::string(name), std::move(input), 1);
  if (retry->max_attempts == 0) {
    throw ConfigurationError(
        ErrorCode::kInvalidArgument,
        "retry policy for activity '" + std::string(name) + "' allows 0 attempts");
  }
  auto timer = [this](TimePoint at) {
    return std::static_pointer_cast<detail::OperationCore>(create_timer(at));
  };
  // Each attempt records the input again: the lambda keeps it.
  auto schedule = [schedule_attempt, activity = std::string(name), input = std::move(input)](
                      std::uint32_t attempt) { return schedule_attempt(activity, input, attempt); };
  auto core =
      std::make_shared<detail::RetryCore>(*this, std::string(name), *retry, schedule, timer);
  core->start();
  return core;
}

std::shared_ptr<detail::FutureCore> OrchestrationContext::create_timer(TimePoint at) {
  auto core = std::make_shared<detail::OperationCore>(*this, detail::CoreKind::kTimer, "timer");
  emit(event::TimerCreated{at}, core);
  return core;
}

std::shared_ptr<detail::FutureCore> OrchestrationContext::wait_for_event(std::string_view name) {
  if (auto valid = validate_name(name, "event name"); !valid) {
    throw_configuration_error(valid.error());
  }
  auto core = std::make_shared<detail::EventCore>(*this, std::string(name));
  // An event that arrived before anyone waited goes to the first wait for its name.
  for (auto it = buffered_events_.begin(); it != buffered_events_.end(); ++it) {
    if (it->name == name) {
      Bytes payload = std::move(it->payload);
      buffered_events_.erase(it);
      core->deliver(std::move(payload));
      return core;
    }
  }
  core->start_waiting();
  event_waiters_[std::string(name)].push_back(core.get());
  return core;
}

void OrchestrationContext::give_up(detail::OperationCore& core) {
  // Not yet recorded (given up in the turn that created it): the engine leaves it out of
  // the open operations when it records the scheduling event.
  if (core.id == 0) return;
  if (open_.erase(core.id) != 0) given_up_.emplace(core.id, core.kind());
}

void OrchestrationContext::remove_event_waiter(detail::EventCore* waiter) {
  auto it = event_waiters_.find(waiter->name());
  if (it == event_waiters_.end()) return;
  auto& q = it->second;
  q.erase(std::remove(q.begin(), q.end(), waiter), q.end());
  if (q.empty()) event_waiters_.erase(it);
}

void OrchestrationContext::record_send_event(const InstanceId& instance, std::string_view name,
                                             Bytes payload) {
  if (auto valid = validate_instance_id(instance); !valid) throw_configuration_error(valid.error());
  if (auto valid = validate_name(name, "event name"); !valid)
    throw_configuration_error(valid.error());
  emit(event::EventSent{instance, std::string(name), std::move(payload)});
}

std::pair<std::shared_ptr<detail::FutureCore>, InstanceId> OrchestrationContext::schedule_child(
    std::string_view name, std::uint32_t version, Bytes input,
    const SubOrchestrationOptions& options, bool detached) {
  if (auto valid = validate_name(name, "orchestration name"); !valid) {
    throw_configuration_error(valid.error());
  }
  ++children_;
  InstanceId child = options.instance.value_or(instance_ + ":" + std::to_string(execution_) + ":" +
                                               std::to_string(children_));
  if (auto valid = validate_instance_id(child); !valid) throw_configuration_error(valid.error());
  auto core = std::make_shared<detail::OperationCore>(
      *this, detail::CoreKind::kChild,
      "sub-orchestration '" + std::string(name) + "' (instance '" + child + "')");
  core->name = std::string(name);
  core->child = child;
  core->detached = detached;
  emit(event::SubOrchestrationScheduled{std::string(name), version, child, std::move(input),
                                        detached},
       core);
  return {core, child};
}

void OrchestrationContext::request_continue_as_new(Bytes input, std::uint32_t version) {
  continue_as_new_ = std::make_pair(std::move(input), version);
}

void OrchestrationContext::throw_spawn_refused() {
  throw ConfigurationError(ErrorCode::kInvalidArgument,
                           "ctx.spawn needs a helper task that has not started: this one has no "
                           "coroutine, has finished or is being awaited already");
}

void OrchestrationContext::subscribe(std::string_view topic) {
  if (auto valid = validate_name(topic, "topic name"); !valid)
    throw_configuration_error(valid.error());
  emit(event::TopicSubscribed{std::string(topic)});
}

void OrchestrationContext::unsubscribe(std::string_view topic) {
  if (auto valid = validate_name(topic, "topic name"); !valid)
    throw_configuration_error(valid.error());
  emit(event::TopicUnsubscribed{std::string(topic)});
}

void OrchestrationContext::record_publish(std::string_view topic, Bytes payload) {
  if (auto valid = validate_name(topic, "topic name"); !valid)
    throw_configuration_error(valid.error());
  emit(event::TopicPublished{std::string(topic), std::move(payload)});
}

void OrchestrationContext::set_custom_status(std::string status) {
  custom_status_ = status;
  emit(event::CustomStatusSet{std::move(status)});
}

}  // namespace duractor
