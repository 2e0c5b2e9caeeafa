// The store conformance suite: every operation's semantics, ordering, atomicity (by fault
// injection) and concurrency, against the Store interface only. See conformance.h.

#include "tests/store/conformance.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <set>
#include <thread>

#include "runtime/payload.h"

namespace duractor::testing {
namespace {

using namespace std::chrono_literals;

std::string text(const Error& e) { return e.to_string(); }

#define REQUIRE_OK(expr)                                                   \
  do {                                                                     \
    auto&& require_ok_ = (expr);                                           \
    REQUIRE_MESSAGE(require_ok_, (require_ok_ ? "" : text(require_ok_.error()))); \
  } while (false)

NewInstance new_instance(std::string id, std::string name = "Order", Bytes input = encode(1)) {
  NewInstance r;
  r.id = std::move(id);
  r.name = std::move(name);
  r.version = 1;
  r.input = std::move(input);
  return r;
}

InstanceLock take_lock(Store& s, const InstanceId& id) {
  auto l = s.lock_instance(id, 60s);
  REQUIRE_OK(l);
  return *l;
}

HistoryEvent ev(EventId id, TimePoint at, EventBody body) {
  return HistoryEvent{id, at, std::move(body)};
}

// The first turn of `id`: consumes its Start message and starts the execution it names.
TurnCommit first_turn(StoreFixture& f, const InstanceId& id) {
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
InstanceLock create_started(StoreFixture& f, const InstanceId& id) {
  REQUIRE_OK(f.store().create_instance(new_instance(id)));
  auto turn = first_turn(f, id);
  REQUIRE_OK(f.store().commit_turn(turn));
  return turn.lock;
}

// A second turn on a started instance: schedules two activities and a timer, sends an event
// to `peer`, and sets a custom status.
TurnCommit busy_turn(StoreFixture& f, const InstanceLock& lock, const InstanceId& peer) {
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

Snapshot snapshot(Store& s) {
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

}  // namespace

TEST_SUITE("store conformance: instances") {
  TEST_CASE("creating an instance records it pending with a Start message in its inbox") {
    auto f = make_store_fixture();
    auto& s = f->store();
    auto created = s.create_instance(new_instance("order-1", "Order", encode(std::string("x"))));
    REQUIRE_OK(created);
    CHECK(*created == CreateOutcome::kCreated);

    auto info = s.read_instance("order-1");
    REQUIRE_OK(info);
    CHECK(info->id == "order-1");
    CHECK(info->name == "Order");
    CHECK(info->version == 1);
    CHECK(info->status == InstanceStatus::kPending);
    CHECK(info->execution == 0);
    CHECK(info->created_at == f->clock.now());
    CHECK(info->input == encode(std::string("x")));

    auto inbox = s.read_inbox("order-1");
    REQUIRE_OK(inbox);
    REQUIRE(inbox->size() == 1);
    const auto& start = std::get<message::Start>(inbox->front().message);
    CHECK(start.execution == 1);
    CHECK(start.name == "Order");
    CHECK(start.input == encode(std::string("x")));

    auto latest = s.read_latest_history("order-1");
    REQUIRE_OK(latest);
    CHECK(latest->execution == 0);
    CHECK(latest->events.empty());
  }

  TEST_CASE("a duplicate id is rejected with an error naming the existing instance") {
    auto f = make_store_fixture();
    auto& s = f->store();
    REQUIRE_OK(s.create_instance(new_instance("dup")));
    auto again = s.create_instance(new_instance("dup"));
    REQUIRE_FALSE(again);
    CHECK(again.error().code == ErrorCode::kAlreadyExists);
    CHECK(again.error().message.find("'dup' already exists") != std::string::npos);
    CHECK(again.error().message.find("Order") != std::string::npos);
    auto inbox = s.read_inbox("dup");
    CHECK(inbox->size() == 1);  // no second Start
  }

  TEST_CASE("an idempotent start with the same name and input succeeds without a second Start") {
    auto f = make_store_fixture();
    auto& s = f->store();
    auto r = new_instance("idem", "Order", encode(5));
    r.idempotent = true;
    REQUIRE(*s.create_instance(r) == CreateOutcome::kCreated);
    auto again = s.create_instance(r);
    REQUIRE_OK(again);
    CHECK(*again == CreateOutcome::kAlreadyExisted);
    CHECK(s.read_inbox("idem")->size() == 1);

    SUBCASE("a different input is rejected, saying the input differs") {
      auto other = r;
      other.input = encode(6);
      auto e = s.create_instance(other);
      REQUIRE_FALSE(e);
      CHECK(e.error().code == ErrorCode::kAlreadyExists);
      CHECK(e.error().message.find("different input") != std::string::npos);
    }
    SUBCASE("a different orchestration name is rejected, naming it") {
      auto other = r;
      other.name = "Refund";
      auto e = s.create_instance(other);
      REQUIRE_FALSE(e);
      CHECK(e.error().message.find("'Refund'") != std::string::npos);
    }
  }

  TEST_CASE("invalid ids and names are rejected and nothing is written") {
    auto f = make_store_fixture();
    auto& s = f->store();
    auto bad_id = s.create_instance(new_instance(""));
    REQUIRE_FALSE(bad_id);
    CHECK(bad_id.error().code == ErrorCode::kInvalidArgument);
    auto ctl = s.create_instance(new_instance(std::string("a\x01", 2)));
    REQUIRE_FALSE(ctl);
    CHECK(ctl.error().message.find("control character") != std::string::npos);
    auto bad_name = s.create_instance(new_instance("ok", ""));
    REQUIRE_FALSE(bad_name);
    CHECK(bad_name.error().message.find("orchestration name") != std::string::npos);
    CHECK(s.list_instances({})->instances.empty());
  }

  TEST_CASE("reading an unknown instance is not found, for every read") {
    auto f = make_store_fixture();
    auto& s = f->store();
    auto i = s.read_instance("ghost");
    REQUIRE_FALSE(i);
    CHECK(i.error().code == ErrorCode::kNotFound);
    CHECK(i.error().message.find("ghost") != std::string::npos);
    CHECK(s.read_executions("ghost").error().code == ErrorCode::kNotFound);
    CHECK(s.read_history("ghost", 1).error().code == ErrorCode::kNotFound);
    CHECK(s.read_latest_history("ghost").error().code == ErrorCode::kNotFound);
    CHECK(s.read_inbox("ghost").error().code == ErrorCode::kNotFound);
    CHECK(s.lock_instance("ghost", 1s).error().code == ErrorCode::kNotFound);
  }
}

TEST_SUITE("store conformance: inbox") {
  TEST_CASE("enqueued messages are kept in arrival order with increasing seqs") {
    auto f = make_store_fixture();
    auto& s = f->store();
    REQUIRE_OK(s.create_instance(new_instance("i")));
    std::vector<std::uint64_t> seqs;
    for (int k = 0; k < 5; ++k) {
      auto seq = s.enqueue("i", message::Event{"E", encode(k)});
      REQUIRE_OK(seq);
      seqs.push_back(*seq);
    }
    CHECK(std::is_sorted(seqs.begin(), seqs.end()));
    CHECK(std::set<std::uint64_t>(seqs.begin(), seqs.end()).size() == 5);
    auto inbox = s.read_inbox("i");
    REQUIRE(inbox->size() == 6);
    for (int k = 0; k < 5; ++k) {
      const auto& e = std::get<message::Event>((*inbox)[static_cast<std::size_t>(k) + 1].message);
      CHECK(*decode<int>(e.payload) == k);
      CHECK((*inbox)[static_cast<std::size_t>(k) + 1].seq == seqs[static_cast<std::size_t>(k)]);
    }
    CHECK(s.read_inbox("i", 2)->size() == 2);
  }

  TEST_CASE("enqueueing to an unknown instance is not found and writes nothing") {
    auto f = make_store_fixture();
    auto r = f->store().enqueue("nobody", message::Event{"E", encode(1)});
    REQUIRE_FALSE(r);
    CHECK(r.error().code == ErrorCode::kNotFound);
    CHECK(r.error().message.find("nobody") != std::string::npos);
    CHECK(f->store().instances_with_messages("", 0)->empty());
  }

  TEST_CASE("a Start message cannot be enqueued directly") {
    auto f = make_store_fixture();
    REQUIRE_OK(f->store().create_instance(new_instance("i")));
    auto r = f->store().enqueue("i", message::Start{});
    REQUIRE_FALSE(r);
    CHECK(r.error().code == ErrorCode::kInvalidArgument);
  }

  TEST_CASE("a finished instance refuses events and cancellations but takes late results") {
    auto f = make_store_fixture();
    auto& s = f->store();
    auto lock = create_started(*f, "done");
    TurnCommit t;
    t.lock = lock;
    t.execution = 1;
    t.events = {ev(2, f->clock.now(), event::ExecutionCompleted{encode(std::string("ok"))})};
    t.update.status = InstanceStatus::kCompleted;
    t.update.output = encode(std::string("ok"));
    REQUIRE_OK(s.commit_turn(t));

    auto e = s.enqueue("done", message::Event{"E", encode(1)});
    REQUIRE_FALSE(e);
    CHECK(e.error().code == ErrorCode::kFailedPrecondition);
    CHECK(e.error().message.find("'done' has completed") != std::string::npos);
    auto c = s.enqueue("done", message::Cancel{"stop", false});
    REQUIRE_FALSE(c);
    CHECK(c.error().code == ErrorCode::kFailedPrecondition);
    CHECK(s.enqueue("done", message::ActivityResult{1, 2, encode(1), std::nullopt}));
  }

  TEST_CASE("instances_with_messages lists each instance with messages once, in id order") {
    auto f = make_store_fixture();
    auto& s = f->store();
    for (auto id : {"c", "a", "b", "d"}) REQUIRE_OK(s.create_instance(new_instance(id)));
    REQUIRE_OK(s.enqueue("a", message::Event{"E", encode(1)}));
    REQUIRE_OK(s.commit_turn(first_turn(*f, "d")));  // d's inbox is now empty
    auto all = s.instances_with_messages("", 0);
    REQUIRE_OK(all);
    CHECK(*all == std::vector<InstanceId>{"a", "b", "c"});
    CHECK(*s.instances_with_messages("a", 1) == std::vector<InstanceId>{"b"});
    CHECK(s.instances_with_messages("c", 0)->empty());
  }
}

TEST_SUITE("store conformance: turns") {
  TEST_CASE("a turn appends history, consumes the inbox, creates work and timers and updates "
            "metadata") {
    auto f = make_store_fixture();
    auto& s = f->store();
    REQUIRE_OK(s.create_instance(new_instance("peer")));
    auto lock = create_started(*f, "o");
    REQUIRE_OK(s.enqueue("o", message::Event{"Go", encode(true)}));
    auto inbox = s.read_inbox("o");
    REQUIRE(inbox->size() == 1);

    auto turn = busy_turn(*f, lock, "peer");
    turn.consumed = {inbox->front().seq};
    auto committed = s.commit_turn(turn);
    REQUIRE_OK(committed);

    REQUIRE(committed->work.size() == 2);
    CHECK(committed->work[0].activity == "Reserve");
    CHECK(committed->work[0].instance == "o");
    CHECK(committed->work[0].execution == 1);
    CHECK(committed->work[0].scheduled_id == 2);
    CHECK(committed->work[1].id > committed->work[0].id);
    REQUIRE(committed->timers.size() == 1);
    CHECK(committed->timers[0].scheduled_id == 4);
    CHECK(committed->timers[0].key.fire_at == f->clock.now() + 1h);
    CHECK(committed->woken == std::vector<InstanceId>{"peer"});

    auto history = s.read_history("o", 1);
    REQUIRE_OK(history);
    REQUIRE(history->size() == 6);
    for (std::size_t i = 0; i < history->size(); ++i) CHECK((*history)[i].id == i + 1);
    CHECK((*history)[1] == turn.events[0]);
    CHECK(s.read_inbox("o")->empty());
    CHECK(*s.list_work(0, 0) == committed->work);
    CHECK(s.read_instance("o")->custom_status == "reserving");
    CHECK(s.read_instance("o")->status == InstanceStatus::kRunning);
    auto execs = s.read_executions("o");
    REQUIRE(execs->size() == 1);
    CHECK(execs->front().event_count == 6);

    auto peer_inbox = s.read_inbox("peer");
    REQUIRE(peer_inbox->size() == 2);
    CHECK(std::get<message::Event>(peer_inbox->back().message).name == "Ping");
  }

  TEST_CASE("a turn without the lock is a conflict and leaves no trace") {
    auto f = make_store_fixture();
    auto& s = f->store();
    REQUIRE_OK(s.create_instance(new_instance("peer")));
    auto lock = create_started(*f, "o");
    auto before = snapshot(s);

    SUBCASE("never locked") {
      auto turn = busy_turn(*f, InstanceLock{"o", 999999, f->clock.now() + 1h}, "peer");
      auto r = s.commit_turn(turn);
      REQUIRE_FALSE(r);
      CHECK(r.error().code == ErrorCode::kConflict);
      CHECK(r.error().message.find("lock") != std::string::npos);
    }
    SUBCASE("released") {
      s.unlock_instance(lock);
      auto r = s.commit_turn(busy_turn(*f, lock, "peer"));
      REQUIRE_FALSE(r);
      CHECK(r.error().code == ErrorCode::kConflict);
    }
    SUBCASE("expired and taken by another owner") {
      f->clock.advance(2min);
      auto other = take_lock(s, "o");
      CHECK(other.token != lock.token);
      auto r = s.commit_turn(busy_turn(*f, lock, "peer"));
      REQUIRE_FALSE(r);
      CHECK(r.error().code == ErrorCode::kConflict);
    }
    CHECK(snapshot(s) == before);
  }

  TEST_CASE("a turn whose events do not continue the history is a conflict") {
    auto f = make_store_fixture();
    auto& s = f->store();
    auto lock = create_started(*f, "o");
    auto before = snapshot(s);
    TurnCommit t;
    t.lock = lock;
    t.execution = 1;
    t.events = {ev(5, f->clock.now(), event::CustomStatusSet{"x"})};
    auto r = s.commit_turn(t);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == ErrorCode::kConflict);
    CHECK(r.error().message.find("#5") != std::string::npos);
    CHECK(snapshot(s) == before);

    t.events = {ev(1, f->clock.now(), event::CustomStatusSet{"x"})};  // replays an old id
    CHECK(s.commit_turn(t).error().code == ErrorCode::kConflict);
    t.execution = 7;
    CHECK(s.commit_turn(t).error().code == ErrorCode::kInvalidArgument);
    CHECK(snapshot(s) == before);
  }

  TEST_CASE("a turn consuming a message that is gone is a conflict and leaves no trace") {
    auto f = make_store_fixture();
    auto& s = f->store();
    REQUIRE_OK(s.create_instance(new_instance("o")));
    auto turn = first_turn(*f, "o");
    turn.consumed.push_back(424242);
    auto before = snapshot(s);
    auto r = s.commit_turn(turn);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == ErrorCode::kConflict);
    CHECK(r.error().message.find("424242") != std::string::npos);
    CHECK(snapshot(s) == before);
  }

  TEST_CASE("a turn that fails at any step leaves no trace") {
    auto f = make_store_fixture();
    auto& s = f->store();
    REQUIRE_OK(s.create_instance(new_instance("peer")));
    auto lock = create_started(*f, "o");
    REQUIRE_OK(s.enqueue("o", message::Event{"Go", encode(true)}));
    auto seq = s.read_inbox("o")->front().seq;
    auto make_turn = [&] {
      auto t = busy_turn(*f, lock, "peer");
      t.consumed = {seq};
      t.outbound.push_back(OutboundMessage{
          "child", message::Start{1, "Child", 1, encode(1), ParentLink{"o", 1, 2}, {}}});
      return t;
    };

    // Learn the steps a turn passes through from a successful commit on a twin instance.
    std::set<std::string> seen;
    f->faults = [&](std::string_view step) -> Status {
      seen.emplace(step);
      return {};
    };
    REQUIRE_OK(s.create_instance(new_instance("twin")));
    auto twin_turn = first_turn(*f, "twin");
    REQUIRE_OK(s.commit_turn(twin_turn));
    auto twin_busy = busy_turn(*f, twin_turn.lock, "peer");
    twin_busy.outbound.push_back(OutboundMessage{
        "twin-child", message::Start{1, "Child", 1, encode(1), ParentLink{"twin", 1, 2}, {}}});
    REQUIRE_OK(s.commit_turn(twin_busy));
    REQUIRE(seen.size() >= 6);
    CHECK(seen.count("batch.commit") == 1);

    for (const auto& failing : seen) {
      CAPTURE(failing);
      auto before = snapshot(s);
      f->faults = [&](std::string_view step) -> Status {
        if (step == failing) return fail(ErrorCode::kIo, "injected fault at " + failing);
        return {};
      };
      auto r = s.commit_turn(make_turn());
      REQUIRE_FALSE(r);
      CHECK(r.error().message.find("injected fault") != std::string::npos);
      CHECK(snapshot(s) == before);
    }
    f->faults = nullptr;
    REQUIRE_OK(s.commit_turn(make_turn()));  // and the same turn still commits afterwards
    CHECK(s.read_history("o", 1)->size() == 6);
    CHECK(s.read_instance("child")->status == InstanceStatus::kPending);
  }

  TEST_CASE("a failing write does not disturb the writes committed with it") {
    auto f = make_store_fixture();
    auto& s = f->store();
    for (int i = 0; i < 40; ++i) REQUIRE_OK(s.create_instance(new_instance("i" + std::to_string(i))));
    f->faults = [](std::string_view step) -> Status {
      if (step == "create_instance.record") return fail(ErrorCode::kIo, "injected");
      return {};
    };
    // Concurrent writers: events (succeed) mixed with creations (fail after writing).
    std::atomic<int> ok{0}, failed{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 8; ++t) {
      threads.emplace_back([&, t] {
        for (int k = 0; k < 20; ++k) {
          if (k % 2 == 0) {
            if (s.enqueue("i" + std::to_string((t * 5 + k) % 40), message::Event{"E", encode(k)})) ++ok;
          } else {
            if (!s.create_instance(new_instance("new-" + std::to_string(t) + "-" + std::to_string(k)))) ++failed;
          }
        }
      });
    }
    for (auto& th : threads) th.join();
    f->faults = nullptr;
    CHECK(ok == 80);
    CHECK(failed == 80);
    CHECK(s.list_instances(InstanceQuery{.limit = 0})->instances.size() == 40);
    std::size_t events = 0;
    for (int i = 0; i < 40; ++i) events += s.read_inbox("i" + std::to_string(i))->size() - 1;
    CHECK(events == 80);
  }

  TEST_CASE("a turn that ends the execution drops its remaining timers and work items") {
    auto f = make_store_fixture();
    auto& s = f->store();
    REQUIRE_OK(s.create_instance(new_instance("peer")));
    auto lock = create_started(*f, "o");
    REQUIRE_OK(s.commit_turn(busy_turn(*f, lock, "peer")));
    CHECK(s.list_work(0, 0)->size() == 2);
    CHECK(s.next_timer()->has_value());

    TurnCommit t;
    t.lock = lock;
    t.execution = 1;
    t.events = {ev(7, f->clock.now(),
                   event::ExecutionFailed{FailureDetails{ErrorCategory::kApplication, "E", "boom"}})};
    t.update.status = InstanceStatus::kFailed;
    t.update.failure = FailureDetails{ErrorCategory::kApplication, "E", "boom"};
    REQUIRE_OK(s.commit_turn(t));
    CHECK(s.list_work(0, 0)->empty());
    CHECK_FALSE(s.next_timer()->has_value());
    auto info = s.read_instance("o");
    CHECK(info->status == InstanceStatus::kFailed);
    CHECK(info->failure->message == "boom");
    CHECK(info->completed_at == f->clock.now());
    CHECK(s.read_executions("o")->front().status == InstanceStatus::kFailed);
  }

  TEST_CASE("continue-as-new: the next execution starts at event 1 and the old one is kept") {
    auto f = make_store_fixture();
    auto& s = f->store();
    REQUIRE_OK(s.create_instance(new_instance("peer")));
    auto lock = create_started(*f, "loop");
    REQUIRE_OK(s.commit_turn(busy_turn(*f, lock, "peer")));

    TurnCommit end;
    end.lock = lock;
    end.execution = 1;
    end.events = {ev(7, f->clock.now(), event::ContinuedAsNew{encode(2), 1})};
    message::Start next{2, "Order", 1, encode(2), std::nullopt, {CarriedEvent{"Tick", encode(1)}}};
    end.outbound = {OutboundMessage{"loop", next}};
    auto r = s.commit_turn(end);
    REQUIRE_OK(r);
    CHECK(r->woken == std::vector<InstanceId>{"loop"});
    CHECK(s.list_work(0, 0)->empty());  // execution 1's work can no longer be delivered

    s.unlock_instance(lock);
    auto second = first_turn(*f, "loop");
    CHECK(second.execution == 2);
    REQUIRE_OK(s.commit_turn(second));
    auto info = s.read_instance("loop");
    CHECK(info->execution == 2);
    CHECK(info->status == InstanceStatus::kRunning);
    auto latest = s.read_latest_history("loop");
    REQUIRE_OK(latest);
    CHECK(latest->execution == 2);
    REQUIRE(latest->events.size() == 1);
    auto started = std::get<event::ExecutionStarted>(latest->events[0].body);
    CHECK(started.input == encode(2));
    CHECK(started.carried_events.size() == 1);
    CHECK(s.read_history("loop", 1)->size() == 7);
    auto execs = s.read_executions("loop");
    REQUIRE(execs->size() == 2);
    CHECK(execs->at(0).continued_as_new);
    CHECK(execs->at(1).status == InstanceStatus::kRunning);
    CHECK(s.read_history("loop", 3).error().code == ErrorCode::kNotFound);
  }

  TEST_CASE("a sub-orchestration start creates the child, and a taken id fails the parent's call") {
    auto f = make_store_fixture();
    auto& s = f->store();
    REQUIRE_OK(s.create_instance(new_instance("taken")));
    auto lock = create_started(*f, "parent");
    TurnCommit t;
    t.lock = lock;
    t.execution = 1;
    auto now = f->clock.now();
    t.events = {ev(2, now, event::SubOrchestrationScheduled{"Child", 1, "kid", encode(1), false}),
                ev(3, now, event::SubOrchestrationScheduled{"Child", 1, "taken", encode(2), false})};
    t.outbound = {
        OutboundMessage{"kid", message::Start{1, "Child", 1, encode(1), ParentLink{"parent", 1, 2}, {}}},
        OutboundMessage{"taken", message::Start{1, "Child", 1, encode(2), ParentLink{"parent", 1, 3}, {}}}};
    auto r = s.commit_turn(t);
    REQUIRE_OK(r);
    CHECK(r->woken == std::vector<InstanceId>{"kid", "parent"});

    auto kid = s.read_instance("kid");
    REQUIRE_OK(kid);
    CHECK(kid->status == InstanceStatus::kPending);
    REQUIRE(kid->parent.has_value());
    CHECK(*kid->parent == ParentLink{"parent", 1, 2});
    CHECK(std::get<message::Start>(s.read_inbox("kid")->front().message).parent == kid->parent);

    auto parent_inbox = s.read_inbox("parent");
    REQUIRE(parent_inbox->size() == 1);
    auto failure = std::get<message::ChildResult>(parent_inbox->front().message);
    CHECK(failure.scheduled_id == 3);
    REQUIRE(failure.failure.has_value());
    CHECK(failure.failure->message.find("'taken' is already taken") != std::string::npos);
    CHECK(s.read_inbox("taken")->size() == 1);  // the existing instance is untouched

    auto children = s.list_instances(InstanceQuery{.parent = "parent"});
    REQUIRE(children->instances.size() == 1);
    CHECK(children->instances[0].id == "kid");
  }

  TEST_CASE("outbound messages to instances that do not exist are dropped, and said so") {
    auto f = make_store_fixture();
    auto& s = f->store();
    auto lock = create_started(*f, "o");
    TurnCommit t;
    t.lock = lock;
    t.execution = 1;
    t.events = {ev(2, f->clock.now(), event::EventSent{"nobody", "E", encode(1)})};
    t.outbound = {OutboundMessage{"nobody", message::Event{"E", encode(1)}}};
    auto r = s.commit_turn(t);
    REQUIRE_OK(r);
    CHECK(r->woken.empty());
    CHECK(s.read_instance("nobody").error().code == ErrorCode::kNotFound);
    CHECK(r->undelivered == std::vector<std::string>{"event 'E' to 'nobody': no such instance"});
  }

  TEST_CASE("a detached start whose id is taken leaves the instance alone and is said so") {
    auto f = make_store_fixture();
    auto& s = f->store();
    REQUIRE_OK(s.create_instance(new_instance("taken")));
    auto lock = create_started(*f, "starter");
    TurnCommit t;
    t.lock = lock;
    t.execution = 1;
    t.events = {ev(2, f->clock.now(), event::SubOrchestrationScheduled{"Job", 1, "taken", encode(3), true})};
    t.outbound = {OutboundMessage{"taken", message::Start{1, "Job", 1, encode(3), std::nullopt, {}}}};
    auto r = s.commit_turn(t);
    REQUIRE_OK(r);
    CHECK(r->woken.empty());
    CHECK(r->undelivered ==
          std::vector<std::string>{"detached orchestration 'Job' as 'taken': the instance id is already taken"});
    CHECK(s.read_instance("taken")->name == new_instance("taken").name);
    CHECK(s.read_inbox("taken")->size() == 1);
  }

  TEST_CASE("committed turns survive closing and reopening the store") {
    auto f = make_store_fixture();
    REQUIRE_OK(f->store().create_instance(new_instance("peer")));
    auto lock = create_started(*f, "o");
    REQUIRE_OK(f->store().commit_turn(busy_turn(*f, lock, "peer")));
    auto before = snapshot(f->store());
    f->reopen();
    CHECK(snapshot(f->store()) == before);
    CHECK(before.history.at("o").at(0).size() == 6);
  }
}

TEST_SUITE("store conformance: locks and leases") {
  TEST_CASE("an instance lock is exclusive until released or expired") {
    auto f = make_store_fixture();
    auto& s = f->store();
    REQUIRE_OK(s.create_instance(new_instance("o")));
    auto first = s.lock_instance("o", 10s);
    REQUIRE_OK(first);
    auto second = s.lock_instance("o", 10s);
    REQUIRE_FALSE(second);
    CHECK(second.error().code == ErrorCode::kBusy);
    s.unlock_instance(*first);
    auto third = s.lock_instance("o", 10s);
    REQUIRE_OK(third);
    f->clock.advance(11s);
    auto fourth = s.lock_instance("o", 10s);
    REQUIRE_OK(fourth);
    CHECK(fourth->token != third->token);
    s.unlock_instance(*third);  // stale: must not release the new owner's lock
    CHECK(s.lock_instance("o", 10s).error().code == ErrorCode::kBusy);
  }

  TEST_CASE("an expired lock nobody else took still commits") {
    auto f = make_store_fixture();
    auto& s = f->store();
    auto lock = create_started(*f, "o");
    f->clock.advance(2h);
    TurnCommit t;
    t.lock = lock;
    t.execution = 1;
    t.events = {ev(2, f->clock.now(), event::CustomStatusSet{"late"})};
    CHECK(s.commit_turn(t));
  }

  TEST_CASE("take_work leases the oldest items and skips leased ones until the lease expires") {
    auto f = make_store_fixture();
    auto& s = f->store();
    REQUIRE_OK(s.create_instance(new_instance("peer")));
    auto lock = create_started(*f, "o");
    REQUIRE_OK(s.commit_turn(busy_turn(*f, lock, "peer")));

    auto first = s.take_work(1, 30s);
    REQUIRE_OK(first);
    REQUIRE(first->size() == 1);
    CHECK(first->at(0).item.activity == "Reserve");
    auto second = s.take_work(10, 30s);
    REQUIRE(second->size() == 1);
    CHECK(second->at(0).item.activity == "Charge");
    CHECK(s.take_work(10, 30s)->empty());
    f->clock.advance(31s);
    auto again = s.take_work(10, 30s);
    CHECK(again->size() == 2);  // both leases expired: the items are handed out again
  }

  TEST_CASE("completing leased work moves the result into the inbox and deletes the item") {
    auto f = make_store_fixture();
    auto& s = f->store();
    REQUIRE_OK(s.create_instance(new_instance("peer")));
    auto lock = create_started(*f, "o");
    REQUIRE_OK(s.commit_turn(busy_turn(*f, lock, "peer")));
    auto taken = s.take_work(1, 30s);
    REQUIRE(taken->size() == 1);
    auto done = s.complete_work(taken->at(0).lease,
                                message::ActivityResult{0, 0, encode(std::string("ok")), std::nullopt});
    REQUIRE_OK(done);
    CHECK(*done == "o");
    auto inbox = s.read_inbox("o");
    REQUIRE(inbox->size() == 1);
    auto result = std::get<message::ActivityResult>(inbox->front().message);
    CHECK(result.execution == 1);  // filled in from the work item
    CHECK(result.scheduled_id == 2);
    CHECK(*decode<std::string>(result.output) == "ok");
    CHECK(s.list_work(0, 0)->size() == 1);

    SUBCASE("completing the same lease again is a conflict and delivers nothing") {
      auto again = s.complete_work(taken->at(0).lease, message::ActivityResult{});
      REQUIRE_FALSE(again);
      CHECK(again.error().code == ErrorCode::kConflict);
      CHECK(s.read_inbox("o")->size() == 1);
    }
  }

  TEST_CASE("a lost lease cannot complete the work, but the new owner can") {
    auto f = make_store_fixture();
    auto& s = f->store();
    REQUIRE_OK(s.create_instance(new_instance("peer")));
    auto lock = create_started(*f, "o");
    REQUIRE_OK(s.commit_turn(busy_turn(*f, lock, "peer")));
    auto first = s.take_work(1, 10s)->at(0);
    f->clock.advance(11s);
    auto second = s.take_work(1, 10s)->at(0);
    CHECK(second.item.id == first.item.id);
    auto stale = s.complete_work(first.lease, message::ActivityResult{});
    REQUIRE_FALSE(stale);
    CHECK(stale.error().code == ErrorCode::kConflict);
    CHECK(stale.error().message.find("lease") != std::string::npos);
    CHECK(s.complete_work(second.lease, message::ActivityResult{}));
    CHECK(s.read_inbox("o")->size() == 1);
  }

  TEST_CASE("leasing one item, renewing and abandoning the lease") {
    auto f = make_store_fixture();
    auto& s = f->store();
    REQUIRE_OK(s.create_instance(new_instance("peer")));
    auto lock = create_started(*f, "o");
    auto committed = s.commit_turn(busy_turn(*f, lock, "peer"));
    auto id = committed->work[1].id;
    auto lease = s.lease_work(id, 10s);
    REQUIRE_OK(lease);
    CHECK(s.lease_work(id, 10s).error().code == ErrorCode::kBusy);
    f->clock.advance(8s);
    auto renewed = s.renew_lease(*lease, 10s);
    REQUIRE_OK(renewed);
    f->clock.advance(8s);
    CHECK(s.lease_work(id, 10s).error().code == ErrorCode::kBusy);  // renewal held it
    s.abandon_work(*renewed);
    CHECK(s.lease_work(id, 10s));
    CHECK(s.lease_work(999999, 10s).error().code == ErrorCode::kNotFound);
    CHECK(s.renew_lease(*lease, 10s).error().code == ErrorCode::kConflict);
  }

  TEST_CASE("work whose result a turn delivered directly is deleted by that turn") {
    auto f = make_store_fixture();
    auto& s = f->store();
    REQUIRE_OK(s.create_instance(new_instance("peer")));
    auto lock = create_started(*f, "o");
    auto committed = s.commit_turn(busy_turn(*f, lock, "peer"));
    TurnCommit t;
    t.lock = lock;
    t.execution = 1;
    t.events = {ev(7, f->clock.now(), event::ActivityCompleted{2, encode(1)})};
    t.finished_work = {committed->work[0].id, 987654};  // an unknown id is ignored
    t.fired_timers = {committed->timers[0].key};
    REQUIRE_OK(s.commit_turn(t));
    auto work = s.list_work(0, 0);
    REQUIRE(work->size() == 1);
    CHECK(work->at(0).activity == "Charge");
    CHECK_FALSE(s.next_timer()->has_value());
  }
}

TEST_SUITE("store conformance: timers") {
  TEST_CASE("due timers come earliest first and only once due") {
    auto f = make_store_fixture();
    auto& s = f->store();
    auto lock = create_started(*f, "o");
    auto now = f->clock.now();
    TurnCommit t;
    t.lock = lock;
    t.execution = 1;
    t.events = {ev(2, now, event::TimerCreated{now + 3s}), ev(3, now, event::TimerCreated{now + 1s}),
                ev(4, now, event::TimerCreated{now - 5s}), ev(5, now, event::TimerCreated{now + 2s})};
    t.timers = {NewTimer{2, now + 3s}, NewTimer{3, now + 1s}, NewTimer{4, now - 5s},
                NewTimer{5, now + 2s}};
    REQUIRE_OK(s.commit_turn(t));

    auto due = s.due_timers(now, 0);
    REQUIRE(due->size() == 1);  // timers before the epoch order correctly too
    CHECK(due->at(0).scheduled_id == 4);
    auto later = s.due_timers(now + 2s, 0);
    REQUIRE(later->size() == 3);
    CHECK(later->at(0).scheduled_id == 4);
    CHECK(later->at(1).scheduled_id == 3);
    CHECK(later->at(2).scheduled_id == 5);
    CHECK(s.due_timers(now + 10s, 2)->size() == 2);
    CHECK(s.next_timer()->value().scheduled_id == 4);
  }

  TEST_CASE("firing timers moves each into its instance's inbox exactly once") {
    auto f = make_store_fixture();
    auto& s = f->store();
    auto lock = create_started(*f, "o");
    auto now = f->clock.now();
    TurnCommit t;
    t.lock = lock;
    t.execution = 1;
    t.events = {ev(2, now, event::TimerCreated{now + 1s})};
    t.timers = {NewTimer{2, now + 1s}};
    auto committed = s.commit_turn(t);
    auto key = committed->timers[0].key;
    auto woken = s.fire_timers({key});
    REQUIRE_OK(woken);
    CHECK(*woken == std::vector<InstanceId>{"o"});
    auto again = s.fire_timers({key});
    REQUIRE_OK(again);
    CHECK(again->empty());
    auto inbox = s.read_inbox("o");
    REQUIRE(inbox->size() == 1);
    auto fired = std::get<message::TimerFired>(inbox->front().message);
    CHECK(fired.scheduled_id == 2);
    CHECK(fired.execution == 1);
    CHECK(fired.fire_at == now + 1s);
  }
}

TEST_SUITE("store conformance: listing and deleting") {
  TEST_CASE("instances are listed by id, filtered by status, name, creation time, and paged") {
    auto f = make_store_fixture();
    auto& s = f->store();
    auto t0 = f->clock.now();
    for (int i = 0; i < 10; ++i) {
      REQUIRE_OK(s.create_instance(new_instance("i" + std::to_string(i), i % 2 ? "Odd" : "Even")));
      f->clock.advance(1s);
    }
    (void)create_started(*f, "running");

    auto all = s.list_instances(InstanceQuery{.limit = 0});
    REQUIRE(all->instances.size() == 11);
    CHECK(std::is_sorted(all->instances.begin(), all->instances.end(),
                         [](const auto& a, const auto& b) { return a.id < b.id; }));
    CHECK_FALSE(all->next.has_value());

    CHECK(s.list_instances(InstanceQuery{.name = "Odd", .limit = 0})->instances.size() == 5);
    auto running = s.list_instances(InstanceQuery{.statuses = {InstanceStatus::kRunning}});
    REQUIRE(running->instances.size() == 1);
    CHECK(running->instances[0].id == "running");
    auto window = s.list_instances(
        InstanceQuery{.created_after = t0 + 2s, .created_before = t0 + 5s, .limit = 0});
    CHECK(window->instances.size() == 3);

    std::vector<InstanceId> paged;
    InstanceQuery q{.limit = 4};
    for (int pages = 0; pages < 10; ++pages) {
      auto page = s.list_instances(q);
      REQUIRE_OK(page);
      CHECK(page->instances.size() <= 4);
      for (auto& i : page->instances) paged.push_back(i.id);
      if (!page->next) break;
      q.after = *page->next;
    }
    CHECK(paged.size() == 11);
    CHECK(std::set<InstanceId>(paged.begin(), paged.end()).size() == 11);
  }

  TEST_CASE("deleting an instance removes all its executions, history, inbox, work and timers") {
    auto f = make_store_fixture();
    auto& s = f->store();
    REQUIRE_OK(s.create_instance(new_instance("peer")));
    auto lock = create_started(*f, "o");
    REQUIRE_OK(s.commit_turn(busy_turn(*f, lock, "peer")));
    REQUIRE_OK(s.enqueue("o", message::Event{"E", encode(1)}));
    auto before_peer = s.read_inbox("peer");

    auto refused = s.delete_instance("o", DeleteOptions{.cascade = true, .force = false});
    REQUIRE_FALSE(refused);
    CHECK(refused.error().code == ErrorCode::kFailedPrecondition);
    CHECK(refused.error().message.find("'o' is running") != std::string::npos);
    CHECK(s.read_instance("o"));

    auto deleted = s.delete_instance("o", DeleteOptions{.cascade = true, .force = true});
    REQUIRE_OK(deleted);
    CHECK(deleted->deleted == std::vector<InstanceId>{"o"});
    CHECK(deleted->events == 6);
    CHECK(s.read_instance("o").error().code == ErrorCode::kNotFound);
    CHECK(s.list_work(0, 0)->empty());
    CHECK_FALSE(s.next_timer()->has_value());
    CHECK(s.instances_with_messages("", 0) == std::vector<InstanceId>{"peer"});
    CHECK(*s.read_inbox("peer") == *before_peer);
    auto stats = s.stats();
    CHECK(stats->history_events == 0);
    CHECK(stats->executions == 0);
    CHECK(s.delete_instance("o").error().code == ErrorCode::kNotFound);
    // A turn of the deleted instance's old owner now fails cleanly.
    TurnCommit late;
    late.lock = lock;
    late.execution = 1;
    CHECK(s.commit_turn(late).error().code == ErrorCode::kNotFound);
  }

  TEST_CASE("deleting cascades to sub-orchestrations, and refuses while one is running") {
    auto f = make_store_fixture();
    auto& s = f->store();
    auto lock = create_started(*f, "parent");
    TurnCommit t;
    t.lock = lock;
    t.execution = 1;
    t.events = {ev(2, f->clock.now(), event::SubOrchestrationScheduled{"Child", 1, "kid", {}, false}),
                ev(3, f->clock.now(), event::ExecutionCompleted{encode(1)})};
    t.outbound = {OutboundMessage{"kid", message::Start{1, "Child", 1, {}, ParentLink{"parent", 1, 2}, {}}}};
    t.update.status = InstanceStatus::kCompleted;
    REQUIRE_OK(s.commit_turn(t));
    auto refused = s.delete_instance("parent");
    REQUIRE_FALSE(refused);
    CHECK(refused.error().message.find("'kid'") != std::string::npos);
    CHECK(refused.error().message.find("sub-orchestration of 'parent'") != std::string::npos);

    auto no_cascade = s.delete_instance("parent", DeleteOptions{.cascade = false, .force = false});
    REQUIRE_OK(no_cascade);
    CHECK(no_cascade->deleted == std::vector<InstanceId>{"parent"});
    CHECK(s.read_instance("kid"));
  }

  TEST_CASE("stats count what was written and the change counter moves with every commit") {
    auto f = make_store_fixture();
    auto& s = f->store();
    auto c0 = s.change_counter();
    REQUIRE_OK(c0);
    REQUIRE_OK(s.create_instance(new_instance("peer")));
    auto lock = create_started(*f, "o");
    REQUIRE_OK(s.commit_turn(busy_turn(*f, lock, "peer")));
    auto c1 = s.change_counter();
    CHECK(*c1 > *c0);
    auto st = s.stats();
    REQUIRE_OK(st);
    CHECK(st->instances == 2);
    CHECK(st->executions == 1);
    CHECK(st->history_events == 6);
    CHECK(st->inbox_messages == 2);  // peer's Start and Ping
    CHECK(st->work_items == 2);
    CHECK(st->timers == 1);
    CHECK(st->used_bytes > 0);
    CHECK(st->map_size >= st->used_bytes);
    CHECK(st->instances_by_status[static_cast<std::size_t>(InstanceStatus::kPending)] == 1);
    CHECK(st->instances_by_status[static_cast<std::size_t>(InstanceStatus::kRunning)] == 1);
    CHECK(st->subscriptions == 0);
  }

  TEST_CASE("inbox depths count each instance's waiting messages, with the oldest's time, paged by id") {
    auto f = make_store_fixture();
    auto& s = f->store();
    auto t0 = f->clock.now();
    REQUIRE_OK(s.create_instance(new_instance("b")));  // its Start
    f->clock.advance(1s);
    REQUIRE_OK(s.create_instance(new_instance("a")));
    (void)create_started(*f, "quiet");                 // consumed its Start
    for (int i = 0; i < 3; ++i) REQUIRE_OK(s.enqueue("a", message::Event{"E", encode(i)}));
    auto depths = s.inbox_depths("", 0);
    REQUIRE_OK(depths);
    CHECK(*depths == std::vector<InboxDepth>{{"a", 4, t0 + 1s}, {"b", 1, t0}});
    CHECK(*s.inbox_depths("", 1) == std::vector<InboxDepth>{{"a", 4, t0 + 1s}});
    CHECK(*s.inbox_depths("a", 0) == std::vector<InboxDepth>{{"b", 1, t0}});
  }
}

TEST_SUITE("store conformance: export and import") {
  // An instance with everything an image holds: a first execution that continued as new,
  // a current one with two pending activities, a timer and a subscription, an event and a
  // cancellation waiting in its inbox, and a custom status.
  void make_rich(StoreFixture& f, const InstanceId& id) {
    auto& s = f.store();
    auto lock = create_started(f, id);
    TurnCommit end;
    end.lock = lock;
    end.execution = 1;
    end.events = {ev(2, f.clock.now(), event::ContinuedAsNew{encode(2), 1})};
    end.outbound = {OutboundMessage{id, message::Start{2, "Order", 1, encode(2), std::nullopt, {}}}};
    REQUIRE_OK(s.commit_turn(end));
    s.unlock_instance(lock);
    f.clock.advance(1s);
    auto second = first_turn(f, id);
    REQUIRE_OK(s.commit_turn(second));
    auto busy = busy_turn(f, second.lock, "nobody");
    busy.execution = 2;
    busy.events.push_back(ev(7, f.clock.now(), event::TopicSubscribed{"news"}));
    busy.subscribe = {"news"};
    REQUIRE_OK(s.commit_turn(busy));
    s.unlock_instance(second.lock);
    REQUIRE_OK(s.enqueue(id, message::Event{"Approval", encode(std::string("yes"))}));
    REQUIRE_OK(s.enqueue(id, message::Cancel{"enough", false}));
  }

  // An image with the store-local parts (the id, work ids, timer and inbox seqs) blanked.
  InstanceImage portable(InstanceImage image) {
    image.info.id.clear();
    for (auto& w : image.work) w.id = 0, w.instance.clear();
    for (auto& t : image.timers) t.key.seq = 0, t.instance.clear();
    for (auto& m : image.inbox) m.seq = 0;
    return image;
  }

  TEST_CASE("an exported instance imports under another id with the same history, inbox, work, timers and subscriptions") {
    auto f = make_store_fixture();
    auto& s = f->store();
    make_rich(*f, "orig");
    auto image = s.export_instance("orig");
    REQUIRE_OK(image);
    REQUIRE(image->executions.size() == 2);
    CHECK(image->executions[0].info.continued_as_new);
    CHECK(image->executions[0].events.size() == 2);
    CHECK(image->executions[1].events.size() == 7);
    CHECK(image->inbox.size() == 2);
    CHECK(image->work.size() == 2);
    CHECK(image->timers.size() == 1);
    CHECK(image->topics == std::vector<std::string>{"news"});
    CHECK(image->info.custom_status == "reserving");

    f->clock.advance(1h);  // the copy keeps the original's times
    auto copy = *image;
    copy.info.id = "copy";
    auto imported = s.import_instance(copy);
    REQUIRE_OK(imported);
    CHECK(*imported == 9);
    auto again = s.export_instance("copy");
    REQUIRE_OK(again);
    CHECK(again->info.id == "copy");
    CHECK(portable(*again) == portable(*image));
    for (const auto& w : again->work) CHECK(w.instance == "copy");
    CHECK(*s.read_executions("copy") == *s.read_executions("orig"));
    CHECK(*s.subscribers("news") == std::vector<InstanceId>{"copy", "orig"});
    CHECK(s.list_work(0, 0)->size() == 4);
    // The copy's work and timers are its own: deleting the original leaves them.
    REQUIRE_OK(s.delete_instance("orig", DeleteOptions{.cascade = true, .force = true}));
    CHECK(s.list_work(0, 0)->size() == 2);
    CHECK(s.due_timers(TimePoint::max(), 0)->size() == 1);
    // And it survives a reopen.
    f->reopen();
    CHECK(portable(*f->store().export_instance("copy")) == portable(*image));
  }

  TEST_CASE("an imported instance runs on: its lock, inbox and next turn work as for any instance") {
    auto f = make_store_fixture();
    auto& s = f->store();
    make_rich(*f, "orig");
    auto image = s.export_instance("orig");
    REQUIRE_OK(image);
    image->info.id = "copy";
    REQUIRE_OK(s.import_instance(*image));
    auto lock = take_lock(s, "copy");
    auto inbox = s.read_inbox("copy");
    REQUIRE(inbox->size() == 2);
    TurnCommit t;
    t.lock = lock;
    t.execution = 2;
    t.events = {ev(8, f->clock.now(), event::EventRaised{"Approval", encode(std::string("yes"))}),
                ev(9, f->clock.now(), event::ExecutionCompleted{encode(1)})};
    t.consumed = {inbox->at(0).seq, inbox->at(1).seq};
    t.update.status = InstanceStatus::kCompleted;
    REQUIRE_OK(s.commit_turn(t));
    CHECK(s.read_history("copy", 2)->size() == 9);
    CHECK(s.read_instance("copy")->status == InstanceStatus::kCompleted);
    CHECK(s.list_work(0, 0)->size() == 2);  // only the original's
  }

  TEST_CASE("importing over an existing id is refused and writes nothing") {
    auto f = make_store_fixture();
    auto& s = f->store();
    make_rich(*f, "orig");
    auto image = s.export_instance("orig");
    REQUIRE_OK(image);
    auto before = snapshot(s);
    auto refused = s.import_instance(*image);
    REQUIRE_FALSE(refused);
    CHECK(refused.error().code == ErrorCode::kAlreadyExists);
    CHECK(refused.error().message.find("'orig' already exists") != std::string::npos);
    CHECK(snapshot(s) == before);
  }

  TEST_CASE("malformed images are refused naming the problem, and write nothing") {
    auto f = make_store_fixture();
    auto& s = f->store();
    make_rich(*f, "orig");
    auto good = s.export_instance("orig");
    REQUIRE_OK(good);
    good->info.id = "copy";
    auto before = snapshot(s);
    auto image = *good;
    std::string expected;
    SUBCASE("an id that cannot name an instance") {
      image.info.id = "bad\nid";
      expected = "control character";
    }
    SUBCASE("fewer executions than the record names") {
      image.executions.pop_back();
      expected = "names execution 2 but it has 1 executions";
    }
    SUBCASE("a gap in the event ids") {
      image.executions[1].events.erase(image.executions[1].events.begin() + 2);
      expected = "event 3 of execution 2 has id 4";
    }
    SUBCASE("an execution that does not start with ExecutionStarted") {
      image.executions[1].events.front().body = event::CustomStatusSet{"x"};
      expected = "execution 2 begins with CustomStatusSet";
    }
    SUBCASE("an earlier execution that did not continue as new") {
      image.executions[0].info.continued_as_new = false;
      expected = "execution 1 is followed by another but did not continue as new";
    }
    SUBCASE("work of an execution that has ended") {
      image.work[0].execution = 1;
      expected = "belongs to execution 1, not to the current execution 2";
    }
    auto refused = s.import_instance(image);
    REQUIRE_FALSE(refused);
    CHECK(refused.error().code == ErrorCode::kInvalidArgument);
    CHECK_MESSAGE(refused.error().message.find(expected) != std::string::npos,
                  refused.error().message);
    CHECK(snapshot(s) == before);
  }

  TEST_CASE("an import that fails at any step leaves no trace") {
    auto f = make_store_fixture();
    auto& s = f->store();
    make_rich(*f, "orig");
    auto image = s.export_instance("orig");
    REQUIRE_OK(image);
    image->info.id = "copy";
    for (std::string failing : {"import_instance.history", "import_instance.pending", "batch.commit"}) {
      CAPTURE(failing);
      auto before = snapshot(s);
      f->faults = [&](std::string_view step) -> Status {
        if (step == failing) return fail(ErrorCode::kIo, "injected fault at " + failing);
        return {};
      };
      auto r = s.import_instance(*image);
      REQUIRE_FALSE(r);
      CHECK(r.error().message.find("injected fault") != std::string::npos);
      CHECK(snapshot(s) == before);
    }
    f->faults = nullptr;
    REQUIRE_OK(s.import_instance(*image));
  }

  TEST_CASE("an imported sub-orchestration is linked to its parent, so deleting the parent cascades") {
    auto f = make_store_fixture();
    auto& s = f->store();
    auto lock = create_started(*f, "parent");
    TurnCommit t;
    t.lock = lock;
    t.execution = 1;
    t.events = {ev(2, f->clock.now(), event::SubOrchestrationScheduled{"Child", 1, "kid", {}, false})};
    t.outbound = {OutboundMessage{"kid", message::Start{1, "Child", 1, {}, ParentLink{"parent", 1, 2}, {}}}};
    REQUIRE_OK(s.commit_turn(t));
    auto kid = s.export_instance("kid");
    REQUIRE_OK(kid);
    REQUIRE(kid->info.parent.has_value());
    kid->info.id = "kid-2";
    REQUIRE_OK(s.import_instance(*kid));
    CHECK(s.list_instances(InstanceQuery{.parent = "parent", .limit = 0})->instances.size() == 2);
    auto deleted = s.delete_instance("parent", DeleteOptions{.cascade = true, .force = true});
    REQUIRE_OK(deleted);
    CHECK(deleted->deleted == std::vector<InstanceId>{"parent", "kid", "kid-2"});
  }
}

TEST_SUITE("store conformance: concurrency") {
  TEST_CASE("many threads committing at once: nothing lost, nothing duplicated") {
    auto f = make_store_fixture();
    auto& s = f->store();
    constexpr int kThreads = 16;
    constexpr int kTurns = 60;
    REQUIRE_OK(s.create_instance(new_instance("sink")));
    std::vector<InstanceLock> locks;
    for (int t = 0; t < kThreads; ++t) locks.push_back(create_started(*f, "w" + std::to_string(t)));

    std::atomic<int> failures{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        for (int k = 0; k < kTurns; ++k) {
          TurnCommit turn;
          turn.lock = locks[static_cast<std::size_t>(t)];
          turn.execution = 1;
          auto id = static_cast<EventId>(2 + k);
          turn.events = {HistoryEvent{id, f->clock.now(), event::ActivityScheduled{"A", encode(k), 1}}};
          turn.work = {NewWorkItem{id, "A", encode(k), 1}};
          turn.outbound = {OutboundMessage{"sink", message::Event{"E", encode(t * 1000 + k)}}};
          if (!s.commit_turn(turn)) ++failures;
        }
      });
    }
    for (auto& th : threads) th.join();
    CHECK(failures == 0);

