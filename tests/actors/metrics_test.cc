// HostOptions::metrics: what the real runtime reports to a RuntimeMetrics where the work
// happens — starts and ends by orchestration, turns, activities by outcome, retries, store
// commits, activations, passivations, replays and nondeterminism.

#include <doctest/doctest.h>

#include <map>
#include <sstream>
#include <thread>

#include "duractor/runtime/metrics.h"
#include "tests/support/runtime_fixture.h"

namespace duractor {
namespace {

using namespace std::chrono_literals;
using namespace testing::runtime_fixture;
using testing::eventually;
using testing::start_host;
using testing::TempDir;
using testing::test_host_options;

const Orchestration<int, int> Retried{"Retried", 1};
const Orchestration<int, int> Throws{"Throws", 1};
const Orchestration<int, int> Waits{"Waits", 1};
const Orchestration<int, int> Parks{"Parks", 1};
const Orchestration<int, int> Stuck{"Stuck", 1};
const Activity<int, int> Hang{"Hang"};

void add_cases(Registry& r) {
  add_common(r);
  r.add(Retried, [](OrchestrationContext& ctx, int x) -> Task<int> {
    co_return co_await ctx.call(Flaky, x, RetryPolicy::immediate(3));
  });
  r.add(Throws, [](OrchestrationContext&, int) -> Task<int> {
    throw std::runtime_error("no");
    co_return 0;
  });
  r.add(Parks, [](OrchestrationContext& ctx, int x) -> Task<int> {
    int go = co_await ctx.wait_event<int>("go");
    co_return go + co_await ctx.call(Double, x);
  });
  r.add(Hang, [](ActivityContext& ctx, int x) {  // until cancelled
    while (!ctx.cancelled()) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    return x;
  });
  r.add(Stuck, [](OrchestrationContext& ctx, int x) -> Task<int> {
    try {
      co_return co_await ctx.call(Hang, x);
    } catch (const ActivityFailed&) {
      co_return -1;
    }
  });
  r.add(Waits, [](OrchestrationContext& ctx, int x) -> Task<int> {
    int doubled = co_await ctx.call(Double, x);
    co_return doubled + co_await ctx.wait_event<int>("go");
  });
}

// One sample of the metrics' Prometheus text, by its series ("name{labels}").
double sample(const RuntimeMetrics& m, const std::string& series) {
  std::string text;
  m.write_prometheus(text);
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind(series + " ", 0) == 0) return std::stod(line.substr(series.size() + 1));
  }
  FAIL("no series " << series);
  return -1;
}

