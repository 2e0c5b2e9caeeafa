// Work the code gave up on: a future destroyed before it settled (it went out of scope
// unawaited) is cancelled like a when_any loser, and a result that still arrives for an
// operation given up is not appended to history. Histories recorded under the first rules
// (before this) still replay as they ran.

#include <doctest/doctest.h>

#include "tests/support/engine_harness.h"
#include "tests/support/history_builders.h"

namespace duractor {
namespace {

using namespace std::chrono_literals;
using testing::EngineHarness;

const Activity<int, int> Work{"Work"};
const Orchestration<int, int> Child{"Child", 1};

constexpr std::string_view kDropped = "its future was destroyed before it was awaited";

std::size_t count_kind(const std::vector<HistoryEvent>& history, EventKind kind) {
  return static_cast<std::size_t>(std::count_if(
      history.begin(), history.end(), [&](const HistoryEvent& e) { return e.kind() == kind; }));
}

}  // namespace

TEST_SUITE("abandoned work") {
  TEST_CASE(
      "an activity whose future is destroyed unawaited is cancelled and its late result is not "
      "recorded") {
    Registry registry;
    registry.add(Orchestration<int, int>{"Drops", 1},
                 [](OrchestrationContext& ctx, int) -> Task<int> {
                   { auto unused = ctx.call(Work, 1); }  // goes out of scope, never awaited
                   co_await ctx.timer(1s);
                   co_return 5;
                 });
    EngineHarness h(registry);
    h.start("Drops", encode(0));
    h.turn();
    auto work = h.activity("Work");
    auto cancels = h.all<action::CancelActivity>();
    REQUIRE(cancels.size() == 1);
    CHECK(cancels[0].id == work);
    CHECK(cancels[0].reason == kDropped);
    auto length = h.history().size();
    h.complete(work, encode(1));  // the activity finished anyway
    auto t = h.turn();
    CHECK(t.consumed.size() == 1);
    CHECK(t.new_events.empty());
    CHECK(h.history().size() == length);
    h.fire(h.timer());
    h.turn();
    CHECK(h.output<int>() == 5);
    CHECK(count_kind(h.history(), EventKind::kActivityCompleted) == 0);
    h.check_replay();
  }

  TEST_CASE("a sub-orchestration whose future is destroyed unawaited is cancelled") {
    Registry registry;
    registry.add(Orchestration<int, int>{"DropsChild", 1},
                 [](OrchestrationContext& ctx, int) -> Task<int> {
                   { auto unused = ctx.call(Child, 1); }
                   co_return co_await ctx.wait_event<int>("go");
                 });
    EngineHarness h(registry, "p");
    h.start("DropsChild", encode(0));
    h.turn();
    auto cancels = h.all<action::CancelChild>();
    REQUIRE(cancels.size() == 1);
    CHECK(cancels[0].instance == "p:1:1");
    CHECK(cancels[0].reason == kDropped);
    h.child_completed(h.child().id, encode(3));  // too late: not recorded
    h.raise("go", encode(4));
    h.turn();
    CHECK(h.output<int>() == 4);
    CHECK(count_kind(h.history(), EventKind::kSubOrchestrationCompleted) == 0);
    h.check_replay();
  }

  TEST_CASE("a timer whose future is destroyed unawaited never reaches history") {
    Registry registry;
    registry.add(Orchestration<int, int>{"DropsTimer", 1},
                 [](OrchestrationContext& ctx, int) -> Task<int> {
                   { auto unused = ctx.timer(1h); }
                   co_return co_await ctx.wait_event<int>("go");
                 });
    EngineHarness h(registry);
    h.start("DropsTimer", encode(0));
    h.turn();
    h.advance(2h);
    h.fire(h.timer());
    auto t = h.turn();
    CHECK(t.new_events.empty());
    CHECK(h.engine().running());
    h.raise("go", encode(9));
    h.turn();
    CHECK(h.output<int>() == 9);
    CHECK(count_kind(h.history(), EventKind::kTimerFired) == 0);
    h.check_replay();
  }

  TEST_CASE("a retried call whose future is destroyed unawaited is cancelled, backoff and all") {
    Registry registry;
    registry.add(Orchestration<int, int>{"DropsRetry", 1},
                 [](OrchestrationContext& ctx, int) -> Task<int> {
                   { auto unused = ctx.call(Work, 1, RetryPolicy::fixed(5, 1s)); }
                   co_return co_await ctx.wait_event<int>("go");
                 });
    EngineHarness h(registry);
    h.start("DropsRetry", encode(0));
    h.turn();
    auto cancels = h.all<action::CancelActivity>();
    REQUIRE(cancels.size() == 1);
    CHECK(cancels[0].id == h.activity("Work"));
    h.fail(h.activity("Work"), "too late to matter");  // no retry follows
    h.raise("go", encode(1));
    h.turn();
    CHECK(h.output<int>() == 1);
    CHECK(h.all<action::ScheduleActivity>().size() == 1);
    CHECK(h.all<action::CreateTimer>().empty());
    h.check_replay();
  }

  TEST_CASE("a future kept in a variable or a combinator is not given up") {
    Registry registry;
    registry.add(Orchestration<int, int>{"Keeps", 1},
                 [](OrchestrationContext& ctx, int) -> Task<int> {
                   std::vector<DurableFuture<int>> calls;
                   for (int i = 0; i < 3; ++i)
                     calls.push_back(ctx.call(Work, i));  // moved and copied
                   auto copy = calls[0];
                   auto all = ctx.when_all(std::move(calls));
                   int first = co_await copy;
                   auto values = co_await all;
                   co_return first + values[1] + values[2];
                 });
    EngineHarness h(registry);
    h.start("Keeps", encode(0));
    h.turn();
    CHECK(h.all<action::CancelActivity>().empty());
    for (std::size_t i = 0; i < 3; ++i)
      h.complete(h.activity("Work", i), encode(static_cast<int>(i) + 10));
    h.turn();
    CHECK(h.output<int>() == 10 + 11 + 12);
    CHECK(h.all<action::CancelActivity>().empty());
    h.check_replay();
  }

  TEST_CASE("fire and forget through start_detached is not cancelled") {
    Registry registry;
    registry.add(Orchestration<int, std::string>{"Detaches", 1},
                 [](OrchestrationContext& ctx, int) -> Task<std::string> {
                   auto id = ctx.start_detached(Child, 1);
                   co_return id;
                 });
    EngineHarness h(registry, "d");
    h.start("Detaches", encode(0));
    h.turn();
    CHECK(h.output<std::string>() == "d:1:1");
    CHECK(h.all<action::CancelChild>().empty());
  }

  TEST_CASE("a when_any loser's late result is not recorded") {
    Registry registry;
    registry.add(Orchestration<int, int>{"Race", 1},
                 [](OrchestrationContext& ctx, int) -> Task<int> {
                   auto r = co_await ctx.when_any(ctx.call(Work, 1), ctx.timer(5s));
                   co_await ctx.wait_event<int>("done");
                   co_return static_cast<int>(r.index());
                 });
    EngineHarness h(registry);
    h.start("Race", encode(0));
    h.turn();
    auto work = h.activity("Work");
    h.fire(h.timer());
    h.turn();
    REQUIRE(h.all<action::CancelActivity>().size() == 1);
    auto length = h.history().size();
    h.complete(work, encode(1));
    auto t = h.turn();
    CHECK(t.consumed.size() == 1);
    CHECK(h.history().size() == length);
    h.raise("done", encode(0));
    h.turn();
    CHECK(h.output<int>() == 1);
    CHECK(count_kind(h.history(), EventKind::kActivityCompleted) == 0);
    h.check_replay();
  }

  TEST_CASE(
      "an eternal loop of when_any(event, timer) keeps its history bounded over 1,000 iterations") {
    constexpr int kIterations = 1000;
    Registry registry;
    registry.add(Orchestration<int, int>{"Loop", 1},
                 [](OrchestrationContext& ctx, int) -> Task<int> {
                   int ticks = 0;
                   for (;;) {
                     auto r = co_await ctx.when_any(ctx.wait_event<int>("tick"), ctx.timer(1h));
                     if (r.index() == 1) co_return ticks;
                     ++ticks;
                   }
                 });
    EngineHarness h(registry);
    h.start("Loop", encode(0));
    h.turn();
    for (int i = 0; i < kIterations; ++i) {
      h.raise("tick", encode(i));
      h.turn();
    }
    // Each iteration recorded its event and the next iteration's timer: nothing else.
    const std::size_t bounded = 2 + 2 * static_cast<std::size_t>(kIterations);
    CHECK(h.history().size() == bounded);
    // Every old timer fires an hour later; none of those fires is appended.
    h.advance(2h);
    for (int i = 0; i < kIterations; ++i) h.fire(h.timer(static_cast<std::size_t>(i)));
    auto t = h.turn();
    CHECK(t.consumed.size() == static_cast<std::size_t>(kIterations));
    CHECK(t.new_events.empty());
    CHECK(h.history().size() == bounded);
    CHECK(count_kind(h.history(), EventKind::kTimerFired) == 0);
    // The live timer still ends the loop.
    h.fire(h.timer(static_cast<std::size_t>(kIterations)));
    h.turn();
    CHECK(h.output<int>() == kIterations);
    CHECK(h.history().size() == bounded + 2);  // its TimerFired and the completion
    h.check_replay();
  }

  TEST_CASE(
      "a history recorded under the first rules replays: nothing given up is cancelled and late "
      "results are accepted") {
    Registry registry;
    registry.add(Orchestration<int, int>{"Drops", 1},
                 [](OrchestrationContext& ctx, int) -> Task<int> {
                   { auto unused = ctx.call(Work, 1); }
                   auto r = co_await ctx.when_any(ctx.call(Work, 2), ctx.timer(5s));
                   co_await ctx.timer(1h);
                   co_return static_cast<int>(r.index());
                 });
    // As an earlier build recorded it: no cancellation for the dropped future, and the
    // late results of both activities appended.
    auto t0 = testing::test_time();
    std::vector<HistoryEvent> history{
        testing::started(1, "Drops", encode(0)),  // rules 1: the field is absent
        testing::activity_scheduled(2, "Work", encode(1)),
        testing::activity_scheduled(3, "Work", encode(2)),
        testing::timer_created(4, t0 + 5s),
        testing::timer_fired(5, 4, t0 + 5s),
        testing::make_event(6, event::ActivityCancelRequested{3, "lost a when_any"}),
        testing::timer_created(7, t0 + 1h),
        testing::activity_completed(8, 2, encode(10)),
        testing::activity_completed(9, 3, encode(20)),
        testing::timer_fired(10, 7, t0 + 1h),
        testing::completed(11, encode(1)),
    };
    // The builder's timestamps are not what the code computes timers from; use its own.
    for (auto& e : history) e.timestamp = t0;
    ReplayEngine old(registry, "test-instance");
    auto loaded = old.load(1, history);
    REQUIRE_MESSAGE(loaded, (loaded ? "" : loaded.error().to_string()));
    REQUIRE(std::holds_alternative<outcome::Completed>(old.outcome()));
    CHECK(*decode<int>(std::get<outcome::Completed>(old.outcome()).output) == 1);
  }
}

}  // namespace duractor
