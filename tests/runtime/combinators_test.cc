// when_all and when_any: over futures of different types, resolving in history order,
// with losers abandoned (timers and event waits stop listening; activities and
// sub-orchestrations get a recorded cancellation request).

#include <doctest/doctest.h>

#include "tests/support/engine_harness.h"

namespace duractor {
namespace {

using namespace std::chrono_literals;
using testing::EngineHarness;

const Activity<int, int> Work{"Work"};
const Activity<int, std::string> Name{"Name"};
const Orchestration<int, int> Child{"Child", 1};

}  // namespace

TEST_SUITE("combinators: when_all") {
  TEST_CASE(
      "fan-out and fan-in over a vector keeps the order given, whatever the completion order") {
    Registry registry;
    registry.add(Orchestration<int, std::vector<int>>{"Fan", 1},
                 [](OrchestrationContext& ctx, int n) -> Task<std::vector<int>> {
                   std::vector<DurableFuture<int>> calls;
                   for (int i = 0; i < n; ++i) calls.push_back(ctx.call(Work, i));
                   co_return co_await ctx.when_all(std::move(calls));
                 });
    EngineHarness h(registry);
    h.start("Fan", encode(5));
    auto t = h.turn();
    CHECK(t.actions.size() == 5);  // all scheduled in one turn
    for (int i : {3, 0, 4, 1, 2}) {
      h.complete(h.activity("Work", static_cast<std::size_t>(i)), encode(i * 10));
      h.turn();
    }
    CHECK(h.output<std::vector<int>>() == std::vector<int>{0, 10, 20, 30, 40});
    h.check_replay();
  }

  TEST_CASE("when_all over no futures completes at once with an empty result") {
    Registry registry;
    registry.add(Orchestration<int, std::string>{"FanNone", 1},
                 [](OrchestrationContext& ctx, int n) -> Task<std::string> {
                   std::vector<DurableFuture<int>> calls;
                   for (int i = 0; i < n; ++i) calls.push_back(ctx.call(Work, i));
                   std::vector<int> results = co_await ctx.when_all(std::move(calls));
                   // Nested in a when_any, the empty when_all wins over a timer.
                   std::vector<DurableFuture<void>> nothing;
                   auto raced =
                       co_await ctx.when_any(ctx.when_all(std::move(nothing)), ctx.timer(1h));
                   co_return std::to_string(results.size()) + " results, winner " +
                       std::to_string(raced.index());
                 });
    EngineHarness h(registry);
    h.start("FanNone", encode(0));
    auto t = h.turn();
    CHECK(t.ended);  // in the first turn: nothing to wait for
    CHECK(h.output<std::string>() == "0 results, winner 0");
    h.check_replay();
  }

  TEST_CASE("when_all over different types gives a tuple") {
    Registry registry;
    registry.add(Orchestration<int, std::string>{"Mixed", 1},
                 [](OrchestrationContext& ctx, int) -> Task<std::string> {
                   // (g++ 12 mishandles structured bindings inside coroutines: std::get instead.)
                   auto all =
                       co_await ctx.when_all(ctx.call(Work, 1), ctx.call(Name, 2), ctx.timer(1s));
                   co_return std::get<1>(all) + std::to_string(std::get<0>(all));
                 });
    EngineHarness h(registry);
    h.start("Mixed", encode(0));
    h.turn();
    h.fire(h.timer());
    h.complete(h.activity("Name"), encode(std::string("x")));
    h.turn();
    h.complete(h.activity("Work"), encode(7));
    h.turn();
    CHECK(h.output<std::string>() == "x7");
    h.check_replay();
  }

  TEST_CASE("when_all waits for all, then throws the failure that happened first in history") {
    Registry registry;
    registry.add(
        Orchestration<int, std::string>{"Fails", 1},
        [](OrchestrationContext& ctx, int) -> Task<std::string> {
          try {
            co_await ctx.when_all(futures(ctx.call(Work, 1), ctx.call(Work, 2), ctx.call(Work, 3)));
          } catch (const ActivityFailed& e) {
            co_return e.failure().message;
          }
          co_return std::string("no failure?");
        });
    EngineHarness h(registry);
    h.start("Fails", encode(0));
    h.turn();
    h.fail(h.activity("Work", 2), "third failed first");
    h.turn();
    CHECK(h.engine().running());  // still waiting for the others
    h.fail(h.activity("Work", 0), "first failed later");
    h.complete(h.activity("Work", 1), encode(2));
    h.turn();
    CHECK(h.output<std::string>() == "third failed first");
    h.check_replay();
  }
}

TEST_SUITE("combinators: when_any") {
  TEST_CASE("the winner is the first to settle in history order") {
    Registry registry;
    registry.add(Orchestration<int, std::string>{"Race", 1},
                 [](OrchestrationContext& ctx, int) -> Task<std::string> {
                   auto r = co_await ctx.when_any(ctx.call(Work, 1), ctx.call(Name, 2));
                   if (r.index() == 0) co_return "work " + std::to_string(r.get<0>());
                   co_return "name " + r.get<1>();
                 });
    SUBCASE("second settles first") {
      EngineHarness h(registry);
      h.start("Race", encode(0));
      h.turn();
      // Both results arrive in one turn: the inbox order decides, as history will record.
      h.complete(h.activity("Name"), encode(std::string("n")));
      h.complete(h.activity("Work"), encode(1));
      h.turn();
      CHECK(h.output<std::string>() == "name n");
      h.check_replay();
    }
    SUBCASE("first settles first") {
      EngineHarness h(registry);
      h.start("Race", encode(0));
      h.turn();
      h.complete(h.activity("Work"), encode(9));
      h.complete(h.activity("Name"), encode(std::string("n")));
      h.turn();
      CHECK(h.output<std::string>() == "work 9");
      h.check_replay();
    }
  }

  TEST_CASE(
      "a losing activity gets a recorded cancellation request and its late result is ignored") {
    Registry registry;
    registry.add(Orchestration<int, int>{"Timeout", 1},
                 [](OrchestrationContext& ctx, int) -> Task<int> {
                   auto r = co_await ctx.when_any(ctx.call(Work, 1), ctx.timer(5s));
                   if (r.index() == 1) {
                     auto again = co_await ctx.call(Work, 2);  // proceed without the first
                     co_return again;
                   }
                   co_return r.get<0>();
                 });
    EngineHarness h(registry);
    h.start("Timeout", encode(0));
    h.turn();
    auto work = h.activity("Work");
    h.fire(h.timer());
    auto t = h.turn();
    auto cancels = h.all<action::CancelActivity>();
    REQUIRE(cancels.size() == 1);
    CHECK(cancels[0].id == work);
    CHECK(cancels[0].reason == "lost a when_any");
    h.complete(work, encode(111));  // the loser finishes anyway
    h.turn();
    CHECK(h.engine().running());
    h.complete(h.activity("Work", 1), encode(222));
    h.turn();
    CHECK(h.output<int>() == 222);
    h.check_replay();
  }

  TEST_CASE("a losing timer never fires later") {
    Registry registry;
    registry.add(Orchestration<int, int>{"Timer", 1},
                 [](OrchestrationContext& ctx, int) -> Task<int> {
                   auto first = co_await ctx.when_any(ctx.call(Work, 1), ctx.timer(1h));
                   (void)first;
                   // The next timer must be resumed by its own firing, not by the old one.
                   co_await ctx.timer(2h);
                   co_return 7;
                 });
    EngineHarness h(registry);
    h.start("Timer", encode(0));
    h.turn();
    h.complete(h.activity("Work"), encode(1));
    h.turn();
    h.fire(h.timer(0));  // the loser fires
    h.turn();
    CHECK(h.engine().running());
    h.fire(h.timer(1));
    h.turn();
    CHECK(h.output<int>() == 7);
    h.check_replay();
  }

  TEST_CASE("a losing event wait does not consume a later event") {
    Registry registry;
    registry.add(Orchestration<int, std::string>{"Approval", 1},
                 [](OrchestrationContext& ctx, int) -> Task<std::string> {
                   auto r = co_await ctx.when_any(ctx.wait_event<std::string>("Approve"),
                                                  ctx.timer(24h));
                   if (r.index() == 1) {
                     auto late = co_await ctx.wait_event<std::string>("Approve");
                     co_return "late " + late;
                   }
                   co_return "on time";
                 });
    EngineHarness h(registry);
    h.start("Approval", encode(0));
    h.turn();
    h.fire(h.timer());
    h.turn();
    h.raise("Approve", encode(std::string("yes")));
    h.turn();
    CHECK(h.output<std::string>() == "late yes");
    h.check_replay();
  }

  TEST_CASE("a losing sub-orchestration is asked to cancel") {
    Registry registry;
    registry.add(Orchestration<int, int>{"Parent", 1},
                 [](OrchestrationContext& ctx, int) -> Task<int> {
                   auto r = co_await ctx.when_any(ctx.call(Child, 1), ctx.timer(1s));
                   co_return static_cast<int>(r.index());
                 });
    EngineHarness h(registry, "p");
    h.start("Parent", encode(0));
    h.turn();
    h.fire(h.timer());
    h.turn();
    auto cancels = h.all<action::CancelChild>();
    REQUIRE(cancels.size() == 1);
    CHECK(cancels[0].instance == "p:1:1");
    CHECK(h.output<int>() == 1);
    h.check_replay();
  }

  TEST_CASE("when_any over a vector names the winner, and awaiting a loser throws Cancelled") {
    Registry registry;
    registry.add(Orchestration<int, std::string>{"Vec", 1},
                 [](OrchestrationContext& ctx, int) -> Task<std::string> {
                   auto a = ctx.wait_event<int>("A");
                   auto b = ctx.wait_event<int>("B");  // B was raised before the code waited
                   auto r = co_await ctx.when_any(futures(a, b));
                   std::string out = std::to_string(r.index()) + ":" + std::to_string(r.value());
                   try {
                     co_await a;
                   } catch (const Cancelled& e) {
                     out += " loser: " + std::string(e.what());
                   }
                   co_return out;
                 });
    EngineHarness h(registry);
    h.raise("B", encode(5));
    h.start("Vec", encode(0));
    h.turn();
    CHECK(h.output<std::string>() ==
          "1:5 loser: cancelled: event 'A' was given up: it lost a when_any");
    h.check_replay();
  }

  TEST_CASE("when_any over no futures is a usage error that names the cause") {
    Registry registry;
    registry.add(Orchestration<int, int>{"AnyNone", 1},
                 [](OrchestrationContext& ctx, int) -> Task<int> {
                   std::vector<DurableFuture<int>> none;
                   auto r = co_await ctx.when_any(std::move(none));
                   co_return r.value();
                 });
    EngineHarness h(registry);
    h.start("AnyNone", encode(0));
    h.turn();
    CHECK(h.failure().category == ErrorCategory::kConfiguration);
    CHECK(h.failure().type == "duractor::ConfigurationError");
    CHECK(h.failure().message ==
          "when_any of no futures: nothing could ever win (when_any needs at least one future)");
    h.check_replay();
  }

  TEST_CASE("combinators nest: when_any of a when_all and a timer") {
    Registry registry;
    registry.add(Orchestration<int, int>{"Nest", 1},
                 [](OrchestrationContext& ctx, int) -> Task<int> {
                   auto all = ctx.when_all(futures(ctx.call(Work, 1), ctx.call(Work, 2)));
                   auto r = co_await ctx.when_any(all, ctx.timer(10s));
                   if (r.index() == 1) co_return -1;
                   auto values = r.get<0>();
                   co_return values[0] + values[1];
                 });
    EngineHarness h(registry);
    h.start("Nest", encode(0));
    h.turn();
    h.complete(h.activity("Work", 0), encode(1));
    h.turn();
    h.fire(h.timer());  // the timer wins before the second activity
    h.turn();
    CHECK(h.output<int>() == -1);
    CHECK(h.all<action::CancelActivity>().size() == 1);  // only the unfinished one
    h.check_replay();
  }
}

}  // namespace duractor