    std::set<std::uint64_t> work_ids;
    auto work = s.list_work(0, 0);
    REQUIRE_OK(work);
    for (const auto& w : *work) work_ids.insert(w.id);
    CHECK(work_ids.size() == kThreads * kTurns);
    for (int t = 0; t < kThreads; ++t) {
      auto h = s.read_history("w" + std::to_string(t), 1);
      REQUIRE(h->size() == kTurns + 1);
      for (int k = 0; k < kTurns; ++k) {
        auto& e = std::get<event::ActivityScheduled>((*h)[static_cast<std::size_t>(k) + 1].body);
        CHECK(*decode<int>(e.input) == k);  // each thread's turns in its own order
      }
    }
    std::set<int> received;
    std::map<int, int> last_per_thread;
    auto sink = s.read_inbox("sink");
    REQUIRE_OK(sink);
    for (const auto& m : *sink) {
      if (auto* e = std::get_if<message::Event>(&m.message)) {
        int v = *decode<int>(e->payload);
        CHECK(received.insert(v).second);  // no duplicates
        int thread = v / 1000;
        if (last_per_thread.count(thread)) CHECK(v > last_per_thread[thread]);  // per-sender order
        last_per_thread[thread] = v;
      }
    }
    CHECK(received.size() == kThreads * kTurns);
  }

