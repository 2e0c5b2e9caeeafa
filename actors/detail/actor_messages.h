#pragma once
// The messages the host's own actors exchange (CAF 0.17 atoms and message types). Internal
// to actors/: user actors speak the typed protocols of actors/client_protocol.h and
// pubsub/broker_protocol.h.

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/atom.hpp>

#include "duractor/actors/client_protocol.h"
#include "duractor/actors/detail/turn_plan.h"

namespace duractor {

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
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(duractor::TimerEntry)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<duractor::TimerEntry>)
