// ctx.spawn: a helper coroutine as a durable future. Helpers run side by side, combine with
// when_all / when_any in history order, replay to the same point, and are stopped where
// they wait when given up (their operations get a recorded cancellation request).

#include <doctest/doctest.h>

#include "tests/support/engine_harness.h"

namespace duractor {
namespace {

using namespace std::chrono_literals;
using testing::EngineHarness;

const Activity<std::string, std::string> Create{"Create"};
const Activity<std::string, bool> Healthy{"Healthy"};
const Activity<int, int> Work{"Work"};
const Orchestration<std::vector<std::string>, std::vector<std::string>> Fleet{"Fleet", 1};

// Creates a VM, then polls until it is healthy, a second apart.
Task<std::string> provision(OrchestrationContext& ctx, std::string name) {
  auto id = co_await ctx.call(Create, name);
  while (!co_await ctx.call(Healthy, id)) co_await ctx.timer(1s);
  co_return id;
}

void add_fleet(Registry& registry) {
  registry.add(Fleet,
               [](OrchestrationContext& ctx,
                  std::vector<std::string> names) -> Task<std::vector<std::string>> {
                 std::vector<DurableFuture<std::string>> vms;
                 for (const auto& name : names) vms.push_back(ctx.spawn(provision(ctx, name)));
                 co_return co_await ctx.when_all(std::move(vms));
               });
}

// The n-th scheduling of an activity, with its input decoded.
template <class In>
In input_of(const EngineHarness& h, const std::string& name, std::size_t n) {
  for (const auto& a : h.actions()) {
    if (auto* s = std::get_if<action::ScheduleActivity>(&a); s && s->name == name && n-- == 0) {
      return *decode<In>(s->input);
    }
  }
  FAIL("no such scheduling of " << name);
  return In{};
}

Task<int> two_steps(OrchestrationContext& ctx, int first) {
  int a = co_await ctx.call(Work, first);
  int b = co_await ctx.call(Work, a);
  co_return a + b;
}

Task<int> one_step(OrchestrationContext& ctx, int x) {
  co_return co_await ctx.call(Work, x);
}

}  // namespace

TEST_SUITE("ctx.spawn") {
  TEST_CASE("helpers run side by side, each at its own pace, and when_all keeps the order given") {
    Registry registry;
    add_fleet(registry);
    EngineHarness h(registry);
    h.start("Fleet", encode(std::vector<std::string>{"a", "b"}));
    auto first = h.turn();
    // Both helpers started in the first turn: two creations in flight at once.
    REQUIRE(first.actions.size() == 2);
    CHECK(input_of<std::string>(h, "Create", 0) == "a");
    CHECK(input_of<std::string>(h, "Create", 1) == "b");
    // b is created first; its health check goes out before a's creation is back.
    h.complete(h.activity("Create", 1), encode(std::string("vm-b")));
    h.turn();
    CHECK(input_of<std::string>(h, "Healthy", 0) == "vm-b");
    h.complete(h.activity("Create", 0), encode(std::string("vm-a")));
    h.turn();
    CHECK(input_of<std::string>(h, "Healthy", 1) == "vm-a");
    h.complete(h.activity("Healthy", 0), encode(false));  // b not yet: b waits a second
    h.complete(h.activity("Healthy", 1), encode(true));   // a is done
    h.turn();
    CHECK(h.engine().running());
    h.check_replay();
    h.restart();  // as after a crash: the helpers are rebuilt from history, where they were
    h.advance(1s);
    h.fire(h.timer());
    h.turn();
    CHECK(input_of<std::string>(h, "Healthy", 2) == "vm-b");
    h.complete(h.activity("Healthy", 2), encode(true));
    h.turn();
    CHECK(h.output<std::vector<std::string>>() == std::vector<std::string>{"vm-a", "vm-b"});
    h.check_replay();
  }

  TEST_CASE("when_any: the helper that finishes first in history wins, and the loser stops") {
    Registry registry;
    registry.add(Orchestration<int, std::string>{"Race", 1},
                 [](OrchestrationContext& ctx, int) -> Task<std::string> {
                   // One statement each: the order of a call's arguments is unspecified.
                   auto slow = ctx.spawn(two_steps(ctx, 1));
                   auto fast = ctx.spawn(one_step(ctx, 10));
                   auto r = co_await ctx.when_any(std::move(slow), std::move(fast));
                   co_return std::to_string(r.index()) + ":" +
                       std::to_string(r.index() == 0 ? r.get<0>() : r.get<1>());
                 });
    EngineHarness h(registry);
    h.start("Race", encode(0));
    h.turn();
    auto slow_first = h.activity("Work", 0);
    auto fast = h.activity("Work", 1);
    h.complete(slow_first, encode(2));  // the slow helper goes on to its second step
    h.turn();
    auto slow_second = h.activity("Work", 2);
    CHECK(input_of<int>(h, "Work", 2) == 2);
    h.complete(fast, encode(11));
    auto t = h.turn();
    CHECK(h.output<std::string>() == "1:11");
    // The loser was stopped where it waited: its second step is asked to cancel, with why.
    auto cancels = h.all<action::CancelActivity>();
    REQUIRE(cancels.size() == 1);
    CHECK(cancels[0].id == slow_second);
    CHECK(cancels[0].reason == "spawned helper #1 lost a when_any");
    CHECK(t.ended);
    h.check_replay();
  }

  TEST_CASE("the first failure in history wins a when_all, whatever the order given") {
    Registry registry;
    registry.add(Orchestration<int, std::string>{"Both", 1},
                 [](OrchestrationContext& ctx, int) -> Task<std::string> {
                   auto slow = ctx.spawn(two_steps(ctx, 1));
                   auto fast = ctx.spawn(one_step(ctx, 2));
                   try {
                     co_await ctx.when_all(std::move(slow), std::move(fast));
                   } catch (const ActivityFailed& e) {
                     co_return std::string("failed: ") + e.what();
                   }
                   co_return "ok";
                 });
    EngineHarness h(registry);
    h.start("Both", encode(0));
    h.turn();
    h.complete(h.activity("Work", 0), encode(5));
    h.turn();
    h.fail(h.activity("Work", 2), "second step broke");  // the first helper fails first
    h.turn();
    CHECK(h.engine().running());  // when_all waits for every helper
    h.fail(h.activity("Work", 1), "one step broke");
    h.turn();
    auto out = h.output<std::string>();
    CHECK(out.find("second step broke") != std::string::npos);
    h.check_replay();
  }

  TEST_CASE("a helper that finishes without waiting settles at once, and one that throws, too") {
    Registry registry;
    registry.add(Orchestration<int, std::string>{"Instant", 1},
                 [](OrchestrationContext& ctx, int x) -> Task<std::string> {
                   auto twice = [](int v) -> Task<int> { co_return 2 * v; };
                   auto broken = []() -> Task<int> {
                     throw std::runtime_error("broken before any await");
                     co_return 0;
                   };
                   auto ready = ctx.spawn(twice(x));
                   CHECK(ready.ready());
                   auto failed = ctx.spawn(broken());
                   CHECK(failed.ready());
                   std::string why;
                   try {
                     co_await failed;
                   } catch (const std::runtime_error& e) {
                     why = e.what();
                   }
                   co_return std::to_string(co_await ready) + " " + why;
                 });
    EngineHarness h(registry);
    h.start("Instant", encode(21));
    auto t = h.turn();
    CHECK(t.ended);
    CHECK(h.output<std::string>() == "42 broken before any await");
  }

  TEST_CASE("a helper whose future is dropped unawaited stops, and its work is given up") {
    Registry registry;
    registry.add(Orchestration<int, int>{"Drop", 1},
                 [](OrchestrationContext& ctx, int) -> Task<int> {
                   { auto ignored = ctx.spawn(two_steps(ctx, 1)); }
                   co_return co_await ctx.call(Work, 7);
                 });
    EngineHarness h(registry);
    h.start("Drop", encode(0));
    h.turn();
    auto cancels = h.all<action::CancelActivity>();
    REQUIRE(cancels.size() == 1);
    CHECK(cancels[0].id == h.activity("Work", 0));
    CHECK(cancels[0].reason ==
          "the future of spawned helper #1 was destroyed before it was awaited");
    h.complete(h.activity("Work", 0), encode(1));  // arrives anyway: dropped, not recorded
    h.complete(h.activity("Work", 1), encode(70));
    h.turn();
    CHECK(h.output<int>() == 70);
    h.check_replay();
  }

  TEST_CASE("a cooperative cancel reaches every helper that waits, and each may compensate") {
    Registry registry;
    registry.add(Orchestration<int, std::vector<std::string>>{"Cancel", 1},
                 [](OrchestrationContext& ctx, int) -> Task<std::vector<std::string>> {
                   auto careful = [](OrchestrationContext& c, int x) -> Task<std::string> {
                     bool cancelled = false;
                     try {
                       co_await c.call(Work, x);
                     } catch (const Cancelled&) {
                       cancelled = true;
                     }
                     if (cancelled) co_await c.call(Work, 100 + x);  // compensation
                     co_return cancelled ? "compensated " + std::to_string(x) : "done";
                   };
                   auto first = ctx.spawn(careful(ctx, 1));
                   auto second = ctx.spawn(careful(ctx, 2));
                   auto all = ctx.when_all(futures(std::move(first), std::move(second)));
                   // The orchestration's own await is interrupted too; it waits on for the
                   // helpers, which compensate.
                   bool interrupted = false;
                   try {
                     co_await all;
                   } catch (const Cancelled&) {
                     interrupted = true;
                   }
                   CHECK(interrupted);
                   co_return co_await all;
                 });
    EngineHarness h(registry);
    h.start("Cancel", encode(0));
    h.turn();
    h.cancel("operator said so");
    h.turn();
    CHECK(input_of<int>(h, "Work", 2) == 101);
    CHECK(input_of<int>(h, "Work", 3) == 102);
    h.complete(h.activity("Work", 3), encode(0));
    h.complete(h.activity("Work", 2), encode(0));
    h.turn();
    CHECK(h.output<std::vector<std::string>>() ==
          std::vector<std::string>{"compensated 1", "compensated 2"});
    h.check_replay();
  }

  TEST_CASE("terminate ends the execution with helpers still waiting, recording nothing more") {
    Registry registry;
    add_fleet(registry);
    EngineHarness h(registry);
    h.start("Fleet", encode(std::vector<std::string>{"a", "b", "c"}));
    h.turn();
    auto before = h.history().size();
    h.cancel("gone", /*terminate=*/true);
    auto t = h.turn();
    CHECK(t.ended);
    CHECK(h.outcome_name() == "cancelled: gone");
    // The creations in flight get the terminate's cascade, once each; destroying the
    // helpers' frames with the execution records nothing more.
    auto cancels = h.all<action::CancelActivity>();
    REQUIRE(cancels.size() == 3);
    for (const auto& c : cancels) CHECK(c.reason == "gone");
    // The terminate's request, three cancellation requests, the end.
    CHECK(h.history().size() == before + 5);
  }

  TEST_CASE("a task that already ran, or none at all, is refused with the reason") {
    Registry registry;
    registry.add(Orchestration<int, std::string>{"Bad", 1},
                 [](OrchestrationContext& ctx, int) -> Task<std::string> {
                   Task<int> none;
                   try {
                     ctx.spawn(std::move(none));
                   } catch (const ConfigurationError& e) {
                     co_return e.what();
                   }
                   co_return "accepted";
                 });
    EngineHarness h(registry);
    h.start("Bad", encode(0));
    h.turn();
    CHECK(h.output<std::string>().find("ctx.spawn needs a helper task that has not started") !=
          std::string::npos);
  }
}

}  // namespace duractor
