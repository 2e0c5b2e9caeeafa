// RuntimeMetrics on its own: counts by name, the fixed label set, histograms in the
// Prometheus text format, escaping, and recording from many threads at once.

#include "duractor/runtime/metrics.h"

#include <doctest/doctest.h>

#include <map>
#include <sstream>
#include <thread>
#include <vector>

#include "duractor/runtime/registry.h"

namespace duractor {
namespace {

using namespace std::chrono_literals;

const Activity<int, int> Charge{"Charge"};
const Activity<int, int> Ship{"Ship \"fast\"\\"};
const Orchestration<int, int> Order{"Order", 1};
const Orchestration<int, int> OrderV2{"Order", 2};
const Orchestration<int, int> Refund{"Refund", 1};

Registry registry() {
  Registry r;
  r.add(Charge, [](ActivityContext&, int x) { return x; });
  r.add(Ship, [](ActivityContext&, int x) { return x; });
  r.add(Order, [](OrchestrationContext&, int x) -> Task<int> { co_return x; });
  r.add(OrderV2, [](OrchestrationContext&, int x) -> Task<int> { co_return x; });
  r.add(Refund, [](OrchestrationContext&, int x) -> Task<int> { co_return x; });
  return r;
}

// name{labels} -> value, from Prometheus text; checks that every sample's family has its
// HELP and TYPE lines before it.
std::map<std::string, double> parse(const std::string& text) {
  std::map<std::string, double> samples;
  std::map<std::string, std::string> types;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("# TYPE ", 0) == 0) {
      auto rest = line.substr(7);
      auto space = rest.find(' ');
      types[rest.substr(0, space)] = rest.substr(space + 1);
      continue;
    }
    if (line.empty() || line[0] == '#') continue;
    auto space = line.rfind(' ');
    auto series = line.substr(0, space);
    auto name = series.substr(0, series.find('{'));
    bool typed = types.count(name) > 0;
    for (const char* suffix : {"_bucket", "_sum", "_count"}) {
      auto n = std::string(suffix).size();
      if (!typed && name.size() > n && name.compare(name.size() - n, n, suffix) == 0) {
        typed = types.count(name.substr(0, name.size() - n)) > 0;
      }
    }
    INFO(line);
    CHECK(typed);
    CHECK(samples.count(series) == 0);  // no series twice
    samples[series] = std::stod(line.substr(space + 1));
  }
  return samples;
}

