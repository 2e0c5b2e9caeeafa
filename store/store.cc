#include "duractor/store/store.h"

#include "duractor/runtime/limits.h"
#include "duractor/store/detail/inbox_checks.h"

namespace duractor {
Result<CreateOutcome> Store::create_instance(NewInstance request) {
  return wait_for_callback<CreateOutcome>(
      [&](auto done) { create_instance_async(std::move(request), std::move(done)); });
}

Result<std::uint64_t> Store::enqueue(InstanceId instance, InboxMessage message) {
  return wait_for_callback<std::uint64_t>(
      [&](auto done) { enqueue_async(std::move(instance), std::move(message), std::move(done)); });
}

Result<TurnCommitted> Store::commit_turn(TurnCommit turn) {
  return wait_for_callback<TurnCommitted>(
      [&](auto done) { commit_turn_async(std::move(turn), std::move(done)); });
}

Result<InstanceId> Store::complete_work(WorkLease lease, message::ActivityResult result) {
  return wait_for_callback<InstanceId>(
      [&](auto done) { complete_work_async(lease, std::move(result), std::move(done)); });
}

Result<std::vector<InstanceId>> Store::fire_timers(std::vector<TimerKey> keys) {
  return wait_for_callback<std::vector<InstanceId>>(
      [&](auto done) { fire_timers_async(std::move(keys), std::move(done)); });
}

Result<PublishReceipt> Store::publish(std::string topic, Bytes payload) {
  return wait_for_callback<PublishReceipt>(
      [&](auto done) { publish_async(std::move(topic), std::move(payload), std::move(done)); });
}

Result<std::uint64_t> Store::enqueue_once(MessageId id, InstanceId instance, InboxMessage message) {
  return wait_for_callback<std::uint64_t>([&](auto done) {
    enqueue_once_async(std::move(id), std::move(instance), std::move(message), std::move(done));
  });
}

Result<PublishReceipt> Store::publish_once(MessageId id, std::string topic, Bytes payload) {
  return wait_for_callback<PublishReceipt>([&](auto done) {
    publish_once_async(std::move(id), std::move(topic), std::move(payload), std::move(done));
  });
}

Result<DeleteSummary> Store::delete_instance(InstanceId id, DeleteOptions options) {
  return wait_for_callback<DeleteSummary>(
      [&](auto done) { delete_instance_async(std::move(id), options, std::move(done)); });
}

Result<std::uint64_t> Store::import_instance(InstanceImage image) {
  return wait_for_callback<std::uint64_t>(
      [&](auto done) { import_instance_async(std::move(image), std::move(done)); });
}

Result<PruneSummary> Store::prune_executions(InstanceId id, std::uint32_t keep_last) {
  return wait_for_callback<PruneSummary>(
      [&](auto done) { prune_executions_async(std::move(id), keep_last, std::move(done)); });
}

Result<RewindSummary> Store::rewind_instance(InstanceId id) {
  return wait_for_callback<RewindSummary>(
      [&](auto done) { rewind_instance_async(std::move(id), std::move(done)); });
}

Result<ForkSummary> Store::fork_instance(ForkRequest request) {
  return wait_for_callback<ForkSummary>(
      [&](auto done) { fork_instance_async(std::move(request), std::move(done)); });
}

Status Store::record_delivery(WorkLease lease, std::uint32_t deliveries) {
  return wait_for_callback<void>(
      [&](auto done) { record_delivery_async(lease, deliveries, std::move(done)); });
}

Result<std::uint32_t> Store::count_turn_delivery(InstanceLock lock) {
  return wait_for_callback<std::uint32_t>(
      [&](auto done) { count_turn_delivery_async(std::move(lock), std::move(done)); });
}

namespace detail {
namespace {

// The reason of a Cancel or Pause from outside is at most kMaxReasonBytes.
Status check_reason(const InstanceId& id, const InboxMessage& message) {
  const std::string* reason = nullptr;
  std::string_view what;
  if (const auto* c = std::get_if<message::Cancel>(&message)) {
    reason = &c->reason;
    what = c->terminate ? "termination" : "cancellation";
  } else if (const auto* p = std::get_if<message::Pause>(&message)) {
    reason = &p->reason;
    what = "pause";
  }
  if (reason == nullptr || reason->size() <= kMaxReasonBytes) return {};
  return fail(ErrorCode::kLimitExceeded,
              "the reason of the " + std::string(what) + " of instance '" + id + "' is " +
                  std::to_string(reason->size()) + " bytes; the limit is " +
                  std::to_string(kMaxReasonBytes));
}

}  // namespace

Status validate_inbox_message(const InstanceId& id, const InboxMessage& message) {
  if (std::holds_alternative<message::Start>(message)) {
    return fail(ErrorCode::kInvalidArgument,
                "a Start message cannot be enqueued; create the instance instead");
  }
  if (auto* e = std::get_if<message::Event>(&message)) {
    if (auto valid = validate_name(e->name, "event name"); !valid) return valid;
    if (e->name.starts_with(kTopicEventPrefix)) {
      return fail(ErrorCode::kInvalidArgument,
                  "event name '" + e->name + "': names starting with '" +
                      std::string(kTopicEventPrefix) + "' are reserved for topic publications");
    }
  }
  return check_reason(id, message);
}

}  // namespace detail
}  // namespace duractor
