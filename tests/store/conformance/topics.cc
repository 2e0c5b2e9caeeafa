// Store conformance: topic subscriptions and publications — delivery, unsubscribing, lifetime
// across continue-as-new and deletion, atomicity, name checks. Part of the suite run for every
// store (conformance.h).

#include <doctest/doctest.h>

#include "tests/store/conformance/helpers.h"

namespace duractor::testing {

TEST_SUITE("store conformance: topics") {
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
    end.events = {ev(s.read_history("a", 1)->size() + 1, f->clock.now(),
                     event::ExecutionCompleted{encode(0)})};
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
    next.outbound = {
        OutboundMessage{"a", message::Start{2, "Order", 1, encode(1), std::nullopt, {}}}};
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

  // A turn of `lock`'s instance that publishes `value` on `topic` (ctx.publish), and with
  // `finish` completes the execution too.
  TurnCommit publishing_turn(StoreFixture & f, const InstanceLock& lock, const std::string& topic,
                             int value, bool finish = false) {
    auto& s = f.store();
    auto last = s.read_latest_history(lock.instance);
    REQUIRE_OK(last);
    TurnCommit t;
    t.lock = lock;
    t.execution = last->execution;
    EventId id = last->events.size() + 1;
    t.events.push_back(ev(id++, f.clock.now(), event::TopicPublished{topic, encode(value)}));
    t.publications.push_back(TopicPublication{topic, encode(value)});
    if (finish) {
      t.events.push_back(ev(id, f.clock.now(), event::ExecutionCompleted{encode(0)}));
      t.update.status = InstanceStatus::kCompleted;
    }
    return t;
  }

  TEST_CASE(
      "a turn's publication reaches every subscriber in the turn's own commit, and the commit "
      "says whom") {
    auto f = make_store_fixture();
    auto& s = f->store();
    subscribe(*f, create_started(*f, "a"), {"news"});
    subscribe(*f, create_started(*f, "b"), {"news"});
    auto p = create_started(*f, "p");  // the publisher, not subscribed
    auto turn = publishing_turn(*f, p, "news", 7);
    turn.publications.push_back(TopicPublication{"nobody-listens", encode(8)});
    auto committed = s.commit_turn(turn);
    REQUIRE_OK(committed);
    REQUIRE(committed->published.size() == 2);
    CHECK(committed->published[0].delivered == std::vector<InstanceId>{"a", "b"});
    CHECK(committed->published[1].delivered.empty());
    CHECK(committed->woken == std::vector<InstanceId>{"a", "b"});
    CHECK(publications(s, "a") == std::vector<int>{7});
    CHECK(publications(s, "b") == std::vector<int>{7});
    CHECK(s.read_inbox("p")->empty());
    CHECK(s.read_history("p", 1)->back().body ==
          EventBody{event::TopicPublished{"news", encode(7)}});
  }

  TEST_CASE(
      "a turn's publication follows the turn's own subscription changes, and skips its "
      "instance when the turn finishes it") {
    auto f = make_store_fixture();
    auto& s = f->store();
    auto p = create_started(*f, "p");
    // Subscribes and publishes in one turn: the publication reaches p itself.
    auto both = publishing_turn(*f, p, "news", 1);
    both.events.push_back(
        ev(both.events.back().id + 1, f->clock.now(), event::TopicSubscribed{"news"}));
    both.subscribe = {"news"};
    auto committed = s.commit_turn(both);
    REQUIRE_OK(committed);
    CHECK(committed->published.at(0).delivered == std::vector<InstanceId>{"p"});
    CHECK(publications(s, "p") == std::vector<int>{1});
    // Unsubscribes and publishes: it does not.
    subscribe(*f, create_started(*f, "a"), {"news"});
    auto drop = publishing_turn(*f, p, "news", 2);
    drop.events.push_back(
        ev(drop.events.back().id + 1, f->clock.now(), event::TopicUnsubscribed{"news"}));
    drop.unsubscribe = {"news"};
    committed = s.commit_turn(drop);
    REQUIRE_OK(committed);
    CHECK(committed->published.at(0).delivered == std::vector<InstanceId>{"a"});
    // Subscribed again, and finishing in the publishing turn: only the others get it.
    subscribe(*f, p, {"news"});
    committed = s.commit_turn(publishing_turn(*f, p, "news", 3, true));
    REQUIRE_OK(committed);
    CHECK(committed->published.at(0).delivered == std::vector<InstanceId>{"a"});
    CHECK(publications(s, "a") == std::vector<int>{2, 3});
    CHECK(publications(s, "p") == std::vector<int>{1});
  }

  TEST_CASE("a turn refused or failing half-way publishes nothing") {
    auto f = make_store_fixture();
    auto& s = f->store();
    for (auto id : {"a", "b", "c"}) subscribe(*f, create_started(*f, id), {"news"});
    auto p = create_started(*f, "p");
    auto before = snapshot(s);
    SUBCASE("a bad topic name") {
      auto turn = publishing_turn(*f, p, "news", 1);
      turn.publications.push_back(TopicPublication{"bad\ntopic", encode(2)});
      auto refused = s.commit_turn(turn);
      REQUIRE_FALSE(refused);
      CHECK(refused.error().code == ErrorCode::kInvalidArgument);
      CHECK(refused.error().message.find("topic name") != std::string::npos);
    }
    SUBCASE("a conflict: the history moved on") {
      auto turn = publishing_turn(*f, p, "news", 1);
      for (auto& e : turn.events) e.id += 5;
      auto refused = s.commit_turn(turn);
      REQUIRE_FALSE(refused);
      CHECK(refused.error().code == ErrorCode::kConflict);
    }
    SUBCASE("a failure at the second subscriber") {
      int calls = 0;
      f->faults = [&](std::string_view step) -> Status {
        if (step == "publish.one" && ++calls == 2) return fail(ErrorCode::kIo, "injected");
        return {};
      };
      CHECK_FALSE(s.commit_turn(publishing_turn(*f, p, "news", 1)));
    }
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