TEST_SUITE("runtime metrics") {
  TEST_CASE("counts are kept per registered name, and unknown names share one series") {
    auto r = registry();
    RuntimeMetrics m(r);
    m.orchestration_started("Order");
    m.orchestration_started("Order");
    m.orchestration_started("Refund");
    m.orchestration_started("NoSuchThing");  // an unregistered name
    m.orchestration_ended("Order", InstanceStatus::kCompleted, std::nullopt);
    m.orchestration_ended("Order", InstanceStatus::kFailed, FailureKind::kNondeterminism);
    m.orchestration_ended("Refund", InstanceStatus::kFailed, FailureKind::kPoison);
    m.turn_poisoned("Refund");
    // An instance failed by a poisoned activity it did not catch: poison as its failure
    // kind, but not a poisoned turn.
    m.orchestration_ended("Order", InstanceStatus::kFailed, FailureKind::kPoison);
    m.activity_ended("Charge", std::nullopt);
    m.activity_ended("Charge", FailureKind::kActivityFailed);
    m.activity_ended("Charge", FailureKind::kPoison);
    m.activity_started("Charge", 1, 2ms);
    m.activity_started("Charge", 2, 2ms);
    CHECK(m.started("Order") == 2);
    CHECK(m.started("Refund") == 1);
    CHECK(m.started("NoSuchThing") == 0);
    CHECK(m.ended("Order", InstanceStatus::kCompleted) == 1);
    CHECK(m.ended("Order", InstanceStatus::kFailed) == 2);
    CHECK(m.activity_outcomes("Charge", std::nullopt) == 1);
    CHECK(m.activity_outcomes("Charge", FailureKind::kActivityFailed) == 1);
    CHECK(m.activity_retries("Charge") == 1);
    CHECK(m.nondeterminism_failures() == 1);
    CHECK(m.poison_failures() == 2);

    std::string text;
    m.write_prometheus(text);
    auto s = parse(text);
    CHECK(s.at(R"(duractor_orchestrations_started_total{orchestration="Order"})") == 2);
    CHECK(s.at(R"(duractor_orchestrations_started_total{orchestration="_unregistered"})") == 1);
    CHECK(
        s.at(R"(duractor_orchestrations_ended_total{orchestration="Order",status="completed"})") ==
        1);
    CHECK(
        s.at(R"(duractor_orchestrations_ended_total{orchestration="Refund",status="cancelled"})") ==
        0);
    CHECK(
        s.at(
            R"(duractor_orchestration_failures_total{orchestration="Order",kind="nondeterminism"})") ==
        1);
    CHECK(s.at(R"(duractor_orchestration_failures_total{orchestration="Order",kind="poison"})") ==
          1);
    CHECK(s.count(
              R"(duractor_orchestration_failures_total{orchestration="Order",kind="timed_out"})") ==
          0);  // kinds not seen are left out
    CHECK(s.at("duractor_nondeterminism_failures_total") == 1);
    CHECK(s.at(R"(duractor_poison_failures_total{of="turn"})") == 1);
    CHECK(s.at(R"(duractor_poison_failures_total{of="activity"})") == 1);
    CHECK(s.at(R"(duractor_activity_executions_total{activity="Charge",outcome="completed"})") ==
          1);
    CHECK(
        s.at(
            R"(duractor_activity_executions_total{activity="Charge",outcome="activity_failed"})") ==
        1);
    CHECK(s.at(R"(duractor_activity_retries_total{activity="Charge"})") == 1);
    // A name with a quote and a backslash is escaped in its label.
    CHECK(s.at(R"(duractor_activity_retries_total{activity="Ship \"fast\"\\"})") == 0);
  }

  TEST_CASE("a name registered as _unregistered shares that series, never a second one") {
    auto r = registry();
    const Orchestration<int, int> Odd{"_unregistered", 1};
    const Activity<int, int> OddActivity{"_unregistered"};
    r.add(Odd, [](OrchestrationContext&, int x) -> Task<int> { co_return x; });
    r.add(OddActivity, [](ActivityContext&, int x) { return x; });
    RuntimeMetrics m(r);
    m.orchestration_started("_unregistered");
    m.orchestration_started("Unknown");
    m.activity_ended("_unregistered", std::nullopt);
    std::string text;
    m.write_prometheus(text);
    auto s = parse(text);  // fails on a series written twice
    CHECK(s.at(R"(duractor_orchestrations_started_total{orchestration="_unregistered"})") == 2);
    CHECK(
        s.at(
            R"(duractor_activity_executions_total{activity="_unregistered",outcome="completed"})") ==
        1);
  }

  TEST_CASE("the versions of one orchestration are one series") {
    auto r = registry();
    RuntimeMetrics m(r);
    std::string text;
    m.write_prometheus(text);
    auto series = R"(duractor_orchestrations_started_total{orchestration="Order"})";
    auto first = text.find(series);
    REQUIRE(first != std::string::npos);
    CHECK(text.find(series, first + 1) == std::string::npos);
  }

  TEST_CASE("histograms are cumulative, in seconds, with their sum and count") {
    auto r = registry();
    RuntimeMetrics m(r);
    m.turn_committed("Order", 30us);  // in the first bucket (50 µs)
    m.turn_committed("Order", 3ms);   // in 5 ms
    m.turn_committed("Order", 400s);  // past every bound: only +Inf
    m.store_committed(1, 1ms);
    m.store_committed(64, 2ms);
    m.store_committed(100, 2ms);
    m.activity_ran("Charge", 20ms);
    CHECK(m.turns() == 3);
    CHECK(m.store_commits() == 3);
    std::string text;
    m.write_prometheus(text);
    auto s = parse(text);
    CHECK(s.at(R"(duractor_turn_duration_seconds_bucket{le="5e-05"})") == 1);
    CHECK(s.at(R"(duractor_turn_duration_seconds_bucket{le="0.0025"})") == 1);
    CHECK(s.at(R"(duractor_turn_duration_seconds_bucket{le="0.005"})") == 2);
    CHECK(s.at(R"(duractor_turn_duration_seconds_bucket{le="300"})") == 2);
    CHECK(s.at(R"(duractor_turn_duration_seconds_bucket{le="+Inf"})") == 3);
    CHECK(s.at("duractor_turn_duration_seconds_count") == 3);
    CHECK(s.at("duractor_turn_duration_seconds_sum") == doctest::Approx(400.00303));
    CHECK(s.at(R"(duractor_store_commit_writes_bucket{le="1"})") == 1);
    CHECK(s.at(R"(duractor_store_commit_writes_bucket{le="64"})") == 2);
    CHECK(s.at(R"(duractor_store_commit_writes_bucket{le="128"})") == 3);
    CHECK(s.at("duractor_store_commit_writes_sum") == 165);
    CHECK(s.at(R"(duractor_activity_execution_seconds_bucket{activity="Charge",le="0.025"})") == 1);
    CHECK(s.at(R"(duractor_activity_execution_seconds_count{activity="Charge"})") == 1);
    CHECK(s.at(R"(duractor_activity_execution_seconds_count{activity="_unregistered"})") == 0);
  }

  TEST_CASE("recording from many threads at once loses no count") {
    auto r = registry();
    RuntimeMetrics m(r);
    constexpr int kThreads = 4;
    constexpr int kEach = 20'000;
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&] {
        for (int i = 0; i < kEach; ++i) {
          m.orchestration_started("Order");
          m.turn_committed("Order", std::chrono::microseconds(i % 1000));
          m.activity_ended("Charge", std::nullopt);
        }
      });
    }
    for (auto& t : threads) t.join();
    CHECK(m.started("Order") == kThreads * kEach);
    CHECK(m.turns() == kThreads * kEach);
    CHECK(m.activity_outcomes("Charge", std::nullopt) == kThreads * kEach);
  }

  TEST_CASE("a label value escapes backslashes, quotes and newlines") {
    CHECK(detail::prometheus_label("plain") == "plain");
    CHECK(detail::prometheus_label("a\"b") == "a\\\"b");
    CHECK(detail::prometheus_label("a\\b") == "a\\\\b");
    CHECK(detail::prometheus_label("a\nb") == "a\\nb");
  }
}

}  // namespace
}  // namespace duractor
