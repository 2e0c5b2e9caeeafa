// plan_turn: how an engine turn becomes a store commit.

#include <doctest/doctest.h>

#include "duractor/actors/detail/turn_plan.h"
#include "tests/support/engine_harness.h"

namespace duractor {
namespace {

using namespace std::chrono_literals;

const Activity<int, int> Work{"Work"};
const Orchestration<int, int> Child{"Child", 1};

InstanceLock lock_of(const std::string& id) {
  return InstanceLock{id, 7, TimePoint{}};
}

}  // namespace

TEST_SUITE("turn plan") {
  TEST_CASE(
      "a first turn starts the execution, schedules work and timers, and sets name and version") {
    Registry r;
    r.add(Orchestration<int, int>{"Flow", 3}, [](OrchestrationContext& ctx, int) -> Task<int> {
      auto a = ctx.call(Work, 1);
      auto t = ctx.timer(1s);
      co_await ctx.when_all(a, t);
      co_return 0;
    });
    testing::EngineHarness h(r, "i");
    h.start("Flow", encode(0));
    auto turn = h.turn();
    auto plan = plan_turn(lock_of("i"), h.engine(), turn, {});
    CHECK(plan.commit.execution == 1);
    CHECK(plan.commit.events.size() == 3);
    CHECK(plan.commit.consumed.size() == 1);
    REQUIRE(plan.commit.work.size() == 1);
    CHECK(plan.commit.work[0].activity == "Work");
    CHECK(plan.commit.work[0].scheduled_id == 2);
    REQUIRE(plan.commit.timers.size() == 1);
    CHECK(plan.commit.timers[0].scheduled_id == 3);
    CHECK(plan.commit.update.name == "Flow");
    CHECK(plan.commit.update.version == 3u);
    CHECK(plan.commit.update.status == InstanceStatus::kRunning);
    CHECK_FALSE(plan.finished);
  }

  TEST_CASE("results delivered in memory delete their work item and timer") {
    Registry r;
    r.add(Orchestration<int, int>{"Flow", 1}, [](OrchestrationContext& ctx, int) -> Task<int> {
      co_await ctx.when_all(ctx.call(Work, 1), ctx.timer(1s));
      co_return 5;
    });
    testing::EngineHarness h(r, "i");
    h.start("Flow", encode(0));
    h.turn();
    std::vector<MemoryMessage> memory = {
        {message::ActivityResult{1, 2, encode(1), std::nullopt}, WorkLease{41}, std::nullopt},
        {message::TimerFired{1, 3, h.now()}, std::nullopt, TimerKey{h.now(), 9}}};
    std::vector<InboxEntry> entries = {InboxEntry{kMemorySeqBase, h.now(), memory[0].message},
                                       InboxEntry{kMemorySeqBase + 1, h.now(), memory[1].message}};
    auto turn = h.engine().run_turn(entries, h.now());
    REQUIRE(turn);
    auto plan = plan_turn(lock_of("i"), h.engine(), *turn, memory);
    CHECK(plan.commit.consumed.empty());  // nothing from the durable inbox
    CHECK(plan.commit.finished_work == std::vector<std::uint64_t>{41});
    REQUIRE(plan.commit.fired_timers.size() == 1);
    CHECK(plan.commit.fired_timers[0].seq == 9);
    CHECK(plan.finished);
    CHECK(plan.commit.update.status == InstanceStatus::kCompleted);
    CHECK(*decode<int>(*plan.commit.update.output) == 5);
  }

  TEST_CASE("children get a Start with a parent link, and a finished child reports to its parent") {
    Registry r;
    r.add(Orchestration<int, int>{"Parent", 1}, [](OrchestrationContext& ctx, int) -> Task<int> {
      co_return co_await ctx.call(Child, 1);
    });
    r.add(Child, [](OrchestrationContext&, int x) -> Task<int> { co_return x + 1; });
    testing::EngineHarness parent(r, "p");
    parent.start("Parent", encode(0));
    auto turn = parent.turn();
    auto plan = plan_turn(lock_of("p"), parent.engine(), turn, {});
    REQUIRE(plan.commit.outbound.size() == 1);
    CHECK(plan.commit.outbound[0].target == "p:1:1");
    auto start = std::get<message::Start>(plan.commit.outbound[0].message);
    CHECK(start.execution == 1);
    CHECK(start.parent == ParentLink{"p", 1, 2});

    testing::EngineHarness child(r, "p:1:1");
    child.send(start);
    auto child_turn = child.turn();
    auto child_plan = plan_turn(lock_of("p:1:1"), child.engine(), child_turn, {});
    CHECK(child_plan.finished);
    REQUIRE(child_plan.commit.outbound.size() == 1);
    CHECK(child_plan.commit.outbound[0].target == "p");
    auto report = std::get<message::ChildResult>(child_plan.commit.outbound[0].message);
    CHECK(report.scheduled_id == 2);
    CHECK(*decode<int>(report.output) == 2);
  }

  TEST_CASE("continue-as-new sends the next execution's Start to the instance itself") {
    Registry r;
    r.add(Orchestration<int, int>{"Loop", 1}, [](OrchestrationContext& ctx, int n) -> Task<int> {
      co_await ctx.continue_as_new(n + 1);
      co_return 0;
    });
    testing::EngineHarness h(r, "loop");
    h.start("Loop", encode(0));
    h.raise("unread", encode(1));
    auto turn = h.engine().run_turn(
        {InboxEntry{1, h.now(), message::Start{1, "Loop", 0, encode(0), std::nullopt, {}}}},
        h.now());
    REQUIRE(turn);
    auto plan = plan_turn(lock_of("loop"), h.engine(), *turn, {});
    CHECK_FALSE(plan.finished);
    REQUIRE(plan.commit.outbound.size() == 1);
    CHECK(plan.commit.outbound[0].target == "loop");
    auto next = std::get<message::Start>(plan.commit.outbound[0].message);
    CHECK(next.execution == 2);
    CHECK(*decode<int>(next.input) == 1);
    CHECK(plan.commit.update.status == InstanceStatus::kRunning);
  }
}

}  // namespace duractor
