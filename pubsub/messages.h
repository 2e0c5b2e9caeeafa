#pragma once
// The message protocol that user actors speak with the runtime (CAF 0.17 atoms). Replies are
// the values named, or a caf::error holding a duractor error (pubsub/caf_errors.h).
//
// Broker (Host::broker_actor()):
//   (raise_atom, instance, event name, payload)      -> (ok_atom, instance)
//   (cancel_atom, instance, reason, terminate)       -> (ok_atom, instance)
//   (publish_atom, topic, payload)                   -> (ok_atom, subscribers reached: uint64)
//   (subscribe_atom, LifecycleFilter)                -> (ok_atom, subscription id: uint64);
//        the sender then receives (lifecycle_atom, LifecycleEvent) for each matching event,
//        one at a time (each is a request: the next comes when the handler returns)
//   (unsubscribe_atom, subscription id)              -> (ok_atom)
// Client (Host::client_actor(), actors/messages.h): start, status, watch.

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/atom.hpp>

#include "pubsub/lifecycle.h"

namespace duractor {

using ok_atom = caf::atom_constant<caf::atom("dok")>;
using raise_atom = caf::atom_constant<caf::atom("draise")>;
using cancel_atom = caf::atom_constant<caf::atom("dcancel")>;
using publish_atom = caf::atom_constant<caf::atom("dpublish")>;
using subscribe_atom = caf::atom_constant<caf::atom("dsubscr")>;
using unsubscribe_atom = caf::atom_constant<caf::atom("dunsubscr")>;
using lifecycle_atom = caf::atom_constant<caf::atom("dlifecycl")>;

}  // namespace duractor

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(duractor::LifecycleFilter)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(duractor::LifecycleEvent)
