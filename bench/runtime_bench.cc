// Runtime workloads, durable (sync on), through the real host and client:
//   runtime.hello          hello orchestrations (one activity) per second
//   runtime.metrics        the same with a RuntimeMetrics sink on vs off (its cost)
//   runtime.fanout         fan-out/fan-in of 10 activities: orchestrations/s and activities/s
//   runtime.chain_latency  a chain of 10 activities at low load: p50 and p99 end to end
//   runtime.idle_rss       memory per idle instance waiting on an event, all in memory
//   runtime.idle_rss_capped  the same with the default cap on live instance actors
//   runtime.restart        restart a host and resume pending instances until all complete

#include <algorithm>
#include <atomic>
#include <fstream>
#include <stdexcept>
#include <thread>

#include <spdlog/sinks/null_sink.h>

#include "bench/bench.h"
#include "bench/runtime_support.h"
#include "duractor/actors/client.h"
#include "duractor/actors/host.h"
#include "duractor/runtime/metrics.h"

namespace duractor::bench {
namespace {

using namespace std::chrono_literals;

const Activity<std::string, std::string> Greet{"Greet"};
const Activity<int, int> Work{"Work"};
const Orchestration<std::string, std::string> Hello{"Hello", 1};
const Orchestration<int, int> FanOut{"FanOut", 1};
const Orchestration<int, int> Chain{"Chain", 1};
const Orchestration<int, int> Waiter{"Waiter", 1};

Registry make_registry() {
  Registry r;
  r.add(Greet, [](ActivityContext&, std::string name) { return "Hello, " + name; });
  r.add(Work, [](ActivityContext&, int x) { return x + 1; });
  r.add(Hello, [](OrchestrationContext& ctx, std::string name) -> Task<std::string> {
    co_return co_await ctx.call(Greet, name);
  });
  r.add(FanOut, [](OrchestrationContext& ctx, int n) -> Task<int> {
    std::vector<DurableFuture<int>> calls;
    for (int i = 0; i < n; ++i) calls.push_back(ctx.call(Work, i));
    int sum = 0;
    for (int v : co_await ctx.when_all(std::move(calls))) sum += v;
    co_return sum;
  });
  r.add(Chain, [](OrchestrationContext& ctx, int n) -> Task<int> {
    int v = 0;
    for (int i = 0; i < n; ++i) v = co_await ctx.call(Work, v);
    co_return v;
  });
  r.add(Waiter, [](OrchestrationContext& ctx, int n) -> Task<int> {
    co_return n + co_await ctx.wait_event<int>("go");
  });
  return r;
}

std::uint64_t rss_bytes() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stoull(line.substr(6)) * 1024;
  }
  return 0;
}

void hello(const Options& o, Report& report) {
  auto registry = make_registry();
  ScratchDir dir(o, "hello");
  auto host = start_host(registry, host_options(dir.path()));
  auto client = host->client();
  int n = o.quick ? 5'000 : 20'000;
  auto start = std::chrono::steady_clock::now();
  parallel(n, 64, [&](int i) { check(Hello.start(client, "h-" + std::to_string(i), "x")); });
  parallel(n, 8, [&](int i) { check(Hello.wait(client, "h-" + std::to_string(i), 600s)); });
  double rate = n / seconds_since(start);
  report.add({"runtime.hello", "hello orchestrations (1 activity)", rate, "orch/s", std::nullopt,
              "", 5000});
}

// The cost of HostOptions::metrics (a RuntimeMetrics): hello throughput with it and
// without it, in alternating rounds (off, on, off, on, ...) on fresh stores, so that the
// machine's drift falls on both alike; the median round of each.
void metrics_cost(const Options& o, Report& report) {
  auto registry = make_registry();
  int n = o.quick ? 3'000 : 10'000;
  int rounds = o.quick ? 2 : 5;
  std::vector<double> off, on;
  for (int round = 0; round < 2 * rounds; ++round) {
    bool with = round % 2 == 1;
    ScratchDir dir(o, with ? "metrics-on" : "metrics-off");
    auto options = host_options(dir.path());
    if (with) options.metrics = std::make_shared<RuntimeMetrics>(registry);
    auto host = start_host(registry, options);
    auto client = host->client();
    auto start = std::chrono::steady_clock::now();
    parallel(n, 64, [&](int i) { check(Hello.start(client, "h-" + std::to_string(i), "x")); });
    parallel(n, 8, [&](int i) { check(Hello.wait(client, "h-" + std::to_string(i), 600s)); });
    (with ? on : off).push_back(n / seconds_since(start));
  }
  report.add({"runtime.metrics",
              "hello with metrics on (median of " + std::to_string(rounds) + " rounds)",
              quantile(on, 0.5), "orch/s", quantile(off, 0.5), "metrics off", std::nullopt});
}

void fanout(const Options& o, Report& report) {
  auto registry = make_registry();
  ScratchDir dir(o, "fanout");
  auto host = start_host(registry, host_options(dir.path()));
  auto client = host->client();
  int n = o.quick ? 1'000 : 4'000;
  auto start = std::chrono::steady_clock::now();
  parallel(n, 64, [&](int i) { check(FanOut.start(client, "f-" + std::to_string(i), 10)); });
  parallel(n, 8, [&](int i) { check(FanOut.wait(client, "f-" + std::to_string(i), 600s)); });
  double elapsed = seconds_since(start);
  report.add({"runtime.fanout", "fan-out/fan-in of 10: orchestrations", n / elapsed, "orch/s",
              std::nullopt, ""});
  report.add({"runtime.fanout", "fan-out/fan-in of 10: activities", 10.0 * n / elapsed,
              "activities/s", std::nullopt, "", 20000});
}

