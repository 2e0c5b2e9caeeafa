// Store conformance: committing turns — the lock, continuing history, consumed messages,
// atomicity under injected faults, ends of executions, continue-as-new, sub-orchestrations,
// outbound messages and durability across reopening. Part of the suite run for every store.

#include <doctest/doctest.h>

#include <atomic>
#include <set>
#include <thread>

#include "tests/store/conformance/helpers.h"

namespace duractor::testing {

TEST_SUITE("store conformance: turns") {
  TEST_CASE(
      "a turn appends history, consumes the inbox, creates work and timers and updates "
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
    for (int i = 0; i < 40; ++i)
      REQUIRE_OK(s.create_instance(new_instance("i" + std::to_string(i))));
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
            if (s.enqueue("i" + std::to_string((t * 5 + k) % 40), message::Event{"E", encode(k)}))
              ++ok;
          } else {
            if (!s.create_instance(
                    new_instance("new-" + std::to_string(t) + "-" + std::to_string(k))))
              ++failed;
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
    t.events = {
        ev(7, f->clock.now(),
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
    t.events = {
        ev(2, now, event::SubOrchestrationScheduled{"Child", 1, "kid", encode(1), false}),
        ev(3, now, event::SubOrchestrationScheduled{"Child", 1, "taken", encode(2), false})};
    t.outbound = {
        OutboundMessage{"kid",
                        message::Start{1, "Child", 1, encode(1), ParentLink{"parent", 1, 2}, {}}},
        OutboundMessage{"taken",
                        message::Start{1, "Child", 1, encode(2), ParentLink{"parent", 1, 3}, {}}}};
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
    t.events = {ev(2, f->clock.now(),
                   event::SubOrchestrationScheduled{"Job", 1, "taken", encode(3), true})};
    t.outbound = {
        OutboundMessage{"taken", message::Start{1, "Job", 1, encode(3), std::nullopt, {}}}};
    auto r = s.commit_turn(t);
    REQUIRE_OK(r);
    CHECK(r->woken.empty());
    CHECK(r->undelivered ==
          std::vector<std::string>{
              "detached orchestration 'Job' as 'taken': the instance id is already taken"});
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

}  // namespace duractor::testing
