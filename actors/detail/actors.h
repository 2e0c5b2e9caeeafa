#pragma once
// Spawning the host's actors. Internal to actors/.

#include <memory>

#include <caf/actor.hpp>
#include <caf/fwd.hpp>

#include "duractor/actors/client_protocol.h"
#include "duractor/actors/detail/host_core.h"

namespace duractor::detail {

// The directory: instance id -> instance actor; activation, passivation, the live cap.
caf::actor spawn_directory(caf::actor_system& system, std::shared_ptr<HostCore> core);
// One instance's actor; spawned (and monitored) by the directory.
caf::actor spawn_instance(caf::local_actor* parent, std::shared_ptr<HostCore> core, InstanceId id);
// Durable timers: near ones in memory, fired as in-memory results; lease maintenance.
caf::actor spawn_timer_service(caf::actor_system& system, std::shared_ptr<HostCore> core);
// The client protocol for other actors (actors/client_protocol.h).
ClientActor spawn_client_actor(caf::actor_system& system, std::shared_ptr<HostCore> core);
// Writes by other processes (the CLI): wakes instances with new messages, stops the actors
// and activities of deleted instances.
caf::actor spawn_store_watcher(caf::actor_system& system, std::shared_ptr<HostCore> core);
// Wakes every instance that has messages waiting in the store (at start-up, and after
// another process wrote); returns how many.
std::size_t wake_waiting(HostCore& core);

}  // namespace duractor::detail
