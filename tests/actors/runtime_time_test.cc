// The orchestration API end to end through the real runtime (actors, activity workers, timer
// service) on a real LMDB directory: durable timers under virtual time, and a deadline racing
// an event. Written on the users' test kit (actors/testing.h), as users' own tests would be.

#include <doctest/doctest.h>

#include "duractor/actors/testing.h"
#include "duractor/duractor.h"

namespace duractor {

using namespace std::chrono_literals;
using testing::TestHost;

TEST_SUITE("runtime: time") {
  TEST_CASE("a 30-day timer completes in milliseconds of test time with a manual clock") {
    Registry registry;
    registry.add(Orchestration<int, int>{"Month", 1},
                 [](OrchestrationContext& ctx, int) -> Task<int> {
                   co_await ctx.sleep(30 * 24h);
                   co_return 30;
                 });
    TestHost t(registry);
    auto client = t.client();
    REQUIRE(client.start(Orchestration<int, int>{"Month", 1}, "month", 0));
    REQUIRE(t.run_until_idle());
    CHECK(t.host().store().next_timer()->has_value());
    CHECK(client.wait("month", 300ms).error().code == ErrorCode::kTimeout);
    REQUIRE(t.advance(30 * 24h));
    auto out = client.wait_output<int>("month", 0ms);
    REQUIRE(out);
    CHECK(*out == 30);
  }

  TEST_CASE("when_any of an event and a deadline: the deadline wins when time passes") {
    Registry registry;
    registry.add(Orchestration<int, std::string>{"Deadline", 1},
                 [](OrchestrationContext& ctx, int) -> Task<std::string> {
                   auto r2 =
                       co_await ctx.when_any(ctx.wait_event<bool>("Approval"), ctx.timer(24h));
                   co_return r2.index() == 0 ? "approved" : "expired";
                 });
    TestHost t(registry);
    auto client = t.client();
    REQUIRE(client.start(Orchestration<int, std::string>{"Deadline", 1}, "late", 0));
    REQUIRE(client.start(Orchestration<int, std::string>{"Deadline", 1}, "early", 0));
    REQUIRE(t.run_until_idle());
    CHECK(t.host().store().stats()->timers == 2);
    REQUIRE(client.raise("early", "Approval", true));
    REQUIRE(t.run_until_idle());
    CHECK(*client.wait_output<std::string>("early", 0ms) == "approved");
    REQUIRE(t.advance(25h));
    CHECK(*client.wait_output<std::string>("late", 0ms) == "expired");
  }
}

}  // namespace duractor
