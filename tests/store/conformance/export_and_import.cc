// Store conformance: exporting an instance and importing the image — what it carries, what is
// refused, and that a failed import leaves no trace. Part of the suite run for every store.

#include <doctest/doctest.h>

#include "tests/store/conformance/helpers.h"

namespace duractor::testing {

TEST_SUITE("store conformance: export and import") {
  // An instance with everything an image holds: a first execution that continued as new,
  // a current one with two pending activities, a timer and a subscription, an event and a
  // cancellation waiting in its inbox, and a custom status.
  void make_rich(StoreFixture & f, const InstanceId& id) {
    auto& s = f.store();
    auto lock = create_started(f, id);
    TurnCommit end;
    end.lock = lock;
    end.execution = 1;
    end.events = {ev(2, f.clock.now(), event::ContinuedAsNew{encode(2), 1})};
    end.outbound = {
        OutboundMessage{id, message::Start{2, "Order", 1, encode(2), std::nullopt, {}}}};
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

  TEST_CASE(
      "an exported instance imports under another id with the same history, inbox, work, timers "
      "and subscriptions") {
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

  TEST_CASE(
      "an imported instance runs on: its lock, inbox and next turn work as for any instance") {
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
    for (std::string failing :
         {"import_instance.history", "import_instance.pending", "batch.commit"}) {
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

  TEST_CASE(
      "an imported sub-orchestration is linked to its parent, so deleting the parent cascades") {
    auto f = make_store_fixture();
    auto& s = f->store();
    auto lock = create_started(*f, "parent");
    TurnCommit t;
    t.lock = lock;
    t.execution = 1;
    t.events = {
        ev(2, f->clock.now(), event::SubOrchestrationScheduled{"Child", 1, "kid", {}, false})};
    t.outbound = {
        OutboundMessage{"kid", message::Start{1, "Child", 1, {}, ParentLink{"parent", 1, 2}, {}}}};
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

}  // namespace duractor::testing
