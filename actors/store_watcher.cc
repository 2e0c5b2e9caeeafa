// The store watcher: brings the runtime in line with writes that other processes (the
// duractor CLI) made to the store. Every HostOptions::watch_interval it compares
// Store::foreign_writes() — a counter in memory — with the value it saw last; only when it
// moved does it read the store:
//  * every instance with inbox messages is woken (an event or a cancellation raised from
//    the command line, an imported instance), as at start-up;
//  * the actors and the activities of instances that no longer exist (deleted from the
//    command line, even while running) are stopped, so that nothing acts for them again,
//    and whoever waits for such an instance to finish (Client::wait, watch_atom) gets
//    kNotFound.
// A busy runtime pays one atomic read per interval for this. It runs on a thread of its own
// (detached), since its scans block.

#include <algorithm>

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>

#include "duractor/actors/detail/actor_messages.h"
#include "duractor/actors/detail/actors.h"

namespace duractor::detail {
namespace {

struct WatcherState {
  std::shared_ptr<HostCore> core;
  std::uint64_t seen = 0;  // foreign_writes() when last looked
};

using Self = caf::stateful_actor<WatcherState>;

}  // namespace

std::size_t wake_waiting(HostCore& core) {
  std::size_t woken = 0;
  std::string after;
  for (;;) {
    auto ids = core.store.instances_with_messages(after, 10'000);
    if (!ids) {
      core.log("host").warn("could not list instances with messages: {}", ids.error().to_string());
      break;
    }
    if (ids->empty()) break;
    for (const auto& id : *ids) caf::anon_send(core.directory, wake_atom::value, id);
    woken += ids->size();
    after = ids->back();
  }
  return woken;
}

namespace {

// Stops the actors and activities of those of `candidates` that no longer exist.
void drop_deleted(Self* self, std::vector<InstanceId> candidates) {
  auto& core = *self->state.core;
  auto running = core.pool->instances();
  candidates.insert(candidates.end(), running.begin(), running.end());
  // Instances someone waits for may be passivated, with neither actor nor activities.
  auto watched = core.hub.watched();
  candidates.insert(candidates.end(), watched.begin(), watched.end());
  std::sort(candidates.begin(), candidates.end());
  candidates.erase(std::unique(candidates.begin(), candidates.end()), candidates.end());
  std::size_t gone = 0;
  for (const auto& id : candidates) {
    auto info = core.store.read_instance(id);
    if (info || info.error().code != ErrorCode::kNotFound) continue;
    ++gone;
    core.log(id).debug("deleted by another process: its actor and activities stop");
    self->send(core.directory, evict_atom::value, id);
    core.pool->cancel_instance(id, "the instance was deleted");
    core.hub.gone(id);  // its waiters get kNotFound
  }
  if (gone > 0) {
    core.log("host").info("{} instances in memory were deleted by another process", gone);
  }
}

void look(Self* self) {
  auto& s = self->state;
  auto now = s.core->store.foreign_writes();
  if (now == s.seen) return;
  s.seen = now;
  auto woken = wake_waiting(*self->state.core);
  s.core->log("host").debug("another process wrote to the store: woke {} instances with messages",
                            woken);
  self->request(s.core->directory, std::chrono::seconds(30), live_atom::value)
      .then([=](std::vector<InstanceId>& live) { drop_deleted(self, std::move(live)); },
            [](caf::error&) {});  // the directory is stopping
}

caf::behavior watcher_behavior(Self* self, std::shared_ptr<HostCore> core) {
  auto& s = self->state;
  s.core = std::move(core);
  s.seen = s.core->store.foreign_writes();
  auto interval = s.core->options.watch_interval;
  self->delayed_send(self, interval, tick_atom::value);
  return {
      [=](tick_atom) {
        look(self);
        self->delayed_send(self, interval, tick_atom::value);
      },
  };
}

}  // namespace

caf::actor spawn_store_watcher(caf::actor_system& system, std::shared_ptr<HostCore> core) {
  return system.spawn<caf::detached>(watcher_behavior, std::move(core));
}

}  // namespace duractor::detail
