#pragma once
// Builders and checks shared by the files of the store conformance suite
// (tests/store/conformance/*.cc): new instances, first and busy turns, and a snapshot of
// everything a store holds, as seen through its reads.

#include <doctest/doctest.h>

#include <map>
#include <string>
#include <vector>

#include "duractor/runtime/payload.h"
#include "tests/store/conformance.h"

namespace duractor::testing {

using namespace std::chrono_literals;

inline std::string text(const Error& e) {
  return e.to_string();
}

#define REQUIRE_OK(expr)                                                          \
  do {                                                                            \
    auto&& require_ok_ = (expr);                                                  \
    REQUIRE_MESSAGE(require_ok_, (require_ok_ ? "" : text(require_ok_.error()))); \
  } while (false)

inline NewInstance new_instance(std::string id, std::string name = "Order",
                                Bytes input = encode(1)) {
  NewInstance r;
  r.id = std::move(id);
  r.name = std::move(name);
  r.version = 1;
  r.input = std::move(input);
  return r;
}

inline InstanceLock take_lock(Store& s, const InstanceId& id) {
  auto l = s.lock_instance(id, 60s);
  REQUIRE_OK(l);
  return *l;
}

inline HistoryEvent ev(EventId id, TimePoint at, EventBody body) {
  return HistoryEvent{id, at, std::move(body)};
}

// The first turn of `id`: consumes its Start message and starts the execution it names.
inline TurnCommit first_turn(StoreFixture& f, const InstanceId& id) {
  auto& s = f.store();
  auto inbox = s.read_inbox(id);
  REQUIRE_OK(inbox);
  REQUIRE_FALSE(inbox->empty());
  const auto& start = std::get<message::Start>(inbox->front().message);
  TurnCommit t;
  t.lock = take_lock(s, id);
  t.execution = start.execution;
  t.events.push_back(ev(1, f.clock.now(),
                        event::ExecutionStarted{start.name, start.version, start.input,
                                                start.parent, start.carried_events}));
  t.consumed.push_back(inbox->front().seq);
  t.update.status = InstanceStatus::kRunning;
  t.update.name = start.name;
  t.update.version = start.version;
  return t;
}

// Creates `id` and commits its first turn; the turn lock stays held (returned).
inline InstanceLock create_started(StoreFixture& f, const InstanceId& id) {
  REQUIRE_OK(f.store().create_instance(new_instance(id)));
  auto turn = first_turn(f, id);
  REQUIRE_OK(f.store().commit_turn(turn));
  return turn.lock;
}

// A second turn on a started instance: schedules two activities and a timer, sends an event
// to `peer`, and sets a custom status.
inline TurnCommit busy_turn(StoreFixture& f, const InstanceLock& lock, const InstanceId& peer) {
  TurnCommit t;
  t.lock = lock;
  t.execution = 1;
  auto now = f.clock.now();
  t.events = {ev(2, now, event::ActivityScheduled{"Reserve", encode(1), 1}),
              ev(3, now, event::ActivityScheduled{"Charge", encode(2), 1}),
              ev(4, now, event::TimerCreated{now + 1h}),
              ev(5, now, event::EventSent{peer, "Ping", encode(7)}),
              ev(6, now, event::CustomStatusSet{"reserving"})};
  t.work = {NewWorkItem{2, "Reserve", encode(1), 1}, NewWorkItem{3, "Charge", encode(2), 1}};
  t.timers = {NewTimer{4, now + 1h}};
  t.outbound = {OutboundMessage{peer, message::Event{"Ping", encode(7)}}};
  t.update.custom_status = "reserving";
  return t;
}

// Everything a store holds, as seen through reads, for before/after comparisons.
struct Snapshot {
  std::vector<InstanceInfo> instances;
  std::map<InstanceId, std::vector<ExecutionInfo>> executions;
  std::map<InstanceId, std::vector<std::vector<HistoryEvent>>> history;
  std::map<InstanceId, std::vector<InboxEntry>> inbox;
  std::vector<WorkItem> work;
  std::vector<TimerEntry> timers;
  bool operator==(const Snapshot&) const = default;
};

inline Snapshot snapshot(Store& s) {
  Snapshot snap;
  auto page = s.list_instances(InstanceQuery{.limit = 0});
  REQUIRE_OK(page);
  snap.instances = page->instances;
  for (const auto& i : snap.instances) {
    auto execs = s.read_executions(i.id);
    REQUIRE_OK(execs);
    snap.executions[i.id] = *execs;
    for (const auto& x : *execs) {
      auto h = s.read_history(i.id, x.execution);
      REQUIRE_OK(h);
      snap.history[i.id].push_back(*h);
    }
    auto inbox = s.read_inbox(i.id);
    REQUIRE_OK(inbox);
    snap.inbox[i.id] = *inbox;
  }
  auto work = s.list_work(0, 0);
  REQUIRE_OK(work);
  snap.work = *work;
  auto timers = s.due_timers(TimePoint::max(), 0);
  REQUIRE_OK(timers);
  snap.timers = *timers;
  return snap;
}

// Commits a turn of `lock`'s instance that only changes subscriptions.
inline void subscribe(StoreFixture& f, const InstanceLock& lock, std::vector<std::string> topics,
                      std::vector<std::string> drop = {}) {
  auto& s = f.store();
  auto last = s.read_latest_history(lock.instance);
  REQUIRE_OK(last);
  TurnCommit t;
  t.lock = lock;
  t.execution = last->execution;
  EventId id = last->events.size() + 1;
  for (const auto& topic : topics)
    t.events.push_back(ev(id++, f.clock.now(), event::TopicSubscribed{topic}));
  for (const auto& topic : drop)
    t.events.push_back(ev(id++, f.clock.now(), event::TopicUnsubscribed{topic}));
  t.subscribe = std::move(topics);
  t.unsubscribe = std::move(drop);
  REQUIRE_OK(s.commit_turn(t));
}

// The payloads of the publications on "news" waiting in the inbox of `id`.
inline std::vector<int> publications(Store& s, const InstanceId& id) {
  std::vector<int> out;
  auto inbox = s.read_inbox(id);
  REQUIRE_OK(inbox);
  for (const auto& m : *inbox) {
    if (auto* e = std::get_if<message::Event>(&m.message);
        e && e->name == topic_event_name("news")) {
      out.push_back(*decode<int>(e->payload));
    }
  }
  return out;
}

}  // namespace duractor::testing