TEST_SUITE("runtime: metrics") {
  TEST_CASE("a host reports starts, ends, turns, activities, retries and commits") {
    TempDir dir;
    Registry registry;
    add_cases(registry);
    auto metrics = std::make_shared<RuntimeMetrics>(registry);
    auto options = test_host_options(dir.sub("store"));
    options.metrics = metrics;
    auto host = start_host(registry, options);
    auto client = host->client();
    constexpr int kHellos = 20;
    for (int i = 0; i < kHellos; ++i) REQUIRE(client.start(Hello, "h-" + std::to_string(i), "x"));
    flaky_calls = 0;
    REQUIRE(client.start(Retried, "retried", 1));
    REQUIRE(client.start(Throws, "throws", 1));
    REQUIRE(client.start(Waits, "waits", 1));
    REQUIRE(client.wait("retried", 20s));
    REQUIRE(client.wait("throws", 20s));
    REQUIRE(eventually([&] { return client.history("waits")->size() == 3; }));
    REQUIRE(client.cancel("waits", "operator", true));  // terminate
    REQUIRE(client.wait("waits", 20s));
    for (int i = 0; i < kHellos; ++i) REQUIRE(client.wait("h-" + std::to_string(i), 20s));

    // Recorded by the instance actors when they learn of the commits the clients waited for.
    REQUIRE(eventually([&] {
      return metrics->ended("Waits", InstanceStatus::kTerminated) == 1 &&
             metrics->ended("Hello", InstanceStatus::kCompleted) == kHellos &&
             metrics->ended("Retried", InstanceStatus::kCompleted) == 1 &&
             metrics->ended("Throws", InstanceStatus::kFailed) == 1;
    }));
    CHECK(metrics->started("Hello") == kHellos);
    CHECK(metrics->started("Retried") == 1);
    CHECK(metrics->ended("Hello", InstanceStatus::kFailed) == 0);
    CHECK(
        sample(
            *metrics,
            R"(duractor_orchestration_failures_total{orchestration="Throws",kind="application"})") ==
        1);
    CHECK(metrics->activity_outcomes("Greet", std::nullopt) == kHellos);
    CHECK(metrics->activity_outcomes("Flaky", FailureKind::kActivityFailed) == 2);
    CHECK(metrics->activity_outcomes("Flaky", std::nullopt) == 1);
    CHECK(metrics->activity_retries("Flaky") == 2);
    CHECK(metrics->activity_retries("Greet") == 0);
    CHECK(sample(*metrics, R"(duractor_activity_execution_seconds_count{activity="Greet"})") ==
          kHellos);
    CHECK(sample(*metrics,
                 R"(duractor_activity_schedule_to_start_seconds_count{activity="Flaky"})") == 3);
    // Its runs are timed also when the function throws.
    CHECK(sample(*metrics, R"(duractor_activity_execution_seconds_count{activity="Flaky"})") == 3);
    // Each Hello takes two turns (start, the activity's result); all ran and committed.
    CHECK(metrics->turns() >= 2 * kHellos + 2 * 3);
    // Every turn is a write of a group commit, and so is every start (a client's write).
    CHECK(sample(*metrics, "duractor_store_commit_writes_sum") >=
          static_cast<double>(metrics->turns() + kHellos + 3));
    CHECK(static_cast<double>(metrics->store_commits()) <=
          sample(*metrics, "duractor_store_commit_writes_sum"));
    CHECK(metrics->activations() >= kHellos + 3);
    CHECK(metrics->nondeterminism_failures() == 0);
  }

  TEST_CASE("an activity past the host's timeout is counted as timed out, once") {
    TempDir dir;
    Registry registry;
    add_cases(registry);
    auto metrics = std::make_shared<RuntimeMetrics>(registry);
    auto options = test_host_options(dir.sub("store"));
    options.metrics = metrics;
    options.activity_timeout = 200ms;
    auto host = start_host(registry, options);
    REQUIRE(host->client().start(Stuck, "stuck", 1));
    auto info = host->client().wait("stuck", 20s);
    REQUIRE(info);
    CHECK(info->status == InstanceStatus::kCompleted);
    CHECK(metrics->activity_outcomes("Hang", FailureKind::kTimedOut) == 1);
    CHECK(metrics->activity_outcomes("Hang", FailureKind::kCancelled) == 0);
    CHECK(metrics->activity_outcomes("Hang", std::nullopt) == 0);  // its late result is dropped
    // The function returned once it saw its token: that run is timed too.
    REQUIRE(eventually([&] {
      return sample(*metrics, R"(duractor_activity_execution_seconds_count{activity="Hang"})") == 1;
    }));
  }

  TEST_CASE("passivation, reactivation and its replay are counted") {
    TempDir dir;
    Registry registry;
    add_cases(registry);
    auto metrics = std::make_shared<RuntimeMetrics>(registry);
    auto options = test_host_options(dir.sub("store"));
    options.metrics = metrics;
    options.passivate_after = 50ms;
    auto host = start_host(registry, options);
    auto client = host->client();
    REQUIRE(client.start(Parks, "w", 1));  // waits at once: idle, with nothing running
    REQUIRE(eventually([&] { return metrics->passivations() == 1; }));
    CHECK(host->live_instances() == 0);
    CHECK(metrics->replays() == 0);  // its first activation had no history to replay
    REQUIRE(client.raise("w", "go", 5));
    auto info = client.wait("w", 20s);
    REQUIRE(info);
    CHECK(info->status == InstanceStatus::kCompleted);
    CHECK(*decode<int>(info->output) == 7);
    CHECK(metrics->replays() >= 1);
    // The event's activation replayed the one event of its history, its start.
    CHECK(sample(*metrics, R"(duractor_replay_events_bucket{le="1"})") >= 1);
    // It may leave memory again while Double runs, and once it has finished: each time it
    // came back, it was activated.
    CHECK(metrics->activations() >= 2);
    auto passivations = metrics->passivations();
    auto activations = metrics->activations();
    CHECK((activations == passivations || activations == passivations + 1));
  }

  TEST_CASE("an instance failed by nondeterminism is counted as such") {
    TempDir dir;
    const Orchestration<int, int> Flow{"Flow", 1};
    {
      Registry r;
      add_common(r);
      r.add(Flow, [](OrchestrationContext& ctx, int x) -> Task<int> {
        int a = co_await ctx.call(Double, x);
        co_return a + co_await ctx.wait_event<int>("go");
      });
      auto host = start_host(r, test_host_options(dir.sub("store")));
      REQUIRE(host->client().start(Flow, "changed", 1));
      REQUIRE(eventually([&] { return host->client().history("changed")->size() == 3; }));
    }
    Registry r;
    add_common(r);
    r.add(Flow, [](OrchestrationContext& ctx, int x) -> Task<int> {  // edited in place: wrong
      co_return static_cast<int>((co_await ctx.call(Greet, std::to_string(x))).size());
    });
    auto metrics = std::make_shared<RuntimeMetrics>(r);
    auto options = test_host_options(dir.sub("store"));
    options.metrics = metrics;
    auto host = start_host(r, options);
    REQUIRE(host->client().raise("changed", "go", 1));
    auto info = host->client().wait("changed", 20s);
    REQUIRE(info);
    CHECK(info->failure->kind == FailureKind::kNondeterminism);
    REQUIRE(eventually([&] { return metrics->nondeterminism_failures() == 1; }));
    CHECK(metrics->ended("Flow", InstanceStatus::kFailed) == 1);
    CHECK(metrics->started("Flow") == 0);  // it started under the host before
    CHECK(sample(*metrics, "duractor_nondeterminism_failures_total") == 1);
  }
}

}  // namespace
}  // namespace duractor
