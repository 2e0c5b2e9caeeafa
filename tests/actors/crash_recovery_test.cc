// Crash recovery: a child process runs the runtime (durable, sync on) with 1,000
// orchestrations — chains, fan-outs, timers, events, sub-orchestrations — and is killed
// with SIGKILL at random moments, at least 10 times, each while work is still in progress;
// each restart resumes from the store. Finally every instance must have completed with the
// right output, no history may hold a completion twice, every activity must have run at
// least once, and no more often than at-least-once allows: one run, plus one for each kill
// that found its work item still in the store (in flight). Nothing may be left behind:
// no inbox message, work item or timer. Every third child dies at a fault step
// instead (the k-th time it reaches a step such as "turn.committed" or "commit_turn.work").
// Seeded and sized by tests/support/torture.h: scripts/torture runs generation after
// generation of 1,000 instances in the same store until its kill count is reached.

#include <doctest/doctest.h>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <fstream>
#include <map>
#include <random>
#include <set>
#include <sstream>

#include <spdlog/sinks/null_sink.h>
#include "tests/support/child_process.h"

#include "tests/support/host_fixture.h"
#include "tests/support/torture.h"

namespace duractor {
namespace {

using namespace std::chrono_literals;

constexpr int kInstances = 1000;

const Activity<std::vector<int>, int> Add{"Add"};
const Orchestration<int, int> Chain{"Chain", 1};
const Orchestration<int, int> Fan{"Fan", 1};
const Orchestration<int, int> Sleeper{"Sleeper", 1};
const Orchestration<int, int> Listener{"Listener", 1};
const Orchestration<int, int> Family{"Family", 1};

// Activity runs are appended to this file, one line per run: "instance|execution|id".
std::string g_run_log;

// (Outside the coroutines: g++ 12 cannot build initializer lists inside them.)
std::vector<int> both(int a, int b) {
  return {a, b};
}

Registry make_registry() {
  Registry r;
  r.add(Add, [](ActivityContext& ctx, std::vector<int> xs) {
    std::string line = ctx.instance_id() + "|" + std::to_string(ctx.execution_id()) + "|" +
                       std::to_string(ctx.scheduled_id()) + "\n";
    int fd = ::open(g_run_log.c_str(), O_WRONLY | O_APPEND | O_CREAT, 0644);
    if (fd >= 0) {
      (void)::write(fd, line.data(), line.size());
      ::close(fd);
    }
    int sum = 0;
    for (int x : xs) sum += x;
    return sum;
  });
  r.add(Chain, [](OrchestrationContext& ctx, int n) -> Task<int> {
    int acc = n;
    for (int k = 1; k <= 5; ++k) acc = co_await ctx.call(Add, both(acc, k));
    co_return acc;  // n + 15
  });
  r.add(Fan, [](OrchestrationContext& ctx, int n) -> Task<int> {
    std::vector<DurableFuture<int>> calls;
    for (int k = 0; k < 5; ++k) calls.push_back(ctx.call(Add, both(n, k)));
    int sum = 0;
    for (int v : co_await ctx.when_all(std::move(calls))) sum += v;
    co_return sum;  // 5n + 10
  });
  r.add(Sleeper, [](OrchestrationContext& ctx, int n) -> Task<int> {
    co_await ctx.sleep(Milliseconds(300 + (n % 8) * 150));  // outlives several kills
    co_return co_await ctx.call(Add, both(n, 7));           // n + 7
  });
  r.add(Listener, [](OrchestrationContext& ctx, int n) -> Task<int> {
    int v = co_await ctx.wait_event<int>("value");
    co_return co_await ctx.call(Add, both(n, v));  // n + 1000
  });
  r.add(Family, [](OrchestrationContext& ctx, int n) -> Task<int> {
    int a = co_await ctx.call(Chain, n);
    int b = co_await ctx.call(Chain, n + 1);
    co_return a + b;  // 2n + 31
  });
  return r;
}

// Generation 0 is the CI run; scripts/torture adds generations with ids of their own.
std::string id_of(int generation, int i) {
  return (generation == 0 ? "" : "g" + std::to_string(generation) + "-") + "crash-" +
         std::to_string(i);
}

int expected_output(int i) {
  switch (i % 5) {
    case 0:
      return i + 15;
    case 1:
      return 5 * i + 10;
    case 2:
      return i + 7;
    case 3:
      return i + 1000;
    default:
      return 2 * i + 31;
  }
}

const Orchestration<int, int>& kind_of(int i) {
  static const Orchestration<int, int>* kinds[] = {&Chain, &Fan, &Sleeper, &Listener, &Family};
  return *kinds[i % 5];
}

// Where a child kills itself: the `hit`-th time it reaches fault step `step`.
struct KillPoint {
  std::string step;
  int hit = 0;
};

// The fault steps a child may die at: in the store's writes and between commit and dispatch.
const char* const kSteps[] = {"turn.committed",       "commit_turn.history",  "commit_turn.work",
                              "commit_turn.outbound", "commit_turn.metadata", "batch.commit",
                              "record_delivery.item", "count_turn_delivery"};

// The child: runs the host, (re)starts all instances of `generation` (idempotent), raises
// the events, and waits for everything to finish or for its death.
int run_child(const std::string& path, int generation, const std::optional<KillPoint>& kill = {}) {
  auto registry = make_registry();
  HostOptions o;
  o.lmdb.path = path;
  o.lmdb.sync = true;
  o.scheduler_threads = 2;
  o.activity_workers = 8;
  // The kills here are deliberate and frequent (every ~100 ms): a turn or an activity may be
  // cut short by several in a row, which poison detection would rightly take for a crash
  // it causes. Poison has its own tests (poison_test.cc).
  o.max_activity_deliveries = 1'000'000;
  o.max_turn_deliveries = 1'000'000;
  o.logger = spdlog::null_logger_mt("child-" + std::to_string(::getpid()));
  if (kill) {
    auto hits = std::make_shared<std::atomic<int>>(0);
    o.lmdb.fault_injector = [kill = *kill, hits](const FaultStep& at) -> Status {
      if (at.name == kill.step && ++*hits == kill.hit) ::raise(SIGKILL);
      return {};
    };
  }
  auto host = Host::start(registry, o);
  if (!host) return 2;
  auto client = (*host)->client();
  for (int i = 0; i < kInstances; ++i) {
    if (!client.start(kind_of(i), id_of(generation, i), i)) return 3;
  }
  for (int i = 3; i < kInstances; i += 5) {
    auto raised = client.raise(id_of(generation, i), "value", 1000);
    if (!raised && raised.error().code != ErrorCode::kFailedPrecondition) return 4;
  }
  for (int i = 0; i < kInstances; ++i) {
    if (!client.wait(id_of(generation, i), 120s)) return 5;
  }
  return 0;
}

}  // namespace

TEST_SUITE("runtime: crash recovery") {
  TEST_CASE("1,000 orchestrations survive SIGKILL at random moments and complete exactly once") {
    testing::TempDir dir("duractor-recovery");
    auto path = dir.sub("store");
    g_run_log = dir.sub("runs.log");
    testing::TortureFigures figures;
    figures.suite = "runtime";
    figures.seed = testing::torture_seed();
    MESSAGE("seed " << figures.seed << " (DURACTOR_TORTURE_SEED repeats this run)");
    std::mt19937 rng(figures.seed);
    const int target = testing::torture_kills("RUNTIME", 12);
    constexpr std::size_t kAllInstances = kInstances + kInstances / 5 * 2;  // with children
    std::size_t scheduled = 0, reruns = 0, in_flight_total = 0;
    std::map<std::string, int> in_flight_at_kills;  // activity -> kills that found it pending
    for (int generation = 0; generation == 0 || static_cast<int>(figures.kills) < target;
         ++generation) {
      CAPTURE(generation);
      int kills = 0;
      std::vector<std::size_t> completed_at_kill;
      for (int round = 0; round < 40 && kills < 12 && static_cast<int>(figures.kills) < target;
           ++round) {
        std::optional<KillPoint> kill;
        if (round % 3 == 2) {
          kill = KillPoint{kSteps[rng() % std::size(kSteps)], 1 + static_cast<int>(rng() % 100)};
        }
        testing::ChildProcess child([&] { return run_child(path, generation, kill); });
        // A child with a kill point gets longer to reach it; the parent's kill is its fallback.
        // Kept short of the time all the work takes on a fast machine (about 2 s), so that
        // a round rarely lets the child finish and the generation still gets its kills.
        auto delay = std::chrono::milliseconds(kill ? 50 + rng() % 450 : 20 + rng() % 130);
        for (auto until = std::chrono::steady_clock::now() + delay;
             child.running() && std::chrono::steady_clock::now() < until;) {
          std::this_thread::sleep_for(2ms);
        }
        if (!child.running()) {
          if (child.wait() != 128 + SIGKILL) break;  // it finished before we could kill it
          ++figures.fault_step_kills;                // it died at its fault step
        }
        REQUIRE(child.kill() == 128 + SIGKILL);  // our kill or its fault step, not a crash
        ++kills;
        ++figures.kills;
        LmdbOptions peek;
        peek.path = path;
        auto store = LmdbStore::open(peek);
        REQUIRE(store);
        auto done = (*store)->list_instances(
            InstanceQuery{.statuses = {InstanceStatus::kCompleted}, .limit = 0});
        REQUIRE(done);
        completed_at_kill.push_back(done->instances.size());
        auto work = (*store)->list_work(0, 0);
        REQUIRE(work);
        for (const auto& item : *work) {
          ++in_flight_at_kills[item.instance + "|" + std::to_string(item.execution) + "|" +
                               std::to_string(item.scheduled_id)];
        }
        in_flight_total += work->size();
      }
      std::string progress;
      for (auto n : completed_at_kill) progress += std::to_string(n) + " ";
      MESSAGE("instances completed at each kill: " << progress);
      // Every kill landed while work was in progress, not after it was all done.
      REQUIRE_FALSE(completed_at_kill.empty());
      std::size_t done_before = generation * kAllInstances;
      for (std::size_t k = 0; k < completed_at_kill.size(); ++k) {
        CHECK_MESSAGE(completed_at_kill[k] < done_before + kAllInstances,
                      "kill " << k + 1 << " found all done");
      }
      CHECK(kills >= std::min(10, target));
      // A last run without a kill finishes the work.
      testing::ChildProcess final_run([&] { return run_child(path, generation); });
      REQUIRE(final_run.wait() == 0);

      // Verify from the store, with no runtime running.
      LmdbOptions o;
      o.path = path;
      auto store = LmdbStore::open(o);
      REQUIRE(store);
      std::map<std::string, int> runs;  // activity -> times it ran
      {
        std::ifstream log(g_run_log);
        std::string line;
        while (std::getline(log, line)) ++runs[line];
      }
      std::size_t ran_twice = 0;
      auto check_instance = [&](const InstanceId& id, std::optional<int> expected) {
        ++figures.instances;
        ++figures.acknowledged;  // its start was acknowledged: it must complete, once
        auto info = (*store)->read_instance(id);
        bool complete = info && info->status == InstanceStatus::kCompleted &&
                        (!expected || decode<int>(info->output) == *expected);
        if (!complete) ++figures.lost;
        REQUIRE_MESSAGE(info, id);
        REQUIRE_MESSAGE(info->status == InstanceStatus::kCompleted,
                        id << " is " << to_string(info->status));
        if (expected) CHECK_MESSAGE(*decode<int>(info->output) == *expected, id);
        auto history = (*store)->read_history(id, info->execution);
        REQUIRE(history);
        std::map<EventId, int> completions;
        for (const auto& e : *history) {
          if (auto c = e.completes()) ++completions[*c];
          if (const auto* s = std::get_if<event::ActivityScheduled>(&e.body)) {
            ++scheduled;
            auto key = id + "|" + std::to_string(info->execution) + "|" + std::to_string(e.id);
            CHECK_MESSAGE(runs[key] >= 1, key << " never ran");
            // At-least-once, and no more: a repeat needs a kill that found it in flight.
            CHECK_MESSAGE(runs[key] <= 1 + in_flight_at_kills[key],
                          key << " ran " << runs[key] << " times, in flight at "
                              << in_flight_at_kills[key] << " kills");
            if (runs[key] > 1) reruns += static_cast<std::size_t>(runs[key] - 1);
            if (runs[key] > 1) ++ran_twice;
            (void)s;
          }
        }
        for (auto [scheduled_id, n] : completions) {
          CHECK_MESSAGE(n == 1, id << " #" << scheduled_id);
          if (n > 1) figures.duplicated += n - 1;
        }
      };
      std::size_t scheduled_before = scheduled;
      for (int i = 0; i < kInstances; ++i) {
        check_instance(id_of(generation, i), expected_output(i));
        if (i % 5 == 4) {  // the family's children
          check_instance(id_of(generation, i) + ":1:1", i + 15);
          check_instance(id_of(generation, i) + ":1:2", i + 16);
        }
      }
      figures.reruns += ran_twice;
      MESSAGE(kills << " kills; " << scheduled - scheduled_before << " activities; " << ran_twice
                    << " ran more than once (at-least-once after a crash); " << in_flight_total
                    << " work items in flight over all kills so far");
      CHECK(reruns <= in_flight_total);
      // Every activity run is one that history scheduled: no run of an unknown activity.
      std::size_t runs_total = 0;
      for (const auto& [key, n] : runs) runs_total += static_cast<std::size_t>(n);
      CHECK(runs_total == scheduled + reruns);
      // Nothing is left behind: no inbox message, no work item, no timer.
      auto depths = (*store)->inbox_depths("", 0);
      REQUIRE(depths);
      CHECK_MESSAGE(depths->empty(), depths->size()
                                         << " inboxes hold messages, the first "
                                         << (depths->empty() ? "" : depths->front().instance));
      auto work = (*store)->list_work(0, 0);
      REQUIRE(work);
      CHECK_MESSAGE(work->empty(), work->size() << " work items left, the first for "
                                                << (work->empty() ? "" : work->front().instance));
      auto timer = (*store)->next_timer();
      REQUIRE(timer);
      CHECK_MESSAGE(!timer->has_value(),
                    "a timer is left for " << (timer->has_value() ? (*timer)->instance : ""));
      CHECK(scheduled - scheduled_before ==
            static_cast<std::size_t>(kInstances / 5 * (5 + 5 + 1 + 1) + kInstances / 5 * 10));
    }
    MESSAGE(figures.line());
    figures.report();
    CHECK(figures.lost == 0);
    CHECK(figures.duplicated == 0);
  }
}

namespace {

// A child that runs Chain on "victim" and kills itself at the fault step "turn.committed"
// of victim's first turn: after the commit that scheduled the first activity, before the
// activity was dispatched.
int run_until_first_commit(const std::string& path) {
  auto registry = make_registry();
  HostOptions o;
  o.lmdb.path = path;
  o.lmdb.sync = true;
  o.scheduler_threads = 2;
  o.logger = spdlog::null_logger_mt("commit-child-" + std::to_string(::getpid()));
  o.lmdb.fault_injector = [](const FaultStep& step) -> Status {
    if (step.name == "turn.committed" && step.instance == "victim") ::raise(SIGKILL);
    return {};
  };
  auto host = Host::start(registry, o);
  if (!host) return 2;
  if (!(*host)->client().start(Chain, "victim", 1)) return 3;
  std::this_thread::sleep_for(30s);  // killed long before
  return 4;
}

}  // namespace

TEST_SUITE("runtime: crash recovery") {
  TEST_CASE(
      "a kill after a turn's commit and before its dispatch loses nothing: the activity runs once "
      "after the restart") {
    testing::TempDir dir("duractor-commit-kill");
    auto path = dir.sub("store");
    g_run_log = dir.sub("runs.log");
    {
      testing::ChildProcess child([&] { return run_until_first_commit(path); });
      REQUIRE(child.wait() == 128 + SIGKILL);
    }
    {
      LmdbOptions peek;
      peek.path = path;
      auto store = LmdbStore::open(peek);
      REQUIRE(store);
      auto history = (*store)->read_latest_history("victim");
      REQUIRE(history);
      REQUIRE(history->events.size() == 2);  // the first turn committed: started, scheduled
      auto work = (*store)->list_work(0, 0);
      REQUIRE(work);
      REQUIRE(work->size() == 1);
      CHECK(work->front().deliveries == 1);  // counted by the commit, never handed out
    }
    CHECK_FALSE(std::ifstream(g_run_log).good());  // the activity never ran
    auto registry = make_registry();
    auto options = testing::test_host_options(path);
    auto host = testing::start_host(registry, options);
    auto client = host->client();
    auto out = Chain.wait(client, "victim", 30s);
    REQUIRE_MESSAGE(out, (out ? "" : out.error().to_string()));
    CHECK(*out == 16);
    std::map<std::string, int> runs;
    std::ifstream log(g_run_log);
    for (std::string line; std::getline(log, line);) ++runs[line];
    CHECK(runs.size() == 5);
    for (const auto& [activity, n] : runs) CHECK_MESSAGE(n == 1, activity);
  }
}

}  // namespace duractor
