// Store conformance: durable timers, due in order and fired into their instance's inbox
// exactly once. Part of the suite run for every store (conformance.h).

#include <doctest/doctest.h>

#include "tests/store/conformance/helpers.h"

namespace duractor::testing {

TEST_SUITE("store conformance: timers") {
  TEST_CASE("due timers come earliest first and only once due") {
    auto f = make_store_fixture();
    auto& s = f->store();
    auto lock = create_started(*f, "o");
    auto now = f->clock.now();
    TurnCommit t;
    t.lock = lock;
    t.execution = 1;
    t.events = {
        ev(2, now, event::TimerCreated{now + 3s}), ev(3, now, event::TimerCreated{now + 1s}),
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

}  // namespace duractor::testing
