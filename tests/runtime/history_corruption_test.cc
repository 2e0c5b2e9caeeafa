// Histories that could not have been written by a correct runtime (ids out of order, a
// completion for something never scheduled, events after the end, a missing start): the
// engine reports kCorrupt naming the event, and never crashes.

#include <doctest/doctest.h>

#include <random>

#include "tests/support/engine_harness.h"
#include "tests/support/history_builders.h"

namespace duractor {
namespace {

using namespace testing;

const Activity<int, int> Step{"Step"};
const Orchestration<int, int> Flow{"Flow", 1};

Registry make_registry() {
  Registry r;
  r.add(Flow, [](OrchestrationContext& ctx, int n) -> Task<int> {
    int total = 0;
    for (int i = 0; i < n; ++i) total += co_await ctx.call(Step, i);
    co_return total;
  });
  return r;
}

Error load_error(std::vector<HistoryEvent> history) {
  auto r = make_registry();
  ReplayEngine engine(r, "c");
  auto loaded = engine.load(1, history);
  REQUIRE_FALSE(loaded);
  return loaded.error();
}

}  // namespace

TEST_SUITE("history corruption") {
  TEST_CASE("an empty history is corrupt") {
    auto e = load_error({});
    CHECK(e.code == ErrorCode::kCorrupt);
    CHECK(e.message.find("has no events") != std::string::npos);
  }

  TEST_CASE("a history that does not begin with ExecutionStarted is corrupt") {
    auto e = load_error({activity_scheduled(1, "Step", encode(0))});
    CHECK(e.code == ErrorCode::kCorrupt);
    CHECK(e.message.find("event #1") != std::string::npos);
  }

  TEST_CASE("event ids out of order are corrupt") {
    auto e = load_error({started(1, "Flow", encode(2)), activity_scheduled(3, "Step", encode(0))});
    CHECK(e.code == ErrorCode::kCorrupt);
    CHECK(e.message.find("expected event #2") != std::string::npos);
  }

  TEST_CASE("a completion of an operation that was never scheduled is corrupt") {
    auto e = load_error({started(1, "Flow", encode(2)), activity_scheduled(2, "Step", encode(0)),
                         activity_completed(3, 7, encode(1))});
    CHECK(e.code == ErrorCode::kCorrupt);
    CHECK(e.message.find("completes #7, which is not an open operation") != std::string::npos);
  }

  TEST_CASE("a completion of the wrong kind, or a second completion, is corrupt") {
    auto wrong =
        load_error({started(1, "Flow", encode(2)), activity_scheduled(2, "Step", encode(0)),
                    timer_fired(3, 2, test_time())});
    CHECK(wrong.code == ErrorCode::kCorrupt);
    CHECK(wrong.message.find("not an operation of that kind") != std::string::npos);
    auto twice =
        load_error({started(1, "Flow", encode(2)), activity_scheduled(2, "Step", encode(0)),
                    activity_completed(3, 2, encode(1)), activity_scheduled(4, "Step", encode(1)),
                    activity_completed(5, 2, encode(1))});
    CHECK(twice.code == ErrorCode::kCorrupt);
  }

  TEST_CASE("events after the execution ended are corrupt") {
    auto e = load_error(
        {started(1, "Flow", encode(0)), completed(2, encode(0)), event_raised(3, "Late")});
    CHECK(e.code == ErrorCode::kCorrupt);
    CHECK(e.message.find("already ended") != std::string::npos);
  }

  TEST_CASE("a history naming an orchestration that is not registered is not registered") {
    auto e = load_error({started(1, "Vanished", encode(0))});
    CHECK(e.code == ErrorCode::kNotRegistered);
    CHECK(e.message.find("'Vanished'") != std::string::npos);
  }

  TEST_CASE("random mutations of a valid history never crash the engine") {
    auto r = make_registry();
    EngineHarness h(r, "c");
    h.start("Flow", encode(4));
    h.turn();
    for (std::size_t i = 0; i < 4; ++i) {
      h.complete(h.activity("Step", i), encode(static_cast<int>(i)));
      h.turn();
    }
    const auto valid = h.history();
    std::mt19937 rng(99);
    int errors = 0;
    for (int round = 0; round < 2000; ++round) {
      auto history = valid;
      switch (rng() % 5) {
        case 0:  // drop an event
          history.erase(history.begin() + static_cast<std::ptrdiff_t>(rng() % history.size()));
          break;
        case 1:  // swap two events
          std::swap(history[rng() % history.size()], history[rng() % history.size()]);
          break;
        case 2:  // duplicate an event
          history.insert(history.begin() + static_cast<std::ptrdiff_t>(rng() % history.size()),
                         history[rng() % history.size()]);
          break;
        case 3:  // retarget a completion
          for (auto& e : history) {
            if (auto* c = std::get_if<event::ActivityCompleted>(&e.body); c && rng() % 2) {
              c->scheduled_id = rng() % 12;
            }
          }
          break;
        default:  // truncate
          history.resize(rng() % history.size());
      }
      for (std::size_t i = 0; i < history.size() && rng() % 2; ++i) history[i].id = i + 1;
      ReplayEngine engine(r, "c");
      auto loaded = engine.load(1, history);
      if (!loaded) {
        ++errors;
        CHECK_FALSE(loaded.error().message.empty());
      } else {
        auto turn = engine.run_turn({}, test_time());  // a loaded engine can run a turn
        CHECK(turn.has_value());
      }
    }
    CHECK(errors > 1000);
  }
}

}  // namespace duractor