  TEST_CASE("reads run concurrently with writes and always see whole turns") {
    auto f = make_store_fixture();
    auto& s = f->store();
    auto lock = create_started(*f, "o");
    std::atomic<bool> done{false};
    std::atomic<int> torn{0}, reads{0};
    std::thread reader([&] {
      while (!done) {
        auto h = s.read_history("o", 1);
        auto w = s.list_work(0, 0);
        if (!h || !w) continue;
        // Each turn adds one event and one work item, in one transaction; the two reads
        // are separate snapshots, so the work list may only be ahead of the history.
        if (w->size() + 1 < h->size()) ++torn;
        for (std::size_t i = 0; i < h->size(); ++i) {
          if ((*h)[i].id != i + 1) ++torn;
        }
        ++reads;
      }
    });
    for (int k = 0; k < 200; ++k) {
      TurnCommit t;
      t.lock = lock;
      t.execution = 1;
      auto id = static_cast<EventId>(k + 2);
      t.events = {HistoryEvent{id, f->clock.now(), event::ActivityScheduled{"A", {}, 1}}};
      t.work = {NewWorkItem{id, "A", {}, 1}};
      REQUIRE_OK(s.commit_turn(t));
    }
    done = true;
    reader.join();
    CHECK(torn == 0);
    CHECK(reads > 0);
  }
}

