#include "duractor/actors/client.h"

#include <future>

#include <caf/send.hpp>

#include "duractor/actors/detail/actor_messages.h"
#include "duractor/actors/detail/host_core.h"

namespace duractor {

namespace {

Status check_payload(const detail::HostCore& core, std::string_view what, std::size_t size) {
  if (size > core.options.max_payload_bytes) {
    return fail(ErrorCode::kLimitExceeded, std::string(what) + " is " + std::to_string(size) +
                                               " bytes, over the payload limit of " +
                                               std::to_string(core.options.max_payload_bytes) +
                                               " bytes (HostOptions::max_payload_bytes)");
  }
  return {};
}

Status check_accepting(const detail::HostCore& core) {
  if (!core.accepting) return fail(ErrorCode::kShutdown, "the runtime is stopping");
  return {};
}

// Runs `f` while the host's store and broker are open, or fails with kShutdown.
template <class F>
auto while_open(detail::HostCore& core, F&& f) -> decltype(f()) {
  std::shared_lock lock(core.open_mutex);
  if (!core.open) return fail(ErrorCode::kShutdown, "the runtime has stopped");
  return f();
}

// A lifecycle notification for a change the store made outside a turn (rewind, fork),
// once it is durable. Only this process's subscribers hear it: a rewind or fork made from
// the command line has none.
void notify_changed(detail::HostCore& core, LifecycleKind kind, const InstanceId& id,
                    std::optional<ForkOrigin> origin = std::nullopt) {
  auto& hub = core.broker->lifecycle();
  if (hub.subscriptions() == 0) return;
  auto info = core.store.read_instance(id);
  if (!info) return;  // gone again already: nothing to tell
  LifecycleEvent e;
  e.kind = kind;
  e.instance = id;
  e.orchestration = info->name;
  e.execution = info->execution;
  e.forked_from = std::move(origin);
  e.at = core.clock.now();
  hub.publish(e);
}

}  // namespace

Result<NewInstance> detail::start_request(const HostCore& core, std::string_view name,
                                          InstanceId id, Bytes input, std::uint32_t version) {
  if (auto ok = check_accepting(core); !ok) return fail(ok.error());
  if (auto known = core.registry.orchestration(name, version); !known) return fail(known.error());
  if (auto ok = check_payload(core, "the input", input.size()); !ok) return fail(ok.error());
  if (id.empty()) id = random_uuid();
  return NewInstance{id, std::string(name), version, std::move(input), /*idempotent=*/true};
}

Result<InstanceId> Client::start(std::string_view name, InstanceId id, Bytes input,
                                 std::uint32_t version) {
  return while_open(*core_, [&]() -> Result<InstanceId> {
    return start_open(name, std::move(id), std::move(input), version);
  });
}

Result<InstanceId> Client::start_open(std::string_view name, InstanceId id, Bytes input,
                                      std::uint32_t version) {
  auto request = detail::start_request(*core_, name, std::move(id), std::move(input), version);
  if (!request) return fail(request.error());
  auto created = core_->store.create_instance(*request);
  if (!created) return fail(created.error());
  caf::anon_send(core_->directory, wake_atom::value, request->id);
  return request->id;
}

Status Client::raise_event(const InstanceId& id, std::string_view name, Bytes payload) {
  if (name.starts_with(kTopicEventPrefix)) {
    return fail(ErrorCode::kInvalidArgument,
                "event name '" + std::string(name) + "': names starting with '" +
                    std::string(kTopicEventPrefix) + "' are reserved for topic publications");
  }
  return while_open(*core_,
                    [&] { return core_->broker->raise_event(id, name, std::move(payload)); });
}

Status Client::raise_event(const InstanceId& id, std::string_view name, Bytes payload,
                           const MessageId& message_id) {
  if (message_id.empty()) {
    return fail(ErrorCode::kInvalidArgument, "message id: empty (use the overload without one)");
  }
  // Reserved and malformed names are refused by the store (validate_inbox_message).
  return while_open(
      *core_, [&] { return core_->broker->raise_event(id, name, std::move(payload), message_id); });
}

Result<PublishReceipt> Client::publish(std::string topic, Bytes payload,
                                       const MessageId& message_id) {
  if (message_id.empty()) {
    return fail(ErrorCode::kInvalidArgument, "message id: empty (use the overload without one)");
  }
  return while_open(*core_, [&] {
    return core_->broker->publish(std::move(topic), std::move(payload), message_id);
  });
}

Result<PublishReceipt> Client::publish(std::string topic, Bytes payload) {
  return while_open(*core_,
                    [&] { return core_->broker->publish(std::move(topic), std::move(payload)); });
}

Status Client::cancel(const InstanceId& id, std::string reason, bool terminate) {
  return while_open(*core_,
                    [&] { return core_->broker->cancel(id, std::move(reason), terminate); });
}

Status Client::pause(const InstanceId& id, std::string reason) {
  return enqueue_control(id, message::Pause{std::move(reason)});
}

Status Client::resume(const InstanceId& id) {
  return enqueue_control(id, message::Resume{});
}

Status Client::enqueue_control(const InstanceId& id, InboxMessage message) {
  return while_open(*core_, [&]() -> Status {
    if (auto ok = check_accepting(*core_); !ok) return ok;
    auto seq = core_->store.enqueue(id, std::move(message));
    if (!seq) return fail(seq.error());
    caf::anon_send(core_->directory, wake_atom::value, id);
    return {};
  });
}

Result<InstanceInfo> Client::status(const InstanceId& id) {
  return while_open(*core_, [&] { return core_->store.read_instance(id); });
}

Result<InstanceInfo> Client::wait(const InstanceId& id, Milliseconds timeout, WaitOptions options) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  bool seen = false;  // the instance existed at some point of this wait
  for (;;) {
    auto promise = std::make_shared<std::promise<Result<InstanceInfo>>>();
    auto future = promise->get_future();
    auto token = core_->hub.watch(id, [promise](const Result<InstanceInfo>& outcome) {
      promise->set_value(outcome);  // the hub calls each watcher once
    });
    // It may have finished before the watch began, or not exist (yet).
    auto now = status(id);
    bool missing = !now && now.error().code == ErrorCode::kNotFound;
    if (!missing) seen = true;
    if ((!now && !(missing && options.until_created && !seen)) ||
        (now && is_terminal(now->status))) {
      core_->hub.unwatch(id, token);
      return now;
    }
    if (future.wait_until(deadline) != std::future_status::ready) {
      core_->hub.unwatch(id, token);
      return fail(ErrorCode::kTimeout, "instance '" + id + "' did not finish within " +
                                           std::to_string(timeout.count()) + " ms (" +
                                           (now ? "it is " + std::string(to_string(now->status))
                                                : std::string("it has not been created")) +
                                           ")");
    }
    auto outcome = future.get();
    // kNotFound for an instance this wait never saw: the host found no such instance (yet).
    // Waiting until it is created, look again under a new watch.
    if (!outcome && outcome.error().code == ErrorCode::kNotFound && options.until_created &&
        !seen) {
      continue;
    }
    return outcome;  // the final information, or kNotFound: it was deleted meanwhile
  }
}

