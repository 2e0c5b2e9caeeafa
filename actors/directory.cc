// The directory: maps instance ids to instance actors. It activates an actor when a message
// arrives for an instance that has none (the actor rebuilds itself from the store), and
// passivates idle actors after HostOptions::passivate_after or when over the cap on live
// actors, least recently idle first. Over the cap, activations wait in a queue until actors
// leave. At most one actor per instance: messages for an actor that is passivating are held
// until it either leaves (then a new one gets them) or declines (it got busy).

#include <deque>
#include <list>
#include <unordered_map>

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>

#include "duractor/actors/detail/actor_messages.h"
#include "duractor/actors/detail/actors.h"

namespace duractor::detail {
namespace {

using SteadyTime = std::chrono::steady_clock::time_point;

struct DirectoryState {
  struct Entry {
    caf::actor actor;
    bool passivating = false;
    SteadyTime idle_since;
    std::optional<std::list<InstanceId>::iterator> idle;  // its place in idle_order
    std::vector<caf::message> held;                       // for an actor that is passivating
  };
  std::shared_ptr<HostCore> core;
  std::unordered_map<InstanceId, Entry> entries;
  std::list<InstanceId> idle_order;  // idle actors, longest idle first
  std::size_t passivating = 0;
  std::unordered_map<caf::actor_addr, InstanceId> ids;
  // Activations waiting for room under the cap, in arrival order.
  std::deque<InstanceId> waiting_order;
  std::unordered_map<InstanceId, std::vector<caf::message>> waiting;
  bool stopping = false;
  caf::response_promise stopped;
};

using Self = caf::stateful_actor<DirectoryState>;

void activate(Self* self, const InstanceId& id, std::vector<caf::message> messages) {
  auto& s = self->state;
  auto actor = spawn_instance(self, s.core, id);
  if (auto* m = s.core->metrics) m->instance_activated();
  self->monitor(actor);
  s.ids[actor.address()] = id;
  auto& entry = s.entries[id];
  entry.actor = actor;
  for (auto& m : messages) self->send(actor, std::move(m));
}

void mark_busy(Self* self, DirectoryState::Entry& e) {
  if (e.idle) {
    self->state.idle_order.erase(*e.idle);
    e.idle.reset();
  }
}

void ask_to_leave(Self* self, DirectoryState::Entry& e) {
  mark_busy(self, e);
  e.passivating = true;
  ++self->state.passivating;
  self->send(e.actor, passivate_atom::value);
}

// Asks idle actors to leave, longest idle first: those idle past passivate_after and, unless
// `only_expired`, as many more as the waiting activations need.
void passivate_idle(Self* self, bool only_expired) {
  auto& s = self->state;
  auto now = std::chrono::steady_clock::now();
  std::size_t needed = s.waiting.size() > s.passivating ? s.waiting.size() - s.passivating : 0;
  while (!s.idle_order.empty()) {
    auto& e = s.entries[s.idle_order.front()];
    bool expired = now - e.idle_since >= s.core->options.passivate_after;
    if (!expired && (only_expired || needed == 0)) break;  // the rest idled more recently
    if (!expired) --needed;
    ask_to_leave(self, e);
  }
}

void activate_waiting(Self* self) {
  auto& s = self->state;
  while (!s.waiting_order.empty() && s.entries.size() < s.core->options.max_live_instances) {
    auto id = std::move(s.waiting_order.front());
    s.waiting_order.pop_front();
    auto it = s.waiting.find(id);
    if (it == s.waiting.end()) continue;
    auto messages = std::move(it->second);
    s.waiting.erase(it);
    activate(self, id, std::move(messages));
  }
}

void maybe_finish_stop(Self* self) {
  auto& s = self->state;
  if (s.stopping && s.entries.empty() && s.stopped.pending()) {
    s.stopped.deliver(stopped_atom::value);
    self->quit();
  }
}

// The actor for `id` left (passivated, stopped or died).
void forget(Self* self, const InstanceId& id) {
  auto& s = self->state;
  auto it = s.entries.find(id);
  if (it == s.entries.end()) return;
  auto held = std::move(it->second.held);
  mark_busy(self, it->second);
  if (it->second.passivating) --s.passivating;
  s.ids.erase(it->second.actor.address());
  self->demonitor(it->second.actor);
  s.entries.erase(it);
  if (!held.empty() && !s.stopping) {
    // Messages arrived while it was leaving: a new actor takes them (it reloads).
    s.waiting[id] = std::move(held);
    s.waiting_order.push_front(id);
  }
  activate_waiting(self);
  maybe_finish_stop(self);
}

void route(Self* self, const InstanceId& id, caf::message message) {
  auto& s = self->state;
  if (s.stopping) return;
  auto it = s.entries.find(id);
  if (it != s.entries.end()) {
    auto& e = it->second;
    mark_busy(self, e);
    if (e.passivating) {
      e.held.push_back(std::move(message));
    } else {
      self->send(e.actor, std::move(message));
    }
    return;
  }
  if (auto w = s.waiting.find(id); w != s.waiting.end()) {
    w->second.push_back(std::move(message));
    return;
  }
  if (s.entries.size() < s.core->options.max_live_instances) {
    activate(self, id, {std::move(message)});
    return;
  }
  s.waiting[id].push_back(std::move(message));
  s.waiting_order.push_back(id);
  passivate_idle(self, false);
}

caf::behavior directory_behavior(Self* self, std::shared_ptr<HostCore> core) {
  self->state.core = std::move(core);
  self->set_down_handler([=](caf::down_msg& down) {
    auto& s = self->state;
    auto it = s.ids.find(down.source);
    if (it == s.ids.end()) return;
    auto id = it->second;
    auto entry = s.entries.find(id);
    // An actor that leaves on its own reports first; one that dies is logged here.
    if (entry != s.entries.end() && down.reason && down.reason != caf::exit_reason::normal) {
      s.core->log(id).error("instance actor ended abnormally");
    }
    forget(self, id);
  });
  auto sweep_every = std::max(
      std::chrono::milliseconds(10),
      std::min(std::chrono::milliseconds(1000), self->state.core->options.passivate_after / 2));
  self->delayed_send(self, sweep_every, sweep_atom::value);
  return {
      [=](wake_atom, const InstanceId& id) {
        route(self, id, caf::make_message(wake_atom::value));
      },
      [=](deliver_atom, const InstanceId& id, MemoryMessage& m) {
        route(self, id, caf::make_message(deliver_atom::value, std::move(m)));
      },
      [=](idle_atom, const InstanceId& id, bool finished) {
        auto& s = self->state;
        auto it = s.entries.find(id);
        if (it == s.entries.end() || it->second.passivating) return;
        auto& e = it->second;
        // A finished instance will never need its coroutine again: it leaves at once.
        if (finished) return ask_to_leave(self, e);
        mark_busy(self, e);
        e.idle_since = std::chrono::steady_clock::now();
        s.idle_order.push_back(id);
        e.idle = std::prev(s.idle_order.end());
        if (!s.waiting.empty()) passivate_idle(self, false);
      },
      [=](passivated_atom, const InstanceId& id, bool left) {
        auto& s = self->state;
        auto it = s.entries.find(id);
        if (it == s.entries.end()) return;
        if (left) {
          if (auto* m = s.core->metrics) m->instance_passivated();
          return forget(self, id);
        }
        // It got busy meanwhile: it stays, with what was held for it.
        auto& e = it->second;
        e.passivating = false;
        --s.passivating;
        for (auto& m : e.held) self->send(e.actor, std::move(m));
        e.held.clear();
      },
      [=](stopped_atom, const InstanceId& id) { forget(self, id); },
      [=](sweep_atom) {
        passivate_idle(self, true);
        if (!self->state.stopping) self->delayed_send(self, sweep_every, sweep_atom::value);
      },
      [=](stop_atom) {
        auto& s = self->state;
        s.stopping = true;
        s.stopped = self->make_response_promise();
        s.waiting.clear();
        s.waiting_order.clear();
        for (auto& [id, e] : s.entries) self->send(e.actor, stop_atom::value);
        maybe_finish_stop(self);  // answered when the last instance actor has stopped
      },
      [=](status_atom) { return static_cast<std::uint64_t>(self->state.entries.size()); },
      [=](live_atom) {
        std::vector<InstanceId> ids;
        for (const auto& entry : self->state.entries) ids.push_back(entry.first);
        return ids;
      },
      [=](evict_atom, const InstanceId& id) {
        // The instance was deleted by another process: what waits for it is dropped, and
        // its actor, after checking, leaves.
        auto& s = self->state;
        s.waiting.erase(id);  // activate_waiting skips ids no longer waiting
        auto it = s.entries.find(id);
        if (it == s.entries.end()) return;
        it->second.held.clear();
        self->send(it->second.actor, evict_atom::value);
      },
  };
}

}  // namespace

caf::actor spawn_directory(caf::actor_system& system, std::shared_ptr<HostCore> core) {
  return system.spawn(directory_behavior, std::move(core));
}

}  // namespace duractor::detail