TEST_SUITE("store conformance: topics") {
  // Commits a turn of `lock`'s instance that only changes subscriptions.
  void subscribe(StoreFixture& f, const InstanceLock& lock, std::vector<std::string> topics,
                 std::vector<std::string> drop = {}) {
    auto& s = f.store();
    auto last = s.read_latest_history(lock.instance);
    REQUIRE_OK(last);
    TurnCommit t;
    t.lock = lock;
    t.execution = last->execution;
    EventId id = last->events.size() + 1;
    for (const auto& topic : topics) t.events.push_back(ev(id++, f.clock.now(), event::TopicSubscribed{topic}));
    for (const auto& topic : drop) t.events.push_back(ev(id++, f.clock.now(), event::TopicUnsubscribed{topic}));
    t.subscribe = std::move(topics);
    t.unsubscribe = std::move(drop);
    REQUIRE_OK(s.commit_turn(t));
  }

  std::vector<int> publications(Store& s, const InstanceId& id) {
    std::vector<int> out;
    auto inbox = s.read_inbox(id);
    REQUIRE_OK(inbox);
    for (const auto& m : *inbox) {
      if (auto* e = std::get_if<message::Event>(&m.message); e && e->name == topic_event_name("news")) {
        out.push_back(*decode<int>(e->payload));
      }
    }
    return out;
  }

  TEST_CASE("a publication reaches every subscriber, in publish order, in one commit") {
    auto f = make_store_fixture();
    auto& s = f->store();
    auto a = create_started(*f, "a");
    auto b = create_started(*f, "b");
    (void)create_started(*f, "c");  // not subscribed
    subscribe(*f, a, {"news"});
    subscribe(*f, b, {"news", "sports"});
    CHECK(*s.subscribers("news") == std::vector<InstanceId>{"a", "b"});
    CHECK(*s.subscriptions("b") == std::vector<std::string>{"news", "sports"});
    for (int i = 1; i <= 3; ++i) {
      auto receipt = s.publish("news", encode(i));
      REQUIRE_OK(receipt);
      CHECK(receipt->delivered == std::vector<InstanceId>{"a", "b"});
    }
    CHECK(publications(s, "a") == std::vector<int>{1, 2, 3});
    CHECK(publications(s, "b") == std::vector<int>{1, 2, 3});
    CHECK(publications(s, "c").empty());
  }

  TEST_CASE("a publication with no subscriber reaches nobody and is not kept") {
    auto f = make_store_fixture();
    auto& s = f->store();
    auto receipt = s.publish("nobody-listens", encode(1));
    REQUIRE_OK(receipt);
    CHECK(receipt->delivered.empty());
    auto a = create_started(*f, "a");
    subscribe(*f, a, {"nobody-listens"});
    CHECK(s.read_inbox("a")->empty());  // the earlier publication was not queued for later
  }

  TEST_CASE("unsubscribing stops deliveries, and finishing ends every subscription") {
    auto f = make_store_fixture();
    auto& s = f->store();
    auto a = create_started(*f, "a");
    subscribe(*f, a, {"news", "weather"});
    subscribe(*f, a, {}, {"news"});
    CHECK(s.publish("news", encode(1))->delivered.empty());
    CHECK(s.publish("weather", encode(1))->delivered.size() == 1);
    TurnCommit end;
    end.lock = a;
    end.execution = 1;
    end.events = {ev(s.read_history("a", 1)->size() + 1, f->clock.now(), event::ExecutionCompleted{encode(0)})};
    end.update.status = InstanceStatus::kCompleted;
    REQUIRE_OK(s.commit_turn(end));
    CHECK(s.publish("weather", encode(2))->delivered.empty());
    CHECK(s.subscriptions("a")->empty());
  }

  TEST_CASE("subscriptions outlive continue-as-new and end with deletion") {
    auto f = make_store_fixture();
    auto& s = f->store();
    auto a = create_started(*f, "a");
    subscribe(*f, a, {"news"});
    TurnCommit next;
    next.lock = a;
    next.execution = 1;
    next.events = {ev(3, f->clock.now(), event::ContinuedAsNew{encode(1), 1})};
    next.outbound = {OutboundMessage{"a", message::Start{2, "Order", 1, encode(1), std::nullopt, {}}}};
    REQUIRE_OK(s.commit_turn(next));
    CHECK(s.publish("news", encode(1))->delivered == std::vector<InstanceId>{"a"});
    REQUIRE_OK(s.delete_instance("a", DeleteOptions{.cascade = true, .force = true}));
    CHECK(s.subscribers("news")->empty());
  }

  TEST_CASE("a publication that fails half-way reaches nobody") {
    auto f = make_store_fixture();
    auto& s = f->store();
    for (auto id : {"a", "b", "c"}) subscribe(*f, create_started(*f, id), {"news"});
    int calls = 0;
    f->faults = [&](std::string_view step) -> Status {
      if (step == "publish.one" && ++calls == 2) return fail(ErrorCode::kIo, "injected");
      return {};
    };
    auto before = snapshot(s);
    CHECK_FALSE(s.publish("news", encode(1)));
    CHECK(snapshot(s) == before);
  }

  TEST_CASE("topic names are checked, and users cannot raise events in the topic namespace") {
    auto f = make_store_fixture();
    auto& s = f->store();
    auto bad = s.publish(std::string("bad\ntopic"), encode(1));
    REQUIRE_FALSE(bad);
    CHECK(bad.error().code == ErrorCode::kInvalidArgument);
    (void)create_started(*f, "a");
    auto fake = s.enqueue("a", message::Event{"topic:news", encode(1)});
    REQUIRE_FALSE(fake);
    CHECK(fake.error().message.find("reserved for topic publications") != std::string::npos);
  }
}

}  // namespace duractor::testing

