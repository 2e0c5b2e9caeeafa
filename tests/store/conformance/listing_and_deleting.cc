// Store conformance: listing and paging instances, deleting (with cascade), stats, the change
// counter and inbox depths. Part of the suite run for every store (conformance.h).

#include <doctest/doctest.h>

#include <algorithm>
#include <set>

#include "tests/store/conformance/helpers.h"

namespace duractor::testing {

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
    t.events = {
        ev(2, f->clock.now(), event::SubOrchestrationScheduled{"Child", 1, "kid", {}, false}),
        ev(3, f->clock.now(), event::ExecutionCompleted{encode(1)})};
    t.outbound = {
        OutboundMessage{"kid", message::Start{1, "Child", 1, {}, ParentLink{"parent", 1, 2}, {}}}};
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

  TEST_CASE(
      "inbox depths count each instance's waiting messages, with the oldest's time, paged by id") {
    auto f = make_store_fixture();
    auto& s = f->store();
    auto t0 = f->clock.now();
    REQUIRE_OK(s.create_instance(new_instance("b")));  // its Start
    f->clock.advance(1s);
    REQUIRE_OK(s.create_instance(new_instance("a")));
    (void)create_started(*f, "quiet");  // consumed its Start
    for (int i = 0; i < 3; ++i) REQUIRE_OK(s.enqueue("a", message::Event{"E", encode(i)}));
    auto depths = s.inbox_depths("", 0);
    REQUIRE_OK(depths);
    CHECK(*depths == std::vector<InboxDepth>{{"a", 4, t0 + 1s}, {"b", 1, t0}});
    CHECK(*s.inbox_depths("", 1) == std::vector<InboxDepth>{{"a", 4, t0 + 1s}});
    CHECK(*s.inbox_depths("a", 0) == std::vector<InboxDepth>{{"b", 1, t0}});
  }
}

}  // namespace duractor::testing
