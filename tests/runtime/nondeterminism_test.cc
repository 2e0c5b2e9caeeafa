// Changed code: a recorded history replayed against code that reorders, renames, adds or
// removes an operation must fail with a nondeterminism error naming the event position,
// what history recorded and what the code does now — never silently diverge.

#include <doctest/doctest.h>

#include "tests/support/engine_harness.h"
#include "tests/support/history_builders.h"

namespace duractor {
namespace {

using namespace std::chrono_literals;
using testing::EngineHarness;

const Activity<int, int> A{"A"};
const Activity<int, int> B{"B"};
const Orchestration<int, int> Flow{"Flow", 1};

// The original code: A(1), then B(2), then a timer, then done.
Task<int> original(OrchestrationContext& ctx, int) {
  int a = co_await ctx.call(A, 1);
  int b = co_await ctx.call(B, 2);
  co_await ctx.sleep(1s);
  co_return a + b;
}

// Records the original's full history.
std::vector<HistoryEvent> recorded_history() {
  Registry r;
  r.add(Flow, original);
  EngineHarness h(r, "nd");
  h.start("Flow", encode(0));
  h.turn();
  h.complete(h.activity("A"), encode(10));
  h.turn();
  h.complete(h.activity("B"), encode(20));
  h.turn();
  h.fire(h.timer());
  h.turn();
  REQUIRE(h.output<int>() == 30);
  return h.history();
}

// Replays `history` against `code`; returns the load error (the test requires one).
Error replay_against(Task<int> (*code)(OrchestrationContext&, int),
                     const std::vector<HistoryEvent>& history) {
  Registry r;
  r.add(Flow, code);
  ReplayEngine engine(r, "nd");
  auto loaded = engine.load(1, history);
  REQUIRE_FALSE(loaded);
  return loaded.error();
}

}  // namespace

TEST_SUITE("nondeterminism") {
  TEST_CASE("the unchanged code replays its own history") {
    Registry registry;
    registry.add(Flow, original);
    ReplayEngine engine(registry, "nd");
    CHECK(engine.load(1, recorded_history()));
    CHECK(std::holds_alternative<outcome::Completed>(engine.outcome()));
  }

  TEST_CASE("reordered operations are detected at the first difference") {
    auto e = replay_against(
        [](OrchestrationContext& ctx, int) -> Task<int> {
          int b = co_await ctx.call(B, 2);
          int a = co_await ctx.call(A, 1);
          co_return a + b;
        },
        recorded_history());
    CHECK(e.code == ErrorCode::kNondeterminism);
    CHECK(e.category == ErrorCategory::kConfiguration);
    CHECK(e.message.find("at event #2") != std::string::npos);
    CHECK(e.message.find("history recorded #2 ActivityScheduled A") != std::string::npos);
    CHECK(e.message.find("the code now does ActivityScheduled B") != std::string::npos);
  }

  TEST_CASE("a renamed activity is detected") {
    auto e = replay_against(
        [](OrchestrationContext& ctx, int) -> Task<int> {
          int a = co_await ctx.call_activity<int>("A2", 1);
          co_return a;
        },
        recorded_history());
    CHECK(e.code == ErrorCode::kNondeterminism);
    CHECK(e.message.find("ActivityScheduled A attempt=1") != std::string::npos);
    CHECK(e.message.find("ActivityScheduled A2") != std::string::npos);
  }

  TEST_CASE("a changed input is detected") {
    auto e = replay_against(
        [](OrchestrationContext& ctx, int) -> Task<int> {
          int a = co_await ctx.call(A, 999);
          co_return a;
        },
        recorded_history());
    CHECK(e.code == ErrorCode::kNondeterminism);
    CHECK(e.message.find("input=1") != std::string::npos);
    CHECK(e.message.find("input=999") != std::string::npos);
  }

  TEST_CASE("an added operation in the middle is detected") {
    auto e = replay_against(
        [](OrchestrationContext& ctx, int) -> Task<int> {
          int a = co_await ctx.call(A, 1);
          co_await ctx.sleep(5s);  // new
          int b = co_await ctx.call(B, 2);
          co_await ctx.sleep(1s);
          co_return a + b;
        },
        recorded_history());
    CHECK(e.code == ErrorCode::kNondeterminism);
    CHECK(e.message.find("at event #4") != std::string::npos);
    CHECK(e.message.find("TimerCreated") != std::string::npos);
  }

  TEST_CASE("an operation added where the history ends is detected") {
    // A prefix of the history: A completed, B scheduled and running.
    auto history = recorded_history();
    history.resize(4);
    auto e = replay_against(
        [](OrchestrationContext& ctx, int) -> Task<int> {
          int a = co_await ctx.call(A, 1);
          ctx.set_custom_status("new step");  // added after A's completion
          int b = co_await ctx.call(B, 2);
          co_return a + b;
        },
        history);
    CHECK(e.code == ErrorCode::kNondeterminism);
    CHECK(e.message.find("CustomStatusSet") != std::string::npos);
  }

  TEST_CASE("an operation appended after what history recorded is detected") {
    auto history = recorded_history();
    history.resize(5);  // ... B completed; the timer was created at #6 (cut off)
    history.resize(4);  // ... B scheduled (#4): the code waits on B
    auto e = replay_against(
        [](OrchestrationContext& ctx, int) -> Task<int> {
          int a = co_await ctx.call(A, 1);
          auto b = ctx.call(B, 2);
          auto extra = ctx.call(A, 3);  // scheduled in the same step as B, new
          co_return a + co_await b + co_await extra;
        },
        history);
    CHECK(e.code == ErrorCode::kNondeterminism);
    CHECK(e.message.find("after event #4") != std::string::npos);
    CHECK(e.message.find("where the recorded history has nothing") != std::string::npos);
  }

  TEST_CASE("a removed operation is detected") {
    auto e = replay_against(
        [](OrchestrationContext& ctx, int) -> Task<int> {
          int a = co_await ctx.call(A, 1);
          co_await ctx.sleep(1s);  // B was removed
          co_return a;
        },
        recorded_history());
    CHECK(e.code == ErrorCode::kNondeterminism);
    CHECK(e.message.find("at event #4") != std::string::npos);
  }

  TEST_CASE("a different result is detected at completion") {
    auto e = replay_against(
        [](OrchestrationContext& ctx, int) -> Task<int> {
          int a = co_await ctx.call(A, 1);
          int b = co_await ctx.call(B, 2);
          co_await ctx.sleep(1s);
          co_return a* b;  // computes something else from the same results
        },
        recorded_history());
    CHECK(e.code == ErrorCode::kNondeterminism);
    CHECK(e.message.find("ExecutionCompleted") != std::string::npos);
  }

  TEST_CASE(
      "a publication is matched on replay: another topic, another message, or none where one "
      "was recorded is detected") {
    // Recorded: A(1), then a publication of A's result on "prices", then B(2)...
    Registry r;
    r.add(Flow, [](OrchestrationContext& ctx, int) -> Task<int> {
      int a = co_await ctx.call(A, 1);
      ctx.publish("prices", a);
      co_return co_await ctx.call(B, 2);
    });
    EngineHarness h(r, "nd");
    h.start("Flow", encode(0));
    h.turn();
    h.complete(h.activity("A"), encode(10));
    h.turn();
    auto history = h.history();
    REQUIRE(history.size() == 5);  // started, A, A done, published, B
    REQUIRE(history[3].kind() == EventKind::kTopicPublished);

    SUBCASE("the same code replays") {
      ReplayEngine engine(r, "nd");
      CHECK(engine.load(1, history));
    }
    SUBCASE("another topic") {
      auto e = replay_against(
          [](OrchestrationContext& ctx, int) -> Task<int> {
            int a = co_await ctx.call(A, 1);
            ctx.publish("quotes", a);
            co_return co_await ctx.call(B, 2);
          },
          history);
      CHECK(e.code == ErrorCode::kNondeterminism);
      CHECK(e.message.find("at event #4: history recorded #4 TopicPublished prices payload=10") !=
            std::string::npos);
      CHECK(e.message.find("the code now does TopicPublished quotes payload=10") !=
            std::string::npos);
    }
    SUBCASE("another message") {
      auto e = replay_against(
          [](OrchestrationContext& ctx, int) -> Task<int> {
            int a = co_await ctx.call(A, 1);
            ctx.publish("prices", a + 1);
            co_return co_await ctx.call(B, 2);
          },
          history);
      CHECK(e.code == ErrorCode::kNondeterminism);
      CHECK(e.message.find("TopicPublished prices payload=11") != std::string::npos);
    }
    SUBCASE("the publication was removed") {
      auto e = replay_against(
          [](OrchestrationContext& ctx, int) -> Task<int> {
            co_await ctx.call(A, 1);
            co_return co_await ctx.call(B, 2);
          },
          history);
      CHECK(e.code == ErrorCode::kNondeterminism);
      CHECK(e.message.find("history recorded #4 TopicPublished prices") != std::string::npos);
      CHECK(e.message.find("the code now does ActivityScheduled B") != std::string::npos);
    }
    SUBCASE("a publication where the history has an activity") {
      auto e = replay_against(
          [](OrchestrationContext& ctx, int) -> Task<int> {
            ctx.publish("prices", 0);
            co_return co_await ctx.call(A, 1);
          },
          history);
      CHECK(e.code == ErrorCode::kNondeterminism);
      CHECK(e.message.find("history recorded #2 ActivityScheduled A") != std::string::npos);
      CHECK(e.message.find("the code now does TopicPublished prices") != std::string::npos);
    }
  }

  TEST_CASE("the runtime can fail the instance with the nondeterminism error") {
    auto history = recorded_history();
    Registry registry;
    registry.add(Flow, [](OrchestrationContext& ctx, int) -> Task<int> {
      co_return co_await ctx.call(B, 0);
    });
    ReplayEngine engine(registry, "nd");
    auto loaded = engine.load(1, history);
    REQUIRE_FALSE(loaded);
    auto turn = engine.fail_turn(FailureDetails{ErrorCategory::kConfiguration,
                                                "duractor::Nondeterminism", loaded.error().message},
                                 history.size(), {}, testing::test_time());
    REQUIRE(turn.new_events.size() == 1);
    CHECK(turn.new_events[0].id == history.size() + 1);
    CHECK(turn.new_events[0].kind() == EventKind::kExecutionFailed);
    CHECK(std::holds_alternative<outcome::Failed>(engine.outcome()));
  }
}

}  // namespace duractor