std::optional<Error> Client::outcome_error(const InstanceInfo& info) {
  switch (info.status) {
    case InstanceStatus::kCompleted:
      return std::nullopt;
    case InstanceStatus::kFailed: {
      auto e = Error::make(ErrorCode::kApplicationFailure,
                           "instance '" + info.id + "' failed: " +
                               (info.failure ? info.failure->type + ": " + info.failure->message
                                             : std::string("unknown failure")));
      if (info.failure) e.category = info.failure->category;
      return e;
    }
    case InstanceStatus::kCancelled:
    case InstanceStatus::kTerminated:
      return Error::make(
          ErrorCode::kCancelled,
          "instance '" + info.id + "' was " +
              (info.status == InstanceStatus::kTerminated ? "terminated" : "cancelled") +
              (info.failure ? ": " + info.failure->message : std::string()));
    default:
      return Error::make(ErrorCode::kInternal, "instance '" + info.id + "' has not finished");
  }
}

Result<InstancePage> Client::list(const InstanceQuery& query) {
  return while_open(*core_, [&] { return core_->store.list_instances(query); });
}

Result<std::vector<HistoryEvent>> Client::history(const InstanceId& id, ExecutionId execution) {
  return while_open(*core_, [&]() -> Result<std::vector<HistoryEvent>> {
    if (execution == 0) {
      auto latest = core_->store.read_latest_history(id);
      if (!latest) return fail(latest.error());
      return std::move(latest->events);
    }
    return core_->store.read_history(id, execution);
  });
}

