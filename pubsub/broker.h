#pragma once
// Broker: how the outside world talks to workflows. It raises events at one instance,
// publishes on topics that instances subscribed to (durably, from their code), cancels
// instances (cooperatively or by terminating them), and lets code and actors subscribe to
// lifecycle notifications. Every message is written to its targets' inboxes — durable —
// before the caller is told it was accepted; then the broker hands the target ids to the
// delivery handle the host gave it (which wakes their actors). The broker knows instances
// only by id and never includes actors/.
//
// Errors name the cause: kNotFound (no such instance), kFailedPrecondition (it finished:
// events and cancellations for a finished instance are refused), kLimitExceeded,
// kInvalidArgument (bad names; event names starting with "topic:" are reserved),
// kShutdown. Thread-safe.

#include <atomic>
#include <functional>
#include <memory>

#include "duractor/pubsub/broker_protocol.h"
#include "duractor/pubsub/lifecycle.h"
#include "duractor/runtime/limits.h"
#include "duractor/store/store.h"

namespace duractor {

struct BrokerOptions {
  std::size_t max_payload_bytes = kDefaultMaxPayloadBytes;
};

class Broker {
 public:
  // Wakes the actor of an instance that has new messages (given by the host).
  using Deliver = std::function<void(const InstanceId&)>;

  Broker(Store& store, Deliver deliver, caf::actor_system& system,
         std::shared_ptr<spdlog::logger> logger, BrokerOptions options = {});

  // Point to point. With a message id, idempotent (Store::enqueue_once): a repeat applies
  // nothing and succeeds again.
  Status raise_event(const InstanceId& instance, std::string_view name, Bytes payload,
                     const MessageId& id = {});
  void raise_event_async(const InstanceId& instance, std::string_view name, Bytes payload,
                         StatusCallback done, const MessageId& id = {});
  // Cooperative cancellation (Cancelled at the next await) or, with terminate, at once;
  // both cascade to sub-orchestrations and in-flight activities.
  Status cancel(const InstanceId& instance, std::string reason, bool terminate = false);
  void cancel_async(const InstanceId& instance, std::string reason, bool terminate,
                    StatusCallback done);

  // Topics: reaches every instance subscribed now, each exactly once, in publish order per
  // topic, committed before this returns. No subscriber: nobody gets it (see
  // Store::publish). With a message id, idempotent (Store::publish_once): a repeat reaches
  // nobody again and answers the first receipt.
  Result<PublishReceipt> publish(std::string topic, Bytes payload, const MessageId& id = {});
  void publish_async(std::string topic, Bytes payload, Callback<PublishReceipt> done,
                     const MessageId& id = {});

  LifecycleHub& lifecycle() { return lifecycle_; }

  // Refuses new requests (kShutdown) from now on.
  void stop_accepting() { accepting_ = false; }

 private:
  Status admit(std::size_t payload_bytes, std::string_view what) const;

  Store& store_;
  Deliver deliver_;
  BrokerOptions options_;
  LifecycleHub lifecycle_;
  std::atomic<bool> accepting_{true};
};

// The broker's actor: the typed protocol of pubsub/broker_protocol.h, for user actors.
BrokerActor spawn_broker_actor(caf::actor_system& system, Broker& broker);

}  // namespace duractor
