// The orchestration API end to end through the real runtime (actors, activity workers, timer
// service) on a real LMDB directory: cancel cascading to sub-orchestrations and activities, and
// terminate.

#include <doctest/doctest.h>

#include <atomic>
#include <thread>

#include "tests/support/runtime_fixture.h"

namespace duractor {

using namespace std::chrono_literals;
using namespace testing::runtime_fixture;
using testing::eventually;
using testing::start_host;
using testing::TempDir;
using testing::test_host_options;

TEST_SUITE("runtime: cancellation") {
  TEST_CASE("cancel cascades to sub-orchestrations and to running activities' tokens") {
    std::atomic<bool> activity_saw_cancel{false};
    Runtime rt(nullptr, [&](Registry& r) {
      r.add(Slow, [&](ActivityContext& ctx, int x) {
        for (int i = 0; i < 2000 && !ctx.cancelled(); ++i) std::this_thread::sleep_for(5ms);
        if (ctx.cancelled()) activity_saw_cancel = true;
        return x;
      });
      r.add(Orchestration<int, int>{"SlowChild", 1},
            [](OrchestrationContext& ctx, int x) -> Task<int> {
              co_return co_await ctx.call(Slow, x);
            });
      r.add(Orchestration<int, int>{"Tree", 1}, [](OrchestrationContext& ctx, int x) -> Task<int> {
        co_return co_await ctx.call(Orchestration<int, int>{"SlowChild", 1}, x);
      });
    });
    auto client = rt.client();
    REQUIRE(client.start(Orchestration<int, int>{"Tree", 1}, "tree", 1));
    REQUIRE(eventually([&] { return rt.host->queued_activities() == 1; }));
    REQUIRE(client.cancel("tree", "no longer needed"));
    auto parent = client.wait("tree", 20s);
    REQUIRE(parent);
    CHECK(parent->status == InstanceStatus::kCancelled);
    CHECK(parent->failure->message == "no longer needed");
    auto child = client.wait("tree:1:1", 20s);
    REQUIRE(child);
    CHECK(child->status == InstanceStatus::kCancelled);
    CHECK(eventually([&] { return activity_saw_cancel.load(); }));
  }

  TEST_CASE("terminate ends an instance at once") {
    Runtime rt(nullptr, [](Registry& r) {
      r.add(Orchestration<int, int>{"Forever", 1}, [](OrchestrationContext& ctx, int) -> Task<int> {
        co_await ctx.wait_event<int>("never");
        co_return 0;
      });
    });
    auto client = rt.client();
    REQUIRE(client.start(Orchestration<int, int>{"Forever", 1}, "forever", 0));
    REQUIRE(client.cancel("forever", "stop now", true));
    auto info = client.wait("forever", 20s);
    REQUIRE(info);
    CHECK(info->status == InstanceStatus::kTerminated);
  }
}

}  // namespace duractor
