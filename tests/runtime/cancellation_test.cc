// Cancelling an instance: cooperatively (Cancelled at the next await, the code may
// compensate) or by terminating it at once; either way in-flight activities and
// sub-orchestrations are asked to cancel.

#include <doctest/doctest.h>

#include "tests/support/engine_harness.h"

namespace duractor {
namespace {

using namespace std::chrono_literals;
using testing::EngineHarness;

const Activity<int, int> Reserve{"Reserve"};
const Activity<int, int> Release{"Release"};
const Orchestration<int, int> Child{"Child", 1};
const Orchestration<int, std::string> Saga{"Saga", 1};

// Reserves, then waits on a child and an activity; if cancelled, releases and reports.
Task<std::string> saga(OrchestrationContext& ctx, int n) {
  int reservation = co_await ctx.call(Reserve, n);
  std::optional<Cancelled> cancelled;  // C++ allows no co_await inside a catch handler
  try {
    co_await ctx.when_all(ctx.call(Child, n), ctx.call(Reserve, n + 1));
    co_return std::string("finished");
  } catch (const Cancelled& e) {
    cancelled = e;
  }
  co_await ctx.call(Release, reservation);  // compensation still works after cancel
  co_return "compensated after: " + cancelled->reason();
}

}  // namespace

TEST_SUITE("cancellation") {
  TEST_CASE("cooperative cancel throws Cancelled at the await and lets the code compensate") {
    Registry registry;
    registry.add(Saga, saga);
    EngineHarness h(registry, "s");
    h.start("Saga", encode(1));
    h.turn();
    h.complete(h.activity("Reserve"), encode(77));
    h.turn();
    auto child = h.child();
    auto second = h.activity("Reserve", 1);
    h.cancel("customer changed their mind");
    auto t = h.turn();
    // In-flight work is asked to stop, in id order: the child, then the activity.
    auto child_cancels = h.all<action::CancelChild>();
    REQUIRE(child_cancels.size() == 1);
    CHECK(child_cancels[0].instance == child.instance);
    CHECK(child_cancels[0].reason == "customer changed their mind");
    auto activity_cancels = h.all<action::CancelActivity>();
    REQUIRE(activity_cancels.size() == 1);
    CHECK(activity_cancels[0].id == second);
    // The code caught Cancelled and called Release.
    auto release = h.activity("Release");
    CHECK(*decode<int>(std::get<action::ScheduleActivity>(h.actions().back()).input) == 77);
    h.complete(release, encode(0));
    h.turn();
    CHECK(h.output<std::string>() == "compensated after: customer changed their mind");
    h.check_replay();
  }

  TEST_CASE("a Cancelled that escapes ends the instance as cancelled") {
    Registry registry;
    registry.add(Orchestration<int, int>{"Plain", 1}, [](OrchestrationContext& ctx, int) -> Task<int> {
      co_await ctx.sleep(1h);
      co_return 1;
    });
    EngineHarness h(registry);
    h.start("Plain", encode(0));
    h.turn();
    h.cancel("operator request");
    auto t = h.turn();
    CHECK(t.ended);
    auto* cancelled = std::get_if<outcome::Cancelled>(&t.outcome);
    REQUIRE(cancelled != nullptr);
    CHECK(cancelled->reason == "operator request");
    CHECK(h.history().back().kind() == EventKind::kExecutionCancelled);
    h.check_replay();
  }

  TEST_CASE("a Cancelled that escapes an instance nobody asked to cancel fails it and names the cause") {
    const Activity<int, int> Charge{"Charge"};
    Registry registry;
    // Awaits the loser of a when_any (which the runtime cancelled) and lets it escape.
    registry.add(Orchestration<int, int>{"AwaitsLoser", 1}, [&](OrchestrationContext& ctx, int) -> Task<int> {
      auto charge = ctx.call(Charge, 1);
      auto deadline = ctx.timer(1h);
      co_await ctx.when_any(charge, deadline);
      co_return co_await charge;
    });
    // Rethrows the failure of an activity or a child that was cancelled.
    registry.add(Orchestration<int, int>{"Rethrows", 1}, [&](OrchestrationContext& ctx, int) -> Task<int> {
      co_return co_await ctx.call(Charge, 1);
    });
    registry.add(Orchestration<int, int>{"RethrowsChild", 1}, [&](OrchestrationContext& ctx, int) -> Task<int> {
      co_return co_await ctx.call(Child, 1);
    });
    EngineHarness h(registry);
    std::string reason;
    SUBCASE("the loser of a when_any") {
      h.start("AwaitsLoser", encode(0));
      h.turn();
      h.fire(h.timer());
      reason = "activity 'Charge' (#2) was given up: it lost a when_any";
    }
    SUBCASE("a cancelled activity's ActivityFailed") {
      h.start("Rethrows", encode(0));
      h.turn();
      h.fail(h.activity("Charge"), "stopped by its worker", std::string(kCancelledType));
      reason = "stopped by its worker";
    }
    SUBCASE("a cancelled child's SubOrchestrationFailed") {
      h.start("RethrowsChild", encode(0));
      h.turn();
      h.send(message::ChildResult{1, h.child().id, {},
                                  FailureDetails{ErrorCategory::kApplication,
                                                 std::string(kCancelledType), "operator stop"}});
      reason = "operator stop";
    }
    auto t = h.turn();
    CHECK(t.ended);
    CHECK(h.history().back().kind() == EventKind::kExecutionFailed);
    CHECK(h.failure().type == kCancelledType);
    CHECK(h.failure().category == ErrorCategory::kApplication);
    CHECK(h.failure().message == "awaited a cancelled operation: " + reason);
    h.check_replay();
  }

  TEST_CASE("a history that recorded such an end as cancelled, by an earlier build, still replays") {
    Registry registry;
    registry.add(Orchestration<int, int>{"Rethrows", 1}, [](OrchestrationContext& ctx, int) -> Task<int> {
      co_return co_await ctx.call(Reserve, 1);
    });
    EngineHarness h(registry);
    h.start("Rethrows", encode(0));
    h.turn();
    h.fail(h.activity("Reserve"), "stopped", std::string(kCancelledType));
    h.turn();
    auto history = h.history();
    REQUIRE(history.back().kind() == EventKind::kExecutionFailed);
    history.back().body = event::ExecutionCancelled{"stopped"};
    ReplayEngine old(registry, "test-instance");
    REQUIRE(old.load(1, history));
    CHECK(std::holds_alternative<outcome::Cancelled>(old.outcome()));
  }

  TEST_CASE("terminate ends the instance at once, without running the code") {
    Registry registry;
    registry.add(Saga, saga);
    EngineHarness h(registry);
    h.start("Saga", encode(1));
    h.turn();
    h.cancel("shutdown", /*terminate=*/true);
    auto t = h.turn();
    CHECK(t.ended);
    REQUIRE(std::holds_alternative<outcome::Cancelled>(t.outcome));
    CHECK(h.all<action::CancelActivity>().size() == 1);  // the in-flight Reserve
    CHECK(h.all<action::ScheduleActivity>().size() == 1);  // no compensation ran
    h.check_replay();
  }

  TEST_CASE("messages to a finished instance are consumed and dropped") {
    Registry registry;
    registry.add(Orchestration<int, int>{"Quick", 1}, [](OrchestrationContext&, int n) -> Task<int> {
      co_return n;
    });
    EngineHarness h(registry);
    h.start("Quick", encode(5));
    h.turn();
    CHECK(h.output<int>() == 5);
    h.raise("Late", encode(1));
    h.cancel("too late");
    auto t = h.turn();
    CHECK(t.consumed.size() == 2);
    CHECK(t.new_events.empty());
    CHECK(h.output<int>() == 5);
  }

  TEST_CASE("a duplicate result for a completed operation is dropped: history stays exactly-once") {
    Registry registry;
    registry.add(Orchestration<int, int>{"Once", 1}, [](OrchestrationContext& ctx, int n) -> Task<int> {
      int a = co_await ctx.call(Reserve, n);
      co_await ctx.sleep(1s);
      co_return a;
    });
    EngineHarness h(registry);
    h.start("Once", encode(1));
    h.turn();
    auto id = h.activity("Reserve");
    h.complete(id, encode(10));
    h.complete(id, encode(11));  // delivered twice (an activity ran twice after a crash)
    auto t = h.turn();
    CHECK(t.consumed.size() == 2);
    std::size_t completions = 0;
    for (const auto& e : h.history()) completions += e.kind() == EventKind::kActivityCompleted;
    CHECK(completions == 1);
    h.complete(id, encode(12));  // and again, a turn later
    h.fire(h.timer());
    h.turn();
    CHECK(h.output<int>() == 10);
    h.check_replay();
  }
}

}  // namespace duractor
