// Broker workloads, durable (sync on), through the real host and client:
//   pubsub.fanout     publish to 10,000 subscribed instances: deliveries/s
//   pubsub.roundtrip  raise an event, the instance resumes and completes, the lifecycle
//                     notification arrives: p50 and p99

#include <condition_variable>
#include <mutex>
#include <thread>

#include "bench/bench.h"
#include "bench/raw_lmdb.h"
#include "bench/runtime_support.h"
#include "duractor/actors/client.h"
#include "duractor/actors/host.h"
#include "duractor/pubsub/broker.h"

namespace duractor::bench {
namespace {

using namespace std::chrono_literals;

// Reads `n` messages from "ticks" (subscribing first) and completes with their sum.
const Orchestration<int, int> Reader{"Reader", 1};
// Waits for one event "go" and completes with it.
const Orchestration<int, int> Waiter{"Waiter", 1};
// Reads `n` events "go" and completes with their sum: Reader without the topic.
const Orchestration<int, int> Counter{"Counter", 1};

Registry make_registry() {
  Registry r;
  r.add(Reader, [](OrchestrationContext& ctx, int n) -> Task<int> {
    ctx.subscribe("ticks");
    int sum = 0;
    for (int i = 0; i < n; ++i) sum += co_await ctx.next_message<int>("ticks");
    co_return sum;
  });
  r.add(Counter, [](OrchestrationContext& ctx, int n) -> Task<int> {
    int sum = 0;
    for (int i = 0; i < n; ++i) sum += co_await ctx.wait_event<int>("go");
    co_return sum;
  });
  r.add(Waiter, [](OrchestrationContext& ctx, int) -> Task<int> {
    co_return co_await ctx.wait_event<int>("go");
  });
  return r;
}

// Blocks until `done()` holds, polling.
template <class Done>
void until(Done done) {
  while (!done()) std::this_thread::sleep_for(10ms);
}

std::string id(const char* prefix, int i) {
  return prefix + std::to_string(i);
}

// Delivers `rounds` publications to `n` subscribers. The baseline makes the same
// deliveries one instance at a time: `rounds` times, an event raised at each of `n`
// instances that read `rounds` events (from 64 threads).
void fanout(const Options& o, Report& report) {
  auto registry = make_registry();
  const int n = 10'000;
  const int rounds = o.quick ? 2 : 5;

  double publish_rate = 0, publish_e2e = 0;
  {
    ScratchDir dir(o, "fanout");
    auto host = start_host(registry, host_options(dir.path(), n));
    auto client = host->client();
    parallel(n, 64, [&](int i) { check(Reader.start(client, id("r-", i), rounds)); });
    until([&] {
      auto subs = host->store().subscribers("ticks");
      return subs && subs->size() == static_cast<std::size_t>(n);
    });
    auto start = std::chrono::steady_clock::now();
    for (int r = 0; r < rounds; ++r) {
      auto receipt = client.publish("ticks", r + 1);
      check(receipt);
      if (receipt->delivered.size() != static_cast<std::size_t>(n)) {
        throw std::runtime_error("publication reached " +
                                 std::to_string(receipt->delivered.size()));
      }
    }
    publish_rate = static_cast<double>(rounds) * n / seconds_since(start);
    parallel(n, 8, [&](int i) {
      auto sum = Reader.wait(client, id("r-", i), 600s);
      check(sum);
      if (*sum != rounds * (rounds + 1) / 2) throw std::runtime_error("wrong sum");
    });
    publish_e2e = static_cast<double>(rounds) * n / seconds_since(start);
  }

  double raise_rate = 0, raise_e2e = 0;
  {
    ScratchDir dir(o, "fanout-raise");
    auto host = start_host(registry, host_options(dir.path(), n));
    auto client = host->client();
    parallel(n, 64, [&](int i) { check(Counter.start(client, id("c-", i), rounds)); });
    until([&] {
      auto stats = host->store().stats();
      return stats && stats->inbox_messages == 0;
    });
    auto start = std::chrono::steady_clock::now();
    for (int r = 0; r < rounds; ++r) {
      parallel(n, 64, [&](int i) { check(client.raise(id("c-", i), "go", r + 1)); });
    }
    raise_rate = static_cast<double>(rounds) * n / seconds_since(start);
    parallel(n, 8, [&](int i) {
      auto sum = Counter.wait(client, id("c-", i), 600s);
      check(sum);
      if (*sum != rounds * (rounds + 1) / 2) throw std::runtime_error("wrong sum");
    });
    raise_e2e = static_cast<double>(rounds) * n / seconds_since(start);
  }

  std::string what = std::to_string(rounds) + " publications to 10,000 subscribers";
  report.add({"pubsub.fanout", what + ": committed to every inbox", publish_rate, "deliveries/s",
              raise_rate, "one raise per delivery, 64 threads"});
  report.add({"pubsub.fanout", what + ": read by every subscriber", publish_e2e, "deliveries/s",
              raise_e2e, "one raise per delivery, 64 threads"});
}

// One instance at a time: raise "go", wait for its kCompleted notification. The baseline
// is the floor for any durable runtime: two synced LMDB commits (the event, then the turn).
void roundtrip(const Options& o, Report& report) {
  auto registry = make_registry();
  const int n = o.quick ? 200 : 1'000;
  ScratchDir dir(o, "roundtrip");
  auto host = start_host(registry, host_options(dir.path()));
  auto client = host->client();
  parallel(n, 16, [&](int i) { check(Waiter.start(client, id("t-", i), 0)); });
  until([&] {
    auto stats = host->store().stats();
    return stats && stats->inbox_messages == 0;
  });

  std::mutex mutex;
  std::condition_variable cv;
  std::string last;
  auto subscription = host->broker().lifecycle().subscribe(
      LifecycleFilter{{LifecycleKind::kCompleted}, "Waiter", std::nullopt},
      [&](const LifecycleEvent& e) {
        std::lock_guard lock(mutex);
        last = e.instance;
        cv.notify_all();
      });

  std::vector<double> ms;
  for (int i = 0; i < n; ++i) {
    auto target = id("t-", i);
    auto start = std::chrono::steady_clock::now();
    check(client.raise(target, "go", i));
    std::unique_lock lock(mutex);
    if (!cv.wait_for(lock, 30s, [&] { return last == target; })) {
      throw std::runtime_error("no notification for " + target);
    }
    ms.push_back(seconds_since(start) * 1e3);
  }
  ScratchDir raw(o, "roundtrip-raw");
  double floor_ms = 2e3 / raw_lmdb_commits_per_second(raw.path(), 4, 150, std::min(o.seconds, 1.0));
  report.add({"pubsub.roundtrip", "raise, resume, complete, notified: p50", quantile(ms, 0.5), "ms",
              floor_ms, "two synced raw LMDB commits"});
  report.add({"pubsub.roundtrip", "raise, resume, complete, notified: p99", quantile(ms, 0.99),
              "ms", floor_ms, "two synced raw LMDB commits"});
}

const Register kFanout{"pubsub.fanout", "publish to 10,000 subscribed instances (durable)", fanout};
const Register kRoundtrip{"pubsub.roundtrip", "event round trip to a lifecycle notification",
                          roundtrip};

}  // namespace
}  // namespace duractor::bench
