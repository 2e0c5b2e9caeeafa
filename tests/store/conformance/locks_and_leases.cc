// Store conformance: instance locks and work leases — exclusivity, expiry, taking and
// completing work, lost leases, renewal. Part of the suite run for every store (conformance.h).

#include <doctest/doctest.h>

#include "tests/store/conformance/helpers.h"

namespace duractor::testing {

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
    auto done = s.complete_work(
        taken->at(0).lease, message::ActivityResult{0, 0, encode(std::string("ok")), std::nullopt});
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

}  // namespace duractor::testing
