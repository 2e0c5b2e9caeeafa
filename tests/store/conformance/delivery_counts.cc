// Store conformance: durable delivery counts for poison detection — a work item's deliveries
// (record_delivery), an instance's turn deliveries (count_turn_delivery, reset by a commit)
// and the sequence marks. Part of the suite run for every store (conformance.h).

#include <doctest/doctest.h>

#include "tests/store/conformance/helpers.h"

namespace duractor::testing {

using namespace std::chrono_literals;

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
