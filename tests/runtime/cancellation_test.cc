// Cancelling an instance: cooperatively (Cancelled at the next await, the code may
// compensate) or by terminating it at once; either way in-flight activities and
// sub-orchestrations are asked to cancel.

#include <doctest/doctest.h>

#include "tests/support/engine_harness.h"
#include "tests/support/history_builders.h"

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
    registry.add(Orchestration<int, int>{"Plain", 1},
                 [](OrchestrationContext& ctx, int) -> Task<int> {
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

  TEST_CASE(
      "a Cancelled that escapes an instance nobody asked to cancel fails it and names the cause") {
    const Activity<int, int> Charge{"Charge"};
    Registry registry;
    // Awaits the loser of a when_any (which the runtime cancelled) and lets it escape.
    registry.add(Orchestration<int, int>{"AwaitsLoser", 1},
                 [&](OrchestrationContext& ctx, int) -> Task<int> {
                   auto charge = ctx.call(Charge, 1);
                   auto deadline = ctx.timer(1h);
                   co_await ctx.when_any(charge, deadline);
                   co_return co_await charge;
                 });
    // Rethrows the failure of an activity or a child that was cancelled.
    registry.add(Orchestration<int, int>{"Rethrows", 1},
                 [&](OrchestrationContext& ctx, int) -> Task<int> {
                   co_return co_await ctx.call(Charge, 1);
                 });
    registry.add(Orchestration<int, int>{"RethrowsChild", 1},
                 [&](OrchestrationContext& ctx, int) -> Task<int> {
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
      h.send(message::ChildResult{1,
                                  h.child().id,
                                  {},
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

  TEST_CASE(
      "a history that recorded such an end as cancelled, by an earlier build, still replays") {
    Registry registry;
    registry.add(Orchestration<int, int>{"Rethrows", 1},
                 [](OrchestrationContext& ctx, int) -> Task<int> {
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
    CHECK(h.all<action::CancelActivity>().size() == 1);    // the in-flight Reserve
    CHECK(h.all<action::ScheduleActivity>().size() == 1);  // no compensation ran
    h.check_replay();
  }

  TEST_CASE("a cancel that comes with the start ends the instance before any of its code runs") {
    int body_runs = 0;
    Registry registry;
    registry.add(Orchestration<int, int>{"Eager", 1},
                 [&](OrchestrationContext& ctx, int n) -> Task<int> {
                   ++body_runs;
                   ctx.set_custom_status("started");
                   co_return co_await ctx.call(Reserve, n);
                 });
    bool terminate = false;
    SUBCASE("cooperative") {
      terminate = false;
    }
    SUBCASE("terminate") {
      terminate = true;
    }
    EngineHarness h(registry);
    h.start("Eager", encode(1));
    h.cancel("not wanted after all", terminate);
    auto t = h.turn();
    CHECK(body_runs == 0);
    CHECK(t.ended);
    CHECK(t.actions.empty());  // nothing scheduled, nothing to cancel
    CHECK_FALSE(t.custom_status);
    auto* cancelled = std::get_if<outcome::Cancelled>(&t.outcome);
    REQUIRE(cancelled != nullptr);
    CHECK(cancelled->reason == "not wanted after all");
    REQUIRE(h.history().size() == 3);
    CHECK(h.history()[0].kind() == EventKind::kExecutionStarted);
    const auto& request = std::get<event::CancelRequested>(h.history()[1].body);
    CHECK(request.disposition == event::CancelDisposition::kBeforeStart);
    CHECK(h.history()[2].kind() == EventKind::kExecutionCancelled);
    // Replay does not run the code either.
    h.check_replay();
    CHECK(body_runs == 0);
  }

  TEST_CASE(
      "a cancel that comes with the start of the next execution ends it before its code runs") {
    int runs = 0;
    Registry registry;
    registry.add(Orchestration<int, int>{"Rounds", 1},
                 [&](OrchestrationContext& ctx, int n) -> Task<int> {
                   ++runs;
                   if (n == 0) co_await ctx.continue_as_new(1);
                   co_return co_await ctx.call(Reserve, n);
                 });
    EngineHarness h(registry);
    h.start("Rounds", encode(0));
    h.turn();  // execution 1 continues as new; the harness queues execution 2's start
    REQUIRE(runs == 1);
    h.cancel("stop between rounds");
    auto t = h.turn();
    CHECK(t.execution == 2);
    CHECK(runs == 1);
    CHECK(t.actions.empty());
    REQUIRE(std::holds_alternative<outcome::Cancelled>(t.outcome));
    CHECK(h.history().size() == 3);
    h.check_replay();
    CHECK(runs == 1);
  }

  TEST_CASE(
      "a cancel that arrives after a first turn that recorded nothing is delivered to the code") {
    Registry registry;
    // The first turn records no event of the code's: only its ExecutionStarted.
    registry.add(Orchestration<int, std::string>{"Waits", 1},
                 [](OrchestrationContext& ctx, int) -> Task<std::string> {
                   std::optional<Cancelled> cancelled;
                   try {
                     co_await ctx.wait_event<int>("go");
                   } catch (const Cancelled& e) {
                     cancelled = e;
                   }
                   co_await ctx.call(Release, 1);
                   co_return "cleaned up after: " + cancelled->reason();
                 });
    EngineHarness h(registry);
    h.start("Waits", encode(0));
    h.turn();
    REQUIRE(h.history().size() == 1);
    h.cancel("stop");
    h.turn();
    CHECK(std::get<event::CancelRequested>(h.history()[1].body).disposition ==
          event::CancelDisposition::kDelivered);
    h.complete(h.activity("Release"), encode(0));
    h.turn();
    CHECK(h.output<std::string>() == "cleaned up after: stop");
    h.check_replay();
  }

  TEST_CASE(
      "a second cancel while the code compensates is recorded as ignored and does not interrupt "
      "it") {
    Registry registry;
    registry.add(Saga, saga);
    EngineHarness h(registry, "s");
    h.start("Saga", encode(1));
    h.turn();
    h.complete(h.activity("Reserve"), encode(77));
    h.turn();
    h.cancel("first");
    h.turn();
    auto release = h.activity("Release");
    auto cancels_before = h.all<action::CancelActivity>().size();
    h.cancel("second");
    auto t = h.turn();
    CHECK(t.actions.empty());  // the compensation's Release is not asked to stop
    CHECK(h.all<action::CancelActivity>().size() == cancels_before);
    CHECK(h.engine().running());
    const auto& ignored = std::get<event::CancelRequested>(h.history().back().body);
    CHECK(ignored.reason == "second");
    CHECK(ignored.disposition == event::CancelDisposition::kIgnored);
    h.complete(release, encode(0));
    h.turn();
    CHECK(h.output<std::string>() == "compensated after: first");
    h.check_replay();
  }

  TEST_CASE("a terminate after a delivered cancel still ends the instance") {
    Registry registry;
    registry.add(Saga, saga);
    EngineHarness h(registry, "s");
    h.start("Saga", encode(1));
    h.turn();
    h.complete(h.activity("Reserve"), encode(77));
    h.turn();
    h.cancel("first");
    h.turn();
    h.cancel("enough", /*terminate=*/true);
    auto t = h.turn();
    CHECK(t.ended);
    auto* cancelled = std::get_if<outcome::Cancelled>(&t.outcome);
    REQUIRE(cancelled != nullptr);
    CHECK(cancelled->reason == "enough");
    h.check_replay();
  }

  TEST_CASE("histories recorded before cancel dispositions replay as they ran") {
    // An earlier build delivered every cancel: the second one interrupted the compensation.
    Registry registry;
    registry.add(Saga, saga);
    std::vector<HistoryEvent> history{
        testing::started(1, "Saga", encode(1)),
        testing::activity_scheduled(2, "Reserve", encode(1)),
        testing::activity_completed(3, 2, encode(77)),
        testing::make_event(
            4, event::SubOrchestrationScheduled{"Child", 1, "s:1:1", encode(1), false}),
        testing::activity_scheduled(5, "Reserve", encode(2)),
        testing::make_event(6, event::CancelRequested{"first", false}),
        testing::make_event(7, event::SubOrchestrationCancelRequested{4, "first", false}),
        testing::make_event(8, event::ActivityCancelRequested{5, "first"}),
        testing::activity_scheduled(9, "Release", encode(77)),
        testing::make_event(10, event::CancelRequested{"second", false}),
        testing::make_event(11, event::SubOrchestrationCancelRequested{4, "second", false}),
        testing::make_event(12, event::ActivityCancelRequested{5, "second"}),
        testing::make_event(13, event::ActivityCancelRequested{9, "second"}),
        testing::make_event(14, event::ExecutionCancelled{"second"}),
    };
    ReplayEngine old(registry, "s");
    auto loaded = old.load(1, history);
    REQUIRE_MESSAGE(loaded, (loaded ? "" : loaded.error().to_string()));
    auto* cancelled = std::get_if<outcome::Cancelled>(&old.outcome());
    REQUIRE(cancelled != nullptr);
    CHECK(cancelled->reason == "second");
  }

  TEST_CASE("messages to a finished instance are consumed and dropped") {
    Registry registry;
    registry.add(Orchestration<int, int>{"Quick", 1},
                 [](OrchestrationContext&, int n) -> Task<int> { co_return n; });
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
    registry.add(Orchestration<int, int>{"Once", 1},
                 [](OrchestrationContext& ctx, int n) -> Task<int> {
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
