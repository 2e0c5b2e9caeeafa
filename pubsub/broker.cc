#include "duractor/pubsub/broker.h"

#include <future>

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "duractor/pubsub/broker_protocol.h"
#include "duractor/pubsub/caf_errors.h"

namespace duractor {

Broker::Broker(Store& store, Deliver deliver, caf::actor_system& system,
               std::shared_ptr<spdlog::logger> logger, BrokerOptions options)
    : store_(store),
      deliver_(std::move(deliver)),
      options_(options),
      lifecycle_(system, std::move(logger)) {}

Status Broker::admit(std::size_t payload_bytes, std::string_view what) const {
  if (!accepting_) return fail(ErrorCode::kShutdown, "the runtime is stopping");
  if (payload_bytes > options_.max_payload_bytes) {
    return fail(ErrorCode::kLimitExceeded,
                std::string(what) + " is " + std::to_string(payload_bytes) +
                    " bytes, over the payload limit of " +
                    std::to_string(options_.max_payload_bytes) + " bytes");
  }
  return {};
}

void Broker::raise_event_async(const InstanceId& instance, std::string_view name, Bytes payload,
                               StatusCallback done, const MessageId& id) {
  if (auto ok = admit(payload.size(), "the payload of event '" + std::string(name) + "'"); !ok) {
    return done(ok);
  }
  auto answer = [this, instance, done = std::move(done)](Result<std::uint64_t> r) {
    if (!r) return done(std::unexpected(r.error()));
    deliver_(instance);
    done({});
  };
  message::Event event{std::string(name), std::move(payload)};
  if (id.empty()) return store_.enqueue_async(instance, std::move(event), std::move(answer));
  store_.enqueue_once_async(id, instance, std::move(event), std::move(answer));
}

Status Broker::raise_event(const InstanceId& instance, std::string_view name, Bytes payload,
                           const MessageId& id) {
  auto r = wait_for_callback<bool>([&](auto done) {
    raise_event_async(
        instance, name, std::move(payload),
        [done](Status s) { done(s ? Result<bool>(true) : std::unexpected(s.error())); }, id);
  });
  if (!r) return fail(r.error());
  return {};
}

void Broker::cancel_async(const InstanceId& instance, std::string reason, bool terminate,
                          StatusCallback done) {
  if (auto ok = admit(0, "a cancellation"); !ok) return done(ok);
  store_.enqueue_async(instance, message::Cancel{std::move(reason), terminate},
                       [this, instance, done = std::move(done)](Result<std::uint64_t> r) {
                         if (!r) return done(std::unexpected(r.error()));
                         deliver_(instance);
                         done({});
                       });
}

Status Broker::cancel(const InstanceId& instance, std::string reason, bool terminate) {
  auto r = wait_for_callback<bool>([&](auto done) {
    cancel_async(instance, std::move(reason), terminate,
                 [done](Status s) { done(s ? Result<bool>(true) : std::unexpected(s.error())); });
  });
  if (!r) return fail(r.error());
  return {};
}

void Broker::publish_async(std::string topic, Bytes payload, Callback<PublishReceipt> done,
                           const MessageId& id) {
  if (auto ok = admit(payload.size(), "the payload of a publication on '" + topic + "'"); !ok) {
    return done(std::unexpected(ok.error()));
  }
  // A repeat's receipt names the first's subscribers; waking them again costs a look at
  // their inboxes, nothing more.
  auto answer = [this, done = std::move(done)](Result<PublishReceipt> r) {
    if (r) {
      for (const auto& instance : r->delivered) deliver_(instance);
    }
    done(std::move(r));
  };
  if (id.empty())
    return store_.publish_async(std::move(topic), std::move(payload), std::move(answer));
  store_.publish_once_async(id, std::move(topic), std::move(payload), std::move(answer));
}

Result<PublishReceipt> Broker::publish(std::string topic, Bytes payload, const MessageId& id) {
  return wait_for_callback<PublishReceipt>(
      [&](auto done) { publish_async(std::move(topic), std::move(payload), std::move(done), id); });
}

// ---- the broker actor ----------------------------------------------------------------

namespace {

using answer_atom = caf::atom_constant<caf::atom("danswer")>;

// The broker's interface plus the answers that come back from the store's writer thread.
using BrokerActorImpl =
    BrokerActor::extend<caf::reacts_to<answer_atom, std::uint64_t, caf::message>>;

struct BrokerState {
  Broker* broker = nullptr;
  std::uint64_t next = 1;
  std::map<std::uint64_t, caf::response_promise> pending;
  struct Subscriber {
    std::shared_ptr<LifecycleSubscription> subscription;
    caf::actor_addr actor;
  };
  std::map<std::uint64_t, Subscriber> subscriptions;
};

using Self = BrokerActorImpl::stateful_pointer<BrokerState>;

// Parks the reply to the current request until its answer comes back from the store's
// thread as (answer_atom, token, reply); returns the token.
template <class Promise>
std::uint64_t park(Self self, Promise& promise) {
  auto token = self->state.next++;
  self->state.pending.emplace(token, static_cast<caf::response_promise&>(promise));
  return token;
}

// The callback for a write whose success answers (ok_atom, value).
template <class Value>
auto answer_with(caf::actor me, std::uint64_t token, Value value) {
  return [me = std::move(me), token, value = std::move(value)](Status s) {
    caf::anon_send(
        me, answer_atom::value, token,
        s ? caf::make_message(ok_atom::value, value) : caf::make_message(to_caf_error(s.error())));
  };
}

BrokerActorImpl::behavior_type broker_behavior(Self self, Broker* broker) {
  self->state.broker = broker;
  auto me = caf::actor_cast<caf::actor>(self);
  // A subscriber actor that goes away ends its subscriptions.
  self->set_down_handler([=](caf::down_msg& down) {
    std::erase_if(self->state.subscriptions,
                  [&](const auto& entry) { return entry.second.actor == down.source; });
  });
  return {
      [=](raise_atom, const InstanceId& id, const std::string& name, const Bytes& payload) {
        auto promise = self->make_response_promise<ok_atom, InstanceId>();
        auto token = park(self, promise);
        self->state.broker->raise_event_async(id, name, payload, answer_with(me, token, id));
        return promise;
      },
      [=](cancel_atom, const InstanceId& id, const std::string& reason, bool terminate) {
        auto promise = self->make_response_promise<ok_atom, InstanceId>();
        auto token = park(self, promise);
        self->state.broker->cancel_async(id, reason, terminate, answer_with(me, token, id));
        return promise;
      },
      [=](publish_atom, const std::string& topic, const Bytes& payload) {
        auto promise = self->make_response_promise<ok_atom, std::uint64_t>();
        auto token = park(self, promise);
        self->state.broker->publish_async(topic, payload, [me, token](Result<PublishReceipt> r) {
          caf::anon_send(
              me, answer_atom::value, token,
              r ? caf::make_message(ok_atom::value, static_cast<std::uint64_t>(r->delivered.size()))
                : caf::make_message(to_caf_error(r.error())));
        });
        return promise;
      },
      [=](answer_atom, std::uint64_t token, caf::message& answer) {
        auto& pending = self->state.pending;
        auto it = pending.find(token);
        if (it == pending.end()) return;
        auto promise = std::move(it->second);
        pending.erase(it);
        if (answer.match_elements<caf::error>()) {
          promise.deliver(answer.get_as<caf::error>(0));
        } else {
          promise.deliver(std::move(answer));
        }
      },
      [=](subscribe_atom, const LifecycleFilter& filter) -> caf::result<ok_atom, std::uint64_t> {
        auto subscriber = caf::actor_cast<caf::actor>(self->current_sender());
        if (!subscriber) {
          return to_caf_error(
              Error::make(ErrorCode::kInvalidArgument, "subscribe needs a sender actor"));
        }
        auto s = self->state.broker->lifecycle().subscribe(filter, subscriber);
        self->monitor(subscriber);
        self->state.subscriptions[s->id()] = {s, subscriber.address()};
        return {ok_atom::value, s->id()};
      },
      [=](unsubscribe_atom, std::uint64_t id) -> caf::result<ok_atom> {
        self->state.subscriptions.erase(id);
        return ok_atom::value;
      },
  };
}

}  // namespace

BrokerActor spawn_broker_actor(caf::actor_system& system, Broker& broker) {
  return system.spawn(broker_behavior, &broker);
}

}  // namespace duractor
