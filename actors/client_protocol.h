#pragma once
// The client protocol for user actors: a typed actor interface (CAF 0.17), so that a
// message the client actor does not take, or arguments of the wrong types, fail to compile.
// Send to Host::client_actor(); replies are the values named, or a caf::error holding a
// duractor error (pubsub/caf_errors.h reads it back). Events, topics, cancellation and
// lifecycle subscriptions go to the broker (pubsub/broker_protocol.h).
//
//   (start_atom, name, instance id, input bytes)    -> (ok_atom, instance id)
//   (status_atom, instance id)                      -> InstanceInfo
//   (pause_atom, instance id, reason)               -> (ok_atom, instance id); as Client::pause
//   (resume_atom, instance id)                      -> (ok_atom, instance id); as Client::resume
//   (watch_atom, instance id)                       -> (finished_atom, InstanceInfo), once the
//                                                      instance ends (at once if it has ended)
// The watch's answer is the reply to that message: sent with `request` (use caf::infinite
// or a long timeout) it arrives in the response handlers; sent with `send` it arrives as an
// ordinary message. For an instance that does not exist the answer is a caf::error with
// kNotFound, at once — and later for one deleted before it finished. A watcher that uses
// `send` gets that error in its error handler (set_error_handler); without one, CAF's
// default handler ends the actor with the error.
// An empty instance id in start_atom asks for a generated one.

#include <string>

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/atom.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "duractor/pubsub/broker_protocol.h"
#include "duractor/runtime/instance.h"

namespace duractor {

using start_atom = caf::atom_constant<caf::atom("dstart")>;
using status_atom = caf::atom_constant<caf::atom("dstatus")>;
using watch_atom = caf::atom_constant<caf::atom("dwatch")>;
using finished_atom = caf::atom_constant<caf::atom("dfinished")>;
using pause_atom = caf::atom_constant<caf::atom("dpause")>;
using resume_atom = caf::atom_constant<caf::atom("dresume")>;

using ClientActor = caf::typed_actor<
    caf::replies_to<start_atom, std::string, InstanceId, Bytes>::with<ok_atom, InstanceId>,
    caf::replies_to<status_atom, InstanceId>::with<InstanceInfo>,
    caf::replies_to<watch_atom, InstanceId>::with<finished_atom, InstanceInfo>,
    caf::replies_to<pause_atom, InstanceId, std::string>::with<ok_atom, InstanceId>,
    caf::replies_to<resume_atom, InstanceId>::with<ok_atom, InstanceId>>;

}  // namespace duractor

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(duractor::InstanceInfo)
