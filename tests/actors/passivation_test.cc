// Passivation and reactivation: 10,000 instances pass through a cap of 100 live instance
// actors. Each calls an activity, then waits for an event (idle: its actor is passivated to
// make room); the event reactivates it (replay from the store) and it completes.

#include <doctest/doctest.h>

#include <atomic>
#include <thread>

#include "tests/support/host_fixture.h"

namespace duractor {
namespace {

using namespace std::chrono_literals;
using testing::eventually;

const Activity<int, int> Triple{"Triple"};
const Orchestration<int, int> Passive{"Passive", 1};

}  // namespace

TEST_SUITE("runtime: passivation") {
  TEST_CASE("10,000 instances through a cap of 100 live actors, all correct") {
    constexpr int kInstances = 10'000;
    constexpr std::size_t kCap = 100;
    testing::TempDir dir;
    Registry registry;
    registry.add(Triple, [](ActivityContext&, int x) { return 3 * x; });
    registry.add(Passive, [](OrchestrationContext& ctx, int n) -> Task<int> {
      int tripled = co_await ctx.call(Triple, n);
      int bonus = co_await ctx.wait_event<int>("go");
      co_return tripled + bonus;
    });
    auto options = testing::test_host_options(dir.sub("store"));
    options.max_live_instances = kCap;
    options.passivate_after = 2s;  // the cap, not the idle time, makes room here
    auto host = testing::start_host(registry, options);
    auto client = host->client();

    std::atomic<bool> done{false};
    std::atomic<std::size_t> max_live{0};
    std::thread sampler([&] {
      while (!done) {
        auto live = host->live_instances();
        if (live > max_live) max_live = live;
        std::this_thread::sleep_for(5ms);
      }
    });

    for (int i = 0; i < kInstances; ++i) {
      REQUIRE(client.start(Passive, "p-" + std::to_string(i), i));
    }
    // Every instance gets to its event wait (its activity result recorded).
    REQUIRE(eventually(
        [&] {
          auto waiting = host->store().stats();
          return waiting && waiting->work_items == 0 && waiting->inbox_messages == 0 &&
                 host->queued_activities() == 0;
        },
        120s));
    for (int i = 0; i < kInstances; ++i) {
      REQUIRE(client.raise("p-" + std::to_string(i), "go", 1));
    }
    int correct = 0;
    for (int i = 0; i < kInstances; ++i) {
      auto out = Passive.wait(client, "p-" + std::to_string(i), 120s);
      REQUIRE_MESSAGE(out, (out ? "" : out.error().to_string()));
      correct += *out == 3 * i + 1 ? 1 : 0;
    }
    done = true;
    sampler.join();
    CHECK(correct == kInstances);
    MESSAGE("largest number of live instance actors seen: " << max_live.load());
    CHECK(max_live <= kCap);
    CHECK(max_live > 0);
  }
}

}  // namespace duractor