namespace duractor::testing {

TEST_SUITE("store conformance: delivery counts") {
  TEST_CASE(
      "a new work item counts one delivery, record_delivery sets the count, and it survives a "
      "reopen") {
    auto f = make_store_fixture();
    auto& s = f->store();
    REQUIRE_OK(s.create_instance(new_instance("peer")));
    auto lock = create_started(*f, "o");
    auto committed = s.commit_turn(busy_turn(*f, lock, "peer"));
    REQUIRE_OK(committed);
    for (const auto& item : committed->work) CHECK(item.deliveries == 1);
    auto listed = s.list_work(0, 0);
    REQUIRE_OK(listed);
    for (const auto& item : *listed) CHECK(item.deliveries == 1);

    auto taken = s.take_work(1, 30s);
    REQUIRE_OK(taken);
    REQUIRE(taken->size() == 1);
    CHECK(taken->at(0).item.deliveries == 1);  // taking does not count: the holder does
    REQUIRE_OK(s.record_delivery(taken->at(0).lease, 2));
    auto id = taken->at(0).item.id;
    auto count_of = [&](std::uint64_t item) {
      auto work = f->store().list_work(0, 0);
      REQUIRE_OK(work);
      for (const auto& w : *work) {
        if (w.id == item) return w.deliveries;
      }
      FAIL("work item " << item << " is gone");
      return std::uint32_t{0};
    };
    CHECK(count_of(id) == 2);
    auto image = s.export_instance("o");
    REQUIRE_OK(image);
    CHECK(image->work.at(0).deliveries == 2);

    f->reopen();
    auto& r = f->store();
    CHECK(count_of(id) == 2);
    auto again = r.take_work(10, 30s);
    REQUIRE_OK(again);
    REQUIRE(again->size() == 2);
    CHECK(again->at(0).item.id == id);
    CHECK(again->at(0).item.deliveries == 2);
    REQUIRE_OK(r.record_delivery(again->at(0).lease, 0));  // given back (a graceful stop)
    CHECK(count_of(id) == 0);
  }

  TEST_CASE("recording a delivery needs the lease: a lost one is a conflict and writes nothing") {
    auto f = make_store_fixture();
    auto& s = f->store();
    REQUIRE_OK(s.create_instance(new_instance("peer")));
    auto lock = create_started(*f, "o");
    REQUIRE_OK(s.commit_turn(busy_turn(*f, lock, "peer")));
    auto first = s.take_work(1, 10s)->at(0);
    f->clock.advance(11s);
    auto second = s.take_work(1, 10s)->at(0);
    REQUIRE(second.item.id == first.item.id);
    auto stale = s.record_delivery(first.lease, 7);
    REQUIRE_FALSE(stale);
    CHECK(stale.error().code == ErrorCode::kConflict);
    REQUIRE_OK(s.record_delivery(second.lease, 2));
    auto third = s.take_work(10, 10s);  // the other item only: this one is leased
    REQUIRE(third->size() == 1);
    f->clock.advance(11s);
    auto retaken = s.take_work(10, 10s);
    REQUIRE_OK(retaken);
    for (const auto& w : *retaken) {
      if (w.item.id == first.item.id) CHECK(w.item.deliveries == 2);
    }
    auto gone = s.record_delivery(WorkLease{999999, 1, f->clock.now() + 10s}, 1);
    REQUIRE_FALSE(gone);
    CHECK(gone.error().code == ErrorCode::kConflict);
  }

  TEST_CASE(
      "a turn's delivery count grows with each count, survives a reopen, and a commit resets it") {
    auto f = make_store_fixture();
    auto& s = f->store();
    REQUIRE_OK(s.create_instance(new_instance("o")));
    auto lock = take_lock(s, "o");
    CHECK(*s.turn_deliveries("o") == 0);
    CHECK(*s.count_turn_delivery(lock) == 1);
    CHECK(*s.count_turn_delivery(lock) == 2);
    CHECK(*s.turn_deliveries("o") == 2);

    f->reopen();
    auto& r = f->store();
    auto stale = r.count_turn_delivery(lock);  // locks end with the store that gave them
    REQUIRE_FALSE(stale);
    CHECK(stale.error().code == ErrorCode::kConflict);
    auto turn = first_turn(*f, "o");
    auto counted = r.count_turn_delivery(turn.lock);
    REQUIRE_OK(counted);
    CHECK(*counted == 3);
    REQUIRE_OK(r.commit_turn(turn));
    CHECK(*r.turn_deliveries("o") == 0);  // the commit reset it
    CHECK(*r.count_turn_delivery(turn.lock) == 1);
    CHECK(r.turn_deliveries("nobody").error().code == ErrorCode::kNotFound);

    auto unknown = r.count_turn_delivery(InstanceLock{"nobody", 1, f->clock.now() + 1h});
    REQUIRE_FALSE(unknown);
    CHECK(unknown.error().code == ErrorCode::kNotFound);
  }

  TEST_CASE("a deleted instance's turn-delivery count goes with it") {
    auto f = make_store_fixture();
    auto& s = f->store();
    REQUIRE_OK(s.create_instance(new_instance("o")));
    auto lock = take_lock(s, "o");
    CHECK(*s.count_turn_delivery(lock) == 1);
    REQUIRE_OK(s.delete_instance("o", DeleteOptions{.force = true}));
    REQUIRE_OK(s.create_instance(new_instance("o")));
    CHECK(*s.count_turn_delivery(take_lock(s, "o")) == 1);
  }

  TEST_CASE("sequence marks name the last inbox seq, work item id and timer seq given") {
    auto f = make_store_fixture();
    auto& s = f->store();
    auto empty = s.sequence_marks();
    REQUIRE_OK(empty);
    CHECK(*empty == SequenceMarks{});
    REQUIRE_OK(s.create_instance(new_instance("peer")));
    auto lock = create_started(*f, "o");
    auto committed = s.commit_turn(busy_turn(*f, lock, "peer"));
    REQUIRE_OK(committed);
    auto marks = s.sequence_marks();
    REQUIRE_OK(marks);
    CHECK(marks->work == committed->work.back().id);
    CHECK(marks->timer == committed->timers.back().key.seq);
    auto ping = s.read_inbox("peer");
    REQUIRE_OK(ping);
    CHECK(marks->inbox == ping->back().seq);  // the Ping the turn sent was the last message
    f->reopen();
    CHECK(*f->store().sequence_marks() == *marks);
  }
}

}  // namespace duractor::testing
