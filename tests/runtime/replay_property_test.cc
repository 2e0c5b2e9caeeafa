// Property: replay is deterministic. Random orchestration programs (sequences of calls,
// retries, timers, event waits, sub-orchestrations, when_all / when_any and nests of them,
// failures, cancellation) run live with random completion orders and random turn splits.
// Then, for every turn boundary k, a fresh engine loads the history up to k and runs the
// remaining turns on the same messages: it must produce exactly the same events, consume
// the same messages and reach the same outcome. The seed of a failing program is printed.

#include <doctest/doctest.h>

#include <algorithm>
#include <random>

#include "duractor/runtime/detail/replay_engine.h"

namespace duractor {
namespace {

using namespace std::chrono_literals;

const Activity<std::int64_t, std::int64_t> Op{"Op"};
const Orchestration<std::int64_t, std::int64_t> Sub{"Sub", 1};
const Orchestration<std::uint64_t, std::int64_t> Program{"Program", 1};

// The program's own deterministic generator: the same seed gives the same program, on
// every replay.
struct Dice {
  std::uint64_t state;
  std::uint64_t next() {
    state += 0x9e3779b97f4a7c15ULL;
    std::uint64_t z = state;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  int below(int n) { return static_cast<int>(next() % static_cast<std::uint64_t>(n)); }
};

DurableFuture<std::int64_t> leaf(OrchestrationContext& ctx, Dice& dice) {
  switch (dice.below(6)) {
    case 0:
    case 1:
      return ctx.call(Op, dice.below(100));
    case 2: {
      auto policy = RetryPolicy::fixed(static_cast<std::uint32_t>(1 + dice.below(3)),
                                       Milliseconds(10 + dice.below(50)));
      if (dice.below(3) == 0) policy.with_attempt_timeout(Milliseconds(1000 + dice.below(1000)));
      return ctx.call(Op, dice.below(100), policy);
    }
    case 3:
      return ctx.wait_event<std::int64_t>("e" + std::to_string(dice.below(2)));
    default:
      return ctx.call(Sub, dice.below(100));
  }
}

Task<std::int64_t> program(OrchestrationContext& ctx, std::uint64_t seed) {
  Dice dice{seed};
  std::int64_t acc = 0;
  int steps = 2 + dice.below(7);
  for (int s = 0; s < steps; ++s) {
    try {
      switch (dice.below(9)) {
        case 0:
          acc += co_await leaf(ctx, dice);
          break;
        case 1:
          co_await ctx.timer(Milliseconds(dice.below(10'000)));
          acc += 1;
          break;
        case 2: {
          std::vector<DurableFuture<std::int64_t>> all;
          for (int i = 0, n = 1 + dice.below(4); i < n; ++i) all.push_back(leaf(ctx, dice));
          for (auto v : co_await ctx.when_all(std::move(all))) acc += v;
          break;
        }
        case 3: {
          std::vector<DurableFuture<std::int64_t>> any;
          for (int i = 0, n = 2 + dice.below(3); i < n; ++i) any.push_back(leaf(ctx, dice));
          auto r = co_await ctx.when_any(std::move(any));
          acc += static_cast<std::int64_t>(r.index()) * 7 + r.value();
          break;
        }
        case 4: {
          auto r =
              co_await ctx.when_any(leaf(ctx, dice), ctx.timer(Milliseconds(dice.below(5000))));
          acc += r.index() == 0 ? r.get<0>() : -1;
          break;
        }
        case 5: {
          ctx.set_custom_status("step " + std::to_string(s));
          auto guid = ctx.new_guid();
          acc += static_cast<std::int64_t>(std::hash<std::string>{}(guid) % 10);
          break;
        }
        case 6: {
          auto both = ctx.when_all(futures(leaf(ctx, dice), leaf(ctx, dice)));
          auto r = co_await ctx.when_any(both, ctx.timer(Milliseconds(dice.below(8000))));
          if (r.index() == 0) {
            for (auto v : r.get<0>()) acc += v;
          }
          break;
        }
        case 7:
          ctx.send_event("elsewhere", "Tick", acc);
          break;
        default:
          acc += to_unix_ms(ctx.now()) % 13;
      }
    } catch (const ActivityTimedOut&) {
      acc += 3000;
    } catch (const ActivityFailed&) {
      acc += 1000;
    } catch (const SubOrchestrationFailed&) {
      acc += 2000;
    }
  }
  co_return acc;
}

struct RecordedTurn {
  std::vector<InboxEntry> messages;
  TimePoint now;
  TurnResult result;
};

// Runs one random program live; returns its turns.
std::vector<RecordedTurn> run_live(const Registry& registry, std::uint64_t seed) {
  std::mt19937_64 rng(seed * 7919 + 1);
  ReplayEngine engine(registry, "prop-" + std::to_string(seed));
  std::vector<InboxEntry> inbox;
  std::uint64_t seq = 0;
  TimePoint now = from_unix_ms(1'700'000'000'000);
  auto send = [&](InboxMessage m) { inbox.push_back(InboxEntry{++seq, now, std::move(m)}); };
  send(message::Start{1, "Program", 0, encode(seed), std::nullopt, {}});

  struct Open {
    enum Kind { kActivity, kTimer, kChild } kind;
    EventId id;
    std::int64_t input;
  };
  std::vector<Open> open;
  std::vector<RecordedTurn> turns;
  for (int step = 0; step < 400; ++step) {
    // Answer some of what is open, in a random order.
    std::shuffle(open.begin(), open.end(), rng);
    std::vector<Open> keep;
    for (const auto& o : open) {
      if (rng() % 2) {
        keep.push_back(o);
        continue;
      }
      switch (o.kind) {
        case Open::kActivity:
          if (rng() % 5 == 0) {
            send(message::ActivityResult{
                1,
                o.id,
                {},
                FailureDetails{ErrorCategory::kApplication, "std::runtime_error", "flaky"}});
          } else {
            send(message::ActivityResult{1, o.id, encode(o.input * 3 + 1), std::nullopt});
          }
          if (rng() % 10 == 0) {  // a duplicate delivery
            send(message::ActivityResult{1, o.id, encode(o.input), std::nullopt});
          }
          break;
        case Open::kTimer:
          send(message::TimerFired{1, o.id, now});
          break;
        case Open::kChild:
          if (rng() % 6 == 0) {
            send(message::ChildResult{
                1, o.id, {}, FailureDetails{ErrorCategory::kApplication, "E", "child"}});
          } else {
            send(message::ChildResult{1, o.id, encode(o.input + 500), std::nullopt});
          }
          break;
      }
    }
    open = std::move(keep);
    if (rng() % 3 == 0) {
      send(message::Event{"e" + std::to_string(rng() % 2),
                          encode(static_cast<std::int64_t>(rng() % 50))});
    }
    if (rng() % 60 == 0) send(message::Cancel{"random cancel", rng() % 2 == 0});
    // Run the inbox in one or more turns of random size.
    while (!inbox.empty()) {
      std::size_t n = 1 + rng() % inbox.size();
      std::vector<InboxEntry> batch(inbox.begin(), inbox.begin() + static_cast<std::ptrdiff_t>(n));
      auto result = engine.run_turn(batch, now);
      REQUIRE(result);
      for (const auto& a : result->actions) {
        if (auto* s = std::get_if<action::ScheduleActivity>(&a)) {
          open.push_back({Open::kActivity, s->id, *decode<std::int64_t>(s->input)});
        } else if (auto* t = std::get_if<action::CreateTimer>(&a)) {
          open.push_back({Open::kTimer, t->id, 0});
        } else if (auto* c = std::get_if<action::StartChild>(&a)) {
          open.push_back({Open::kChild, c->id, *decode<std::int64_t>(c->input)});
        }
      }
      std::vector<InboxEntry> left;
      for (auto& m : inbox) {
        if (std::find(result->consumed.begin(), result->consumed.end(), m.seq) ==
            result->consumed.end()) {
          left.push_back(m);
        }
      }
      bool progress = left.size() < inbox.size() || !result->new_events.empty();
      inbox = std::move(left);
      turns.push_back(RecordedTurn{std::move(batch), now, std::move(*result)});
      if (!progress) break;
    }
    now += Milliseconds(static_cast<std::int64_t>(rng() % 3000));
    if (!engine.running() && step > 0) break;
  }
  return turns;
}

std::vector<HistoryEvent> history_through(const std::vector<RecordedTurn>& turns, std::size_t k) {
  std::vector<HistoryEvent> h;
  for (std::size_t i = 0; i < k; ++i) {
    for (const auto& e : turns[i].result.new_events) h.push_back(e);
  }
  return h;
}

}  // namespace

TEST_SUITE("replay property") {
  TEST_CASE("random programs replay to the same events and outcome from every turn boundary") {
    Registry registry;
    registry.add(Program, program);
    std::uint64_t base = std::random_device{}();
    constexpr int kPrograms = 300;
    std::size_t events_checked = 0, finished = 0;
    for (int p = 0; p < kPrograms; ++p) {
      std::uint64_t seed = base + static_cast<std::uint64_t>(p);
      INFO("program seed " << seed << " (rerun with this seed to reproduce)");
      auto turns = run_live(registry, seed);
      REQUIRE_FALSE(turns.empty());
      auto final_outcome = turns.back().result.outcome;
      finished += is_final(final_outcome) ? 1 : 0;
      for (std::size_t k = 0; k <= turns.size(); ++k) {
        CAPTURE(k);
        ReplayEngine replay(registry, "prop-" + std::to_string(seed));
        auto prefix = history_through(turns, k);
        if (!prefix.empty()) {
          auto loaded = replay.load(1, prefix);
          REQUIRE_MESSAGE(loaded, (loaded ? "" : loaded.error().to_string()));
        }
        for (std::size_t j = k; j < turns.size(); ++j) {
          auto again = replay.run_turn(turns[j].messages, turns[j].now);
          REQUIRE(again);
          REQUIRE(again->new_events == turns[j].result.new_events);
          REQUIRE(again->consumed == turns[j].result.consumed);
          events_checked += again->new_events.size();
        }
        REQUIRE(replay.outcome().index() == final_outcome.index());
        if (auto* c = std::get_if<outcome::Completed>(&final_outcome)) {
          REQUIRE(std::get<outcome::Completed>(replay.outcome()).output == c->output);
        }
      }
    }
    MESSAGE(kPrograms << " programs (" << finished << " ran to the end), " << events_checked
                      << " replayed events compared");
    CHECK(finished > kPrograms / 2);
  }
}

}  // namespace duractor