Result<std::vector<ExecutionInfo>> Client::executions(const InstanceId& id) {
  return while_open(*core_, [&] { return core_->store.read_executions(id); });
}

Result<DeleteSummary> Client::remove(const InstanceId& id, bool force) {
  std::shared_lock lock(core_->open_mutex);
  if (!core_->open) return fail(ErrorCode::kShutdown, "the runtime has stopped");
  auto deleted = core_->store.delete_instance(id, DeleteOptions{true, force});
  if (!deleted) return deleted;
  // Live actors of deleted instances notice at their next turn (their commit fails as not
  // found) and leave; wake them so that this happens now.
  for (const auto& gone : deleted->deleted) {
    caf::anon_send(core_->directory, wake_atom::value, gone);
    core_->hub.gone(gone);  // whoever waits for it to finish gets kNotFound
  }
  return deleted;
}

Result<RewindSummary> Client::rewind(const InstanceId& id) {
  return while_open(*core_, [&]() -> Result<RewindSummary> {
    if (auto ok = check_accepting(*core_); !ok) return fail(ok.error());
    auto rewound = core_->store.rewind_instance(id);
    if (!rewound) return rewound;
    // Told before anything runs, so that a subscriber hears kRewound before what follows.
    for (const auto& r : rewound->rewound) notify_changed(*core_, LifecycleKind::kRewound, r);
    auto wake = rewound->rewound;
    wake.insert(wake.end(), rewound->woken.begin(), rewound->woken.end());
    dispatch_created(rewound->work, rewound->timers, wake);
    return rewound;
  });
}

Result<ForkSummary> Client::fork(const InstanceId& source, EventId at, InstanceId target,
                                 ExecutionId execution) {
  return while_open(*core_, [&]() -> Result<ForkSummary> {
    if (auto ok = check_accepting(*core_); !ok) return fail(ok.error());
    auto forked = core_->store.fork_instance(ForkRequest{source, execution, at, std::move(target)});
    if (!forked) return forked;
    notify_changed(*core_, LifecycleKind::kForked, forked->instance, forked->origin);
    dispatch_created(forked->work, forked->timers, {forked->instance});
    return forked;
  });
}

void Client::dispatch_created(const std::vector<WorkItem>& work,
                              const std::vector<TimerEntry>& timers,
                              const std::vector<InstanceId>& instances) {
  // Created by the store, not by a turn: the pool counts each delivery before it runs it
  // (an item it cannot lease now is taken by the timer service's sweep).
  for (const auto& item : work) {
    auto lease = core_->store.lease_work(item.id, core_->options.work_lease);
    if (lease) core_->pool->submit(item, *lease, Delivery::kAgain);
  }
  if (!timers.empty()) caf::anon_send(core_->timers, timers_atom::value, timers);
  for (const auto& id : instances) caf::anon_send(core_->directory, wake_atom::value, id);
}

Result<PruneSummary> Client::prune(const InstanceId& id, std::uint32_t keep_last) {
  return while_open(*core_, [&] { return core_->store.prune_executions(id, keep_last); });
}

}  // namespace duractor
