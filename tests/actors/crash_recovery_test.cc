// Crash recovery: a child process runs the runtime (durable, sync on) with 1,000
// orchestrations — chains, fan-outs, timers, events, sub-orchestrations — and is killed
// with SIGKILL at random moments, at least 10 times, each while work is still in progress;
// each restart resumes from the store. Finally every instance must have completed with the
// right output, no history may hold a completion twice, every activity must have run at
// least once, and no more often than at-least-once allows: one run, plus one for each kill
// that found its work item still in the store (in flight). Nothing may be left behind:
// no inbox message, work item or timer.

#include <doctest/doctest.h>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <fstream>
#include <map>
#include <random>
#include <set>
#include <sstream>

#include "tests/support/child_process.h"
#include <spdlog/sinks/null_sink.h>

#include "tests/support/host_fixture.h"

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
std::vector<int> both(int a, int b) { return {a, b}; }

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
    co_return co_await ctx.call(Add, both(n, 7));  // n + 7
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

std::string id_of(int i) { return "crash-" + std::to_string(i); }

int expected_output(int i) {
  switch (i % 5) {
    case 0: return i + 15;
    case 1: return 5 * i + 10;
    case 2: return i + 7;
    case 3: return i + 1000;
    default: return 2 * i + 31;
  }
}

const Orchestration<int, int>& kind_of(int i) {
  static const Orchestration<int, int>* kinds[] = {&Chain, &Fan, &Sleeper, &Listener, &Family};
  return *kinds[i % 5];
}

// The child: runs the host, (re)starts all instances (idempotent), raises the events, and
// waits for everything to finish or for its death.
int run_child(const std::string& path) {
  auto registry = make_registry();
  HostOptions o;
  o.lmdb.path = path;
  o.lmdb.sync = true;
  o.scheduler_threads = 2;
  o.activity_workers = 8;
  o.logger = spdlog::null_logger_mt("child-" + std::to_string(::getpid()));
  auto host = Host::start(registry, o);
  if (!host) return 2;
  auto client = (*host)->client();
  for (int i = 0; i < kInstances; ++i) {
    if (!client.start(kind_of(i), id_of(i), i)) return 3;
  }
  for (int i = 3; i < kInstances; i += 5) {
    auto raised = client.raise(id_of(i), "value", 1000);
    if (!raised && raised.error().code != ErrorCode::kFailedPrecondition) return 4;
  }
  for (int i = 0; i < kInstances; ++i) {
    if (!client.wait(id_of(i), 120s)) return 5;
  }
  return 0;
}

}  // namespace

TEST_SUITE("runtime: crash recovery") {
  TEST_CASE("1,000 orchestrations survive SIGKILL at random moments and complete exactly once") {
    testing::TempDir dir("duractor-recovery");
    auto path = dir.sub("store");
    g_run_log = dir.sub("runs.log");
    std::mt19937 rng(std::random_device{}());
    int kills = 0;
    constexpr std::size_t kAllInstances = kInstances + kInstances / 5 * 2;  // with children
    std::vector<std::size_t> completed_at_kill;
    std::map<std::string, int> in_flight_at_kills;  // activity -> kills that found it pending
    std::size_t in_flight_total = 0;
    for (int round = 0; round < 40 && kills < 12; ++round) {
      testing::ChildProcess child([&] { return run_child(path); });
      std::this_thread::sleep_for(std::chrono::milliseconds(20 + rng() % 130));
      if (!child.running()) break;  // it finished everything before we could kill it
      REQUIRE(child.kill() == 128 + SIGKILL);  // our kill, not a crash of its own
      ++kills;
      LmdbOptions peek;
      peek.path = path;
      auto store = LmdbStore::open(peek);
      REQUIRE(store);
      auto done = (*store)->list_instances(InstanceQuery{.statuses = {InstanceStatus::kCompleted}, .limit = 0});
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
    for (std::size_t k = 0; k < completed_at_kill.size(); ++k) {
      CHECK_MESSAGE(completed_at_kill[k] < kAllInstances, "kill " << k + 1 << " found all done");
    }
    CHECK(kills >= 10);
    // A last run without a kill finishes the work.
    testing::ChildProcess final_run([&] { return run_child(path); });
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
    std::size_t scheduled = 0, ran_twice = 0, reruns = 0;
    auto check_instance = [&](const InstanceId& id, std::optional<int> expected) {
      auto info = (*store)->read_instance(id);
      REQUIRE_MESSAGE(info, id);
      REQUIRE_MESSAGE(info->status == InstanceStatus::kCompleted, id << " is " << to_string(info->status));
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
      for (auto [scheduled_id, n] : completions) CHECK_MESSAGE(n == 1, id << " #" << scheduled_id);
    };
    for (int i = 0; i < kInstances; ++i) {
      check_instance(id_of(i), expected_output(i));
      if (i % 5 == 4) {  // the family's children
        check_instance(id_of(i) + ":1:1", i + 15);
        check_instance(id_of(i) + ":1:2", i + 16);
      }
    }
    MESSAGE(kills << " kills; " << scheduled << " activities; " << ran_twice
                  << " ran more than once (at-least-once after a crash), " << reruns
                  << " extra runs; " << in_flight_total << " work items in flight over all kills");
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
    CHECK(scheduled == static_cast<std::size_t>(kInstances / 5 * (5 + 5 + 1 + 1) + kInstances / 5 * 10));
  }
}

}  // namespace duractor
