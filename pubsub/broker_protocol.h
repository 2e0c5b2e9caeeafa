#pragma once
// The broker's protocol for user actors: a typed actor interface (CAF 0.17), so that a
// message the broker does not take, or arguments of the wrong types, fail to compile.
// Replies are the values named, or a caf::error holding a duractor error
// (pubsub/caf_errors.h reads it back).
//
//   BrokerActor broker = host->broker_actor();
//   self->request(broker, 10s, raise_atom::value, id, std::string("Approval"), encode(true))
//       .then([](ok_atom, const InstanceId&) { ... }, [](caf::error& e) { ... });
//
//   (raise_atom, instance, event name, payload)      -> (ok_atom, instance)
//   (cancel_atom, instance, reason, terminate)       -> (ok_atom, instance)
//   (publish_atom, topic, payload)                   -> (ok_atom, subscribers reached)
//   (subscribe_atom, LifecycleFilter)                -> (ok_atom, subscription id); the
//        sender then receives (lifecycle_atom, LifecycleEvent) for each matching event, one
//        at a time (each is a request: the next comes when the handler returns)
//   (unsubscribe_atom, subscription id)              -> (ok_atom)
// The client protocol (start, status, watch) is in actors/client_protocol.h.

#include <cstdint>
#include <string>

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/atom.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "duractor/pubsub/lifecycle.h"
#include "duractor/runtime/ids.h"
#include "duractor/runtime/payload.h"

namespace duractor {

using ok_atom = caf::atom_constant<caf::atom("dok")>;
using raise_atom = caf::atom_constant<caf::atom("draise")>;
using cancel_atom = caf::atom_constant<caf::atom("dcancel")>;
using publish_atom = caf::atom_constant<caf::atom("dpublish")>;
using subscribe_atom = caf::atom_constant<caf::atom("dsubscr")>;
using unsubscribe_atom = caf::atom_constant<caf::atom("dunsubscr")>;
using lifecycle_atom = caf::atom_constant<caf::atom("dlifecycl")>;

using BrokerActor = caf::typed_actor<
    caf::replies_to<raise_atom, InstanceId, std::string, Bytes>::with<ok_atom, InstanceId>,
    caf::replies_to<cancel_atom, InstanceId, std::string, bool>::with<ok_atom, InstanceId>,
    caf::replies_to<publish_atom, std::string, Bytes>::with<ok_atom, std::uint64_t>,
    caf::replies_to<subscribe_atom, LifecycleFilter>::with<ok_atom, std::uint64_t>,
    caf::replies_to<unsubscribe_atom, std::uint64_t>::with<ok_atom>>;

}  // namespace duractor

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(duractor::LifecycleFilter)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(duractor::LifecycleEvent)
