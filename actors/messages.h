#pragma once
// The messages of duractor's actors (CAF 0.17: atoms and message types). User actors that
// talk to the runtime include this header and use the client protocol below; the rest is
// internal to actors/ and pubsub/.
//
// Client protocol (send to Host::client_actor(); replies, or caf::error on failure — see
// pubsub/caf_errors.h to read a duractor error back). Events, topics, cancellation and
// lifecycle subscriptions go to the broker (pubsub/messages.h).
//   (start_atom, name, instance id, input bytes)     -> (ok_atom, instance id)
//   (status_atom, instance id)                      -> InstanceInfo
//   (watch_atom, instance id)                       -> (finished_atom, InstanceInfo), once the
//                                                      instance ends (at once if it has ended)
// The watch's answer is the reply to that message: sent with `request` (use caf::infinite
// or a long timeout) it arrives in the response handlers; sent with `send` it arrives as an
// ordinary message. For an instance that does not exist the answer is a caf::error with
// kNotFound, at once — and later for one deleted before it finished. A watcher that uses
// `send` gets that error in its error handler (set_error_handler); without one, CAF's
// default handler ends the actor with the error.
// An empty instance id in start_atom asks for a generated one.

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/atom.hpp>

#include "actors/turn_plan.h"
#include "pubsub/messages.h"
#include "runtime/instance.h"

namespace duractor {

// ---- client protocol ----
using start_atom = caf::atom_constant<caf::atom("dstart")>;
using status_atom = caf::atom_constant<caf::atom("dstatus")>;
using watch_atom = caf::atom_constant<caf::atom("dwatch")>;
using finished_atom = caf::atom_constant<caf::atom("dfinished")>;

// ---- internal ----
using wake_atom = caf::atom_constant<caf::atom("dwake")>;
using deliver_atom = caf::atom_constant<caf::atom("ddeliver")>;
using committed_atom = caf::atom_constant<caf::atom("dcommit")>;
using retry_atom = caf::atom_constant<caf::atom("dretry")>;
using idle_atom = caf::atom_constant<caf::atom("didle")>;
using passivate_atom = caf::atom_constant<caf::atom("dpassive")>;
using passivated_atom = caf::atom_constant<caf::atom("dpassived")>;
using sweep_atom = caf::atom_constant<caf::atom("dsweep")>;
using tick_atom = caf::atom_constant<caf::atom("dtick")>;
using timers_atom = caf::atom_constant<caf::atom("dtimers")>;
using stop_atom = caf::atom_constant<caf::atom("dstop")>;
using stopped_atom = caf::atom_constant<caf::atom("dstopped")>;
using live_atom = caf::atom_constant<caf::atom("dlive")>;
using evict_atom = caf::atom_constant<caf::atom("devict")>;
using counted_atom = caf::atom_constant<caf::atom("dcounted")>;
using gate_atom = caf::atom_constant<caf::atom("dgate")>;

// A committed turn, as the store's writer thread hands it back to the instance actor.
struct CommitReply {
  Result<TurnCommitted> result;
  std::shared_ptr<const TurnPlan> plan;
};

// A turn's delivery, counted by the store's writer thread (Store::count_turn_delivery).
struct CountReply {
  Result<std::uint32_t> result;
};

}  // namespace duractor

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(duractor::CountReply)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(duractor::MemoryMessage)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(duractor::CommitReply)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(duractor::InstanceInfo)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(duractor::TimerEntry)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<duractor::TimerEntry>)
