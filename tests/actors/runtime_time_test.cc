// The orchestration API end to end through the real runtime (actors, activity workers, timer
// service) on a real LMDB directory: durable timers under a manual clock, and a deadline racing an
// event.

#include <doctest/doctest.h>

#include "tests/support/runtime_fixture.h"

namespace duractor {

using namespace std::chrono_literals;
using namespace testing::runtime_fixture;
using testing::eventually;
using testing::start_host;
using testing::TempDir;
using testing::test_host_options;

TEST_SUITE("runtime: time") {
  TEST_CASE("a 30-day timer completes in milliseconds of test time with a manual clock") {
    ManualClock clock;
    Runtime rt(&clock, [](Registry& r) {
      r.add(Orchestration<int, int>{"Month", 1}, [](OrchestrationContext& ctx, int) -> Task<int> {
        co_await ctx.sleep(30 * 24h);
        co_return 30;
      });
    });
    auto client = rt.client();
    REQUIRE(client.start(Orchestration<int, int>{"Month", 1}, "month", 0));
    REQUIRE(eventually([&] { return rt.host->store().next_timer()->has_value(); }));
    CHECK(client.wait("month", 300ms).error().code == ErrorCode::kTimeout);
    clock.advance(30 * 24h);
    rt.host->poke_timers();
    auto out = client.wait_output<int>("month", 20s);
    REQUIRE(out);
    CHECK(*out == 30);
  }

  TEST_CASE("when_any of an event and a deadline: the deadline wins when time passes") {
    ManualClock clock;
    Runtime rt(&clock, [](Registry& r) {
      r.add(Orchestration<int, std::string>{"Deadline", 1},
            [](OrchestrationContext& ctx, int) -> Task<std::string> {
              auto r2 = co_await ctx.when_any(ctx.wait_event<bool>("Approval"), ctx.timer(24h));
              co_return r2.index() == 0 ? "approved" : "expired";
            });
    });
    auto client = rt.client();
    REQUIRE(client.start(Orchestration<int, std::string>{"Deadline", 1}, "late", 0));
    REQUIRE(client.start(Orchestration<int, std::string>{"Deadline", 1}, "early", 0));
    REQUIRE(eventually([&] { return rt.host->store().stats()->timers == 2; }));
    REQUIRE(client.raise("early", "Approval", true));
    CHECK(*client.wait_output<std::string>("early", 20s) == "approved");
    clock.advance(25h);
    rt.host->poke_timers();
    CHECK(*client.wait_output<std::string>("late", 20s) == "expired");
  }
}

}  // namespace duractor
