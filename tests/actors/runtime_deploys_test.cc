// The orchestration API end to end through the real runtime (actors, activity workers, timer
// service) on a real LMDB directory: code changed under a running instance.

#include <doctest/doctest.h>

#include "tests/support/runtime_fixture.h"

namespace duractor {

using namespace std::chrono_literals;
using namespace testing::runtime_fixture;
using testing::eventually;
using testing::start_host;
using testing::TempDir;
using testing::test_host_options;

TEST_SUITE("runtime: deploys") {
  TEST_CASE("code changed under a running instance fails it with the nondeterminism error") {
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
      auto greeting = co_await ctx.call(Greet, std::to_string(x));
      co_return static_cast<int>(greeting.size());
    });
    auto host = start_host(r, test_host_options(dir.sub("store")));
    auto client = host->client();
    REQUIRE(client.raise("changed", "go", 1));
    auto info = client.wait("changed", 20s);
    REQUIRE(info);
    CHECK(info->status == InstanceStatus::kFailed);
    CHECK(info->failure->type == "duractor::Nondeterminism");
    CHECK(info->failure->category == ErrorCategory::kConfiguration);
    CHECK(info->failure->message.find("at event #2") != std::string::npos);
    CHECK(info->failure->message.find("history recorded #2 ActivityScheduled Double") !=
          std::string::npos);
  }
}

}  // namespace duractor
