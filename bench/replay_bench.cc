// replay.flat: replaying a history costs the same per event at 1,000, 10,000 and 100,000
// events (linear in total). replay.incremental: a turn on a live coroutine costs the same
// at history length 100 and 10,000 (only the new events are processed).

#include <chrono>
#include <stdexcept>

#include "bench/bench.h"
#include "duractor/runtime/detail/replay_engine.h"

namespace duractor::bench {
namespace {

const Activity<std::int64_t, std::int64_t> Step{"Step"};
const Orchestration<std::int64_t, std::int64_t> Chain{"Chain", 1};

// A chain of activity calls: two history events per call, forever.
Task<std::int64_t> chain(OrchestrationContext& ctx, std::int64_t) {
  std::int64_t total = 0;
  for (std::int64_t i = 0;; ++i) total += co_await ctx.call(Step, i);
}

Registry make_registry() {
  Registry r;
  r.add(Chain, chain);
  return r;
}

// Runs the chain live until its history holds at least `events` events; returns it, and
// leaves `engine` live at that point.
std::vector<HistoryEvent> grow(ReplayEngine& engine, std::size_t events) {
  std::vector<HistoryEvent> history;
  std::uint64_t seq = 0;
  TimePoint now = from_unix_ms(1'700'000'000'000);
  auto run = [&](InboxMessage m) {
    auto turn = engine.run_turn({InboxEntry{++seq, now, std::move(m)}}, now);
    if (!turn) throw std::runtime_error(turn.error().to_string());
    for (auto& e : turn->new_events) history.push_back(std::move(e));
    return *turn;
  };
  auto turn = run(message::Start{1, "Chain", 0, encode(std::int64_t{0}), std::nullopt, {}});
  while (history.size() < events) {
    auto& s = std::get<action::ScheduleActivity>(turn.actions.at(0));
    turn = run(message::ActivityResult{1, s.id, encode(std::int64_t{1}), std::nullopt});
  }
  return history;
}

double seconds(std::chrono::steady_clock::duration d) {
  return std::chrono::duration<double>(d).count();
}

void replay_flat(const Options& o, Report& report) {
  const std::string w = "replay.flat";
  auto registry = make_registry();
  std::vector<std::size_t> sizes = {1'000, 10'000, 100'000};
  double base_ns = 0;
  for (auto size : sizes) {
    ReplayEngine source(registry, "replay");
    auto history = grow(source, size);
    // Repeat small replays enough times to measure; at least once for the big one.
    int repeats = std::max(1, static_cast<int>((o.quick ? 50'000 : 300'000) / history.size()));
    auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < repeats; ++i) {
      ReplayEngine engine(registry, "replay");
      auto loaded = engine.load(1, history);
      if (!loaded) throw std::runtime_error(loaded.error().to_string());
    }
    double total = seconds(std::chrono::steady_clock::now() - start) / repeats;
    double per_event = total * 1e9 / static_cast<double>(history.size());
    if (base_ns == 0) base_ns = per_event;
    report.add({w, "replay " + std::to_string(history.size()) + " events, total", total * 1e3, "ms",
                std::nullopt, ""});
    report.add({w, "replay " + std::to_string(history.size()) + " events, per event", per_event,
                "ns/event", base_ns, "per event at 1,000"});
  }
}

void replay_incremental(const Options& o, Report& report) {
  const std::string w = "replay.incremental";
  auto registry = make_registry();
  double base_us = 0;
  constexpr int kTimedTurns = 10;  // per engine: the length stays within 20 events of L
  for (std::size_t length : {std::size_t{100}, std::size_t{10'000}}) {
    int engines = length == 100 ? (o.quick ? 500 : 3000) : (o.quick ? 50 : 300);
    double timed = 0;
    for (int e = 0; e < engines; ++e) {
      ReplayEngine engine(registry, "live");
      auto history = grow(engine, length);
      EventId pending = 0;
      for (auto it = history.rbegin(); it != history.rend(); ++it) {
        if (it->kind() == EventKind::kActivityScheduled) {
          pending = it->id;
          break;
        }
      }
      std::uint64_t seq = 1'000'000;
      TimePoint now = from_unix_ms(1'700'000'000'000);
      auto start = std::chrono::steady_clock::now();
      for (int i = 0; i < kTimedTurns; ++i) {
        auto turn = engine.run_turn(
            {InboxEntry{
                ++seq, now,
                message::ActivityResult{1, pending, encode(std::int64_t{1}), std::nullopt}}},
            now);
        if (!turn) throw std::runtime_error(turn.error().to_string());
        pending = std::get<action::ScheduleActivity>(turn->actions.at(0)).id;
      }
      timed += seconds(std::chrono::steady_clock::now() - start);
    }
    double per_turn = timed * 1e6 / (static_cast<double>(engines) * kTimedTurns);
    if (base_us == 0) base_us = per_turn;
    report.add({w, "live turn at history length " + std::to_string(length), per_turn, "us/turn",
                base_us, "at length 100"});
  }
}

const Register kFlat{"replay.flat", "replay time per event at 1k, 10k and 100k events",
                     replay_flat};
const Register kIncremental{"replay.incremental",
                            "one turn on a live coroutine at history length 100 vs 10,000",
                            replay_incremental};

}  // namespace
}  // namespace duractor::bench
