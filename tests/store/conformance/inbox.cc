// Store conformance: enqueueing to an instance's inbox, its order and seqs, and which messages
// a finished instance still takes. Part of the suite run for every store (conformance.h).

#include <doctest/doctest.h>

#include <algorithm>
#include <set>

#include "duractor/runtime/limits.h"
#include "tests/store/conformance/helpers.h"

namespace duractor::testing {

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

  TEST_CASE("a cancellation, termination or pause reason over kMaxReasonBytes is refused") {
    auto f = make_store_fixture();
    auto& s = f->store();
    REQUIRE_OK(s.create_instance(new_instance("i")));
    auto before = snapshot(s);
    std::string long_reason(kMaxReasonBytes + 1, 'x');
    auto cancel = s.enqueue("i", message::Cancel{long_reason, false});
    REQUIRE_FALSE(cancel);
    CHECK(cancel.error().code == ErrorCode::kLimitExceeded);
    CHECK(cancel.error().message ==
          "the reason of the cancellation of instance 'i' is 4097 "
          "bytes; the limit is 4096");
    auto terminate = s.enqueue("i", message::Cancel{long_reason, true});
    REQUIRE_FALSE(terminate);
    CHECK(terminate.error().message.starts_with("the reason of the termination"));
    auto pause = s.enqueue("i", message::Pause{long_reason});
    REQUIRE_FALSE(pause);
    CHECK(pause.error().code == ErrorCode::kLimitExceeded);
    CHECK(pause.error().message.starts_with("the reason of the pause"));
    CHECK(snapshot(s) == before);  // nothing written
    // At the limit it is taken.
    REQUIRE_OK(s.enqueue("i", message::Pause{std::string(kMaxReasonBytes, 'x')}));
    REQUIRE_OK(s.enqueue("i", message::Cancel{std::string(kMaxReasonBytes, 'x'), true}));
  }

  TEST_CASE("a Pause needs an unfinished instance that is not paused, a Resume a paused one") {
    auto f = make_store_fixture();
    auto& s = f->store();
    REQUIRE_OK(s.create_instance(new_instance("i")));
    auto resume = s.enqueue("i", message::Resume{});
    REQUIRE_FALSE(resume);
    CHECK(resume.error().code == ErrorCode::kFailedPrecondition);
    CHECK(resume.error().message == "instance 'i' is not paused (it is pending)");
    REQUIRE_OK(s.enqueue("i", message::Pause{"hold"}));
    auto twice = s.enqueue("i", message::Pause{"again"});  // its pause waits: paused all the same
    REQUIRE_FALSE(twice);
    CHECK(twice.error().code == ErrorCode::kFailedPrecondition);
    CHECK(twice.error().message == "instance 'i' is already paused (or a pause of it waits)");
    CHECK(s.read_inbox("i")->size() == 2);  // the start and one pause

    // A turn before the first execution may only consume messages: it takes the pause.
    auto inbox = s.read_inbox("i");
    auto lock = s.lock_instance("i", std::chrono::hours(1));
    REQUIRE_OK(lock);
    {
      // Anything more needs an execution: refused, nothing changed.
      auto before = snapshot(s);
      TurnCommit completes;
      completes.lock = *lock;
      completes.execution = 0;
      completes.consumed = {(*inbox)[1].seq};
      completes.update.status = InstanceStatus::kCompleted;
      completes.update.output = encode(1);
      auto refused = s.commit_turn(completes);
      REQUIRE_FALSE(refused);
      CHECK(refused.error().code == ErrorCode::kInvalidArgument);
      CHECK(refused.error().message.find("has not started") != std::string::npos);
      TurnCommit works;
      works.lock = *lock;
      works.execution = 0;
      works.work = {NewWorkItem{1, "Reserve", encode(1)}};
      CHECK(s.commit_turn(works).error().code == ErrorCode::kInvalidArgument);
      CHECK(snapshot(s) == before);
    }
    TurnCommit t;
    t.lock = *lock;
    t.execution = 0;
    t.consumed = {(*inbox)[1].seq};
    t.update.status = InstanceStatus::kPaused;
    REQUIRE_OK(s.commit_turn(t));
    CHECK(s.read_instance("i")->status == InstanceStatus::kPaused);
    CHECK(s.read_instance("i")->execution == 0);
    CHECK(s.enqueue("i", message::Pause{"again"}).error().code == ErrorCode::kFailedPrecondition);
    REQUIRE_OK(s.enqueue("i", message::Resume{}));
    CHECK(s.enqueue("i", message::Resume{}).error().code == ErrorCode::kFailedPrecondition);
    CHECK(s.read_inbox("i")->size() == 2);  // the start and the resume

    s.unlock_instance(*lock);
    auto done = create_started(*f, "done");
    TurnCommit end;
    end.lock = done;
    end.execution = 1;
    end.events = {ev(2, f->clock.now(), event::ExecutionCancelled{"stop"})};
    end.update.status = InstanceStatus::kTerminated;
    REQUIRE_OK(s.commit_turn(end));
    auto finished = s.enqueue("done", message::Pause{"late"});
    REQUIRE_FALSE(finished);
    CHECK(finished.error().code == ErrorCode::kFailedPrecondition);
    CHECK(finished.error().message == "instance 'done' has terminated; it cannot be paused");
    CHECK(s.enqueue("done", message::Event{"E", encode(1)}).error().code ==
          ErrorCode::kFailedPrecondition);
    CHECK(s.read_inbox("done")->empty());
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

}  // namespace duractor::testing