void chain_latency(const Options& o, Report& report) {
  auto registry = make_registry();
  ScratchDir dir(o, "chain");
  auto host = start_host(registry, host_options(dir.path()));
  auto client = host->client();
  int n = o.quick ? 100 : 500;
  std::vector<double> ms;
  for (int i = 0; i < n; ++i) {  // one at a time: low load
    auto start = std::chrono::steady_clock::now();
    check(Chain.run(client, "c-" + std::to_string(i), 10, 60s));
    ms.push_back(seconds_since(start) * 1e3);
  }
  report.add({"runtime.chain_latency", "chain of 10 activities, p50", quantile(ms, 0.5), "ms",
              std::nullopt, "", 10});
  report.add({"runtime.chain_latency", "chain of 10 activities, p99", quantile(ms, 0.99), "ms",
              std::nullopt, ""});
}

// Starts `n` instances that wait for an event, and waits until all are waiting.
void park(Host& host, int n) {
  auto client = host.client();
  parallel(n, 64, [&](int i) { check(Waiter.start(client, "w-" + std::to_string(i), i)); });
  for (;;) {
    auto stats = host.store().stats();
    if (stats && stats->inbox_messages == 0) break;
    std::this_thread::sleep_for(20ms);
  }
}

// Memory added by n idle instances with at most `cap` instance actors in memory. Each
// configuration is its own workload, and duractor_bench runs every workload in a process
// of its own, so that one's heap does not count in the other's figure.
void idle_rss(const Options& o, Report& report, bool capped) {
  auto registry = make_registry();
  int n = o.quick ? 20'000 : 100'000;
  std::size_t cap = capped ? std::size_t{10'000} : static_cast<std::size_t>(n);
  std::string workload = capped ? "runtime.idle_rss_capped" : "runtime.idle_rss";
  ScratchDir dir(o, "rss");
  auto host = start_host(registry, host_options(dir.path(), cap));
  auto before = rss_bytes();
  park(*host, n);
  std::this_thread::sleep_for(200ms);
  auto after = rss_bytes();
  double per = static_cast<double>(after - before) / n;
  std::string what = capped ? "cap 10,000 live" : "all in memory";
  report.add({workload, "RSS per idle instance (" + what + ")", per, "bytes", std::nullopt, ""});
  report.add({workload, "RSS for " + std::to_string(n) + " idle instances (" + what + ")",
              static_cast<double>(after - before) / (1 << 20), "MiB", std::nullopt, ""});
}

void restart(const Options& o, Report& report) {
  auto registry = make_registry();
  int n = o.quick ? 20'000 : 100'000;
  ScratchDir dir(o, "restart");
  {
    auto host = start_host(registry, host_options(dir.path()));
    park(*host, n);
  }
  // While no runtime runs, every instance gets its event: all are pending.
  {
    LmdbOptions lo;
    lo.path = dir.path();
    lo.sync = false;
    auto store = LmdbStore::open(lo);
    check(store);
    parallel(n, 32, [&](int i) {
      check((*store)->enqueue("w-" + std::to_string(i), message::Event{"go", encode(1)}));
    });
  }
  auto start = std::chrono::steady_clock::now();
  auto host = start_host(registry, host_options(dir.path()));
  double started = seconds_since(start);
  auto client = host->client();
  parallel(n, 8, [&](int i) { check(Waiter.wait(client, "w-" + std::to_string(i), 600s)); });
  double total = seconds_since(start);
  report.add({"runtime.restart", "host start with " + std::to_string(n) + " pending", started * 1e3,
              "ms", std::nullopt, ""});
  report.add({"runtime.restart", "restart and resume " + std::to_string(n) + " pending instances",
              total, "s", std::nullopt, ""});
  report.add({"runtime.restart", "resumed instances per second", n / total, "instances/s",
              std::nullopt, ""});
}

const Register kHello{"runtime.hello", "hello orchestrations per second (durable)", hello};
const Register kMetrics{"runtime.metrics",
                        "hello orchestrations per second with HostOptions::metrics on vs off",
                        metrics_cost};
const Register kFanout{"runtime.fanout", "fan-out/fan-in of 10 activities (durable)", fanout};
const Register kChain{"runtime.chain_latency", "chain of 10 activities, p50/p99 at low load",
                      chain_latency};
const Register kRss{"runtime.idle_rss",
                    "memory of idle instances waiting on an event, all in memory",
                    [](const Options& o, Report& r) { idle_rss(o, r, false); }};
const Register kRssCapped{"runtime.idle_rss_capped",
                          "memory of idle instances waiting on an event, default cap of 10,000",
                          [](const Options& o, Report& r) { idle_rss(o, r, true); }};
const Register kRestart{"runtime.restart", "restart and resume pending instances", restart};

}  // namespace
}  // namespace duractor::bench
