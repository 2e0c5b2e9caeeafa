// The timer service: durable timers live in the store, keyed by fire time; the service
// keeps those due within HostOptions::timer_horizon in memory, and when one is due hands a
// TimerFired to its instance in memory (the instance's turn deletes the timer as it commits,
// so a crash before that fires it again). Time comes from the host's clock, so tests move a
// ManualClock and poke the service. Every few seconds it also re-dispatches work items whose
// leases lapsed (their results were lost, e.g. with a crashed actor).

#include <algorithm>
#include <map>
#include <set>

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>

#include "duractor/actors/detail/actor_messages.h"
#include "duractor/actors/detail/actors.h"

namespace duractor::detail {
namespace {

struct TimerState {
  std::shared_ptr<HostCore> core;
  std::map<std::pair<TimePoint, std::uint64_t>, TimerEntry> near;  // ordered by fire time
  // Timers handed to their instances, not yet deleted by a commit: not handed again for a
  // while even if a reload from the store finds them.
  std::map<std::pair<TimePoint, std::uint64_t>, std::chrono::steady_clock::time_point> sent;
  TimePoint loaded_until{};
  std::uint64_t generation = 0;
  std::chrono::steady_clock::time_point last_reap{};
};

using Self = caf::stateful_actor<TimerState>;
constexpr std::size_t kLoadBatch = 10'000;

void remember(Self* self, const TimerEntry& t) {
  auto key = std::make_pair(t.key.fire_at, t.key.seq);
  if (self->state.sent.count(key) == 0) self->state.near.emplace(key, t);
}

void reap_leases(Self* self) {
  auto& s = self->state;
  auto now = std::chrono::steady_clock::now();
  if (now - s.last_reap < std::chrono::seconds(5)) return;
  s.last_reap = now;
  auto work = s.core->store.take_work(1000, s.core->options.work_lease);
  if (!work) return;
  for (auto& w : *work) s.core->pool->submit(std::move(w.item), w.lease, Delivery::kAgain);
  // Forget sent timers after a while: if one is still in the store, its turn failed, and
  // the next reload hands it out again.
  for (auto it = s.sent.begin(); it != s.sent.end();) {
    it = now - it->second > std::chrono::seconds(30) ? s.sent.erase(it) : std::next(it);
  }
}

void tick(Self* self) {
  auto& s = self->state;
  auto now = s.core->clock.now();
  auto horizon = now + s.core->options.timer_horizon;
  if (horizon > s.loaded_until) {
    auto due = s.core->store.due_timers(horizon, kLoadBatch);
    if (due) {
      for (const auto& t : *due) remember(self, t);
      s.loaded_until = due->size() == kLoadBatch ? due->back().key.fire_at : horizon;
    } else {
      s.core->log("timers").warn("could not read timers: {}", due.error().to_string());
    }
  }
  while (!s.near.empty() && s.near.begin()->first.first <= now) {
    auto node = s.near.extract(s.near.begin());
    const TimerEntry& t = node.mapped();
    s.sent[node.key()] = std::chrono::steady_clock::now();
    MemoryMessage fired{message::TimerFired{t.execution, t.scheduled_id, t.key.fire_at},
                        std::nullopt, t.key};
    self->send(s.core->directory, deliver_atom::value, t.instance, std::move(fired));
  }
  reap_leases(self);
  // Next check: when the earliest timer is due (in real time), at least once a second.
  auto wait = std::chrono::milliseconds(1000);
  if (!s.near.empty()) {
    auto until =
        std::chrono::duration_cast<std::chrono::milliseconds>(s.near.begin()->first.first - now);
    wait = std::clamp(until, std::chrono::milliseconds(1), wait);
  }
  self->delayed_send(self, wait, tick_atom::value, ++s.generation);
}

caf::behavior timer_behavior(Self* self, std::shared_ptr<HostCore> core) {
  self->state.core = std::move(core);
  self->send(self, tick_atom::value);
  return {
      [=](timers_atom, const std::vector<TimerEntry>& timers) {
        auto& s = self->state;
        bool earlier = false;
        for (const auto& t : timers) {
          if (t.key.fire_at > s.loaded_until) continue;  // a later reload finds it
          earlier = earlier || s.near.empty() || t.key.fire_at < s.near.begin()->first.first;
          remember(self, t);
        }
        if (earlier) tick(self);
      },
      [=](tick_atom) { tick(self); },
      [=](tick_atom, std::uint64_t generation) {
        if (generation == self->state.generation) tick(self);
      },
  };
}

}  // namespace

caf::actor spawn_timer_service(caf::actor_system& system, std::shared_ptr<HostCore> core) {
  return system.spawn(timer_behavior, std::move(core));
}

}  // namespace duractor::detail
