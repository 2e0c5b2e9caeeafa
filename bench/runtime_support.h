#pragma once
// Helpers shared by the workloads that run the real host (runtime_bench.cc, pubsub_bench.cc).

#include <algorithm>
#include <atomic>
#include <memory>
#include <stdexcept>
#include <thread>
#include <vector>

#include <spdlog/sinks/null_sink.h>

#include "duractor/actors/host.h"
#include "duractor/duractor.h"

namespace duractor::bench {

// The workload of the write benches (http.api, mqtt.events): an instance that waits for one
// event "go" and completes with it; instance i is "w-<i>".
inline const Orchestration<int, int> EventWaiter{"Waiter", 1};

inline Registry event_waiter_registry() {
  Registry r;
  r.add(EventWaiter, [](OrchestrationContext& ctx, int) -> Task<int> {
    co_return co_await ctx.wait_event<int>("go");
  });
  return r;
}

inline std::string waiter_id(int i) {
  return "w-" + std::to_string(i);
}

// Durable (sync on), a 1 GiB initial map, 8 activity workers, logging off.
inline HostOptions host_options(const std::string& dir, std::size_t live_cap = 10'000) {
  HostOptions o;
  o.lmdb.path = dir;
  o.lmdb.sync = true;
  o.lmdb.initial_map_size = std::uint64_t{1} << 30;
  o.activity_workers = 8;
  o.max_live_instances = live_cap;
  o.logger =
      std::make_shared<spdlog::logger>("bench", std::make_shared<spdlog::sinks::null_sink_mt>());
  return o;
}

inline std::unique_ptr<Host> start_host(const Registry& r, HostOptions o) {
  auto host = Host::start(r, std::move(o));
  if (!host) throw std::runtime_error(host.error().to_string());
  return std::move(*host);
}

// Runs `body(i)` for i in [0, n) on `threads` threads.
template <class Body>
void parallel(int n, int threads, Body body) {
  std::atomic<int> next{0};
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&] {
      for (int i = next++; i < n; i = next++) body(i);
    });
  }
  for (auto& t : pool) t.join();
}

template <class T>
void check(const Result<T>& r) {
  if (!r) throw std::runtime_error(r.error().to_string());
}

// The q-quantile (0..1) of `samples`, which it sorts.
inline double quantile(std::vector<double>& samples, double q) {
  std::sort(samples.begin(), samples.end());
  return samples[static_cast<std::size_t>(q * static_cast<double>(samples.size() - 1))];
}

}  // namespace duractor::bench
