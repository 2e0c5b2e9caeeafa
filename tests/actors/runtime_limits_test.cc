// The orchestration API end to end through the real runtime (actors, activity workers, timer
// service) on a real LMDB directory: payload and history limits, and versions of orchestrations.

#include <doctest/doctest.h>

#include "tests/support/runtime_fixture.h"

namespace duractor {

using namespace std::chrono_literals;
using namespace testing::runtime_fixture;
using testing::eventually;
using testing::start_host;
using testing::TempDir;
using testing::test_host_options;

TEST_SUITE("runtime: limits and versions") {
  TEST_CASE("payloads over the limit are refused at the client and fail the instance at commit") {
    TempDir dir;
    Registry r;
    add_common(r);
    r.add(Orchestration<int, std::string>{"Big", 1},
          [](OrchestrationContext&, int n) -> Task<std::string> {
            co_return std::string(static_cast<std::size_t>(n), 'x');
          });
    auto options = test_host_options(dir.sub("store"));
    options.max_payload_bytes = 1000;
    auto host = start_host(r, options);
    auto client = host->client();
    auto refused = client.start(Hello, "big-input", std::string(2000, 'a'));
    REQUIRE_FALSE(refused);
    CHECK(refused.error().code == ErrorCode::kLimitExceeded);
    CHECK(refused.error().message.find("over the payload limit of 1000 bytes") !=
          std::string::npos);
    REQUIRE(client.start(Orchestration<int, std::string>{"Big", 1}, "big-output", 5000));
    auto info = client.wait("big-output", 20s);
    REQUIRE(info);
    CHECK(info->status == InstanceStatus::kFailed);
    CHECK(info->failure->category == ErrorCategory::kConfiguration);
    CHECK(info->failure->message.find("the output is") != std::string::npos);
  }

  TEST_CASE(
      "a sub-orchestration input over the limit fails the child start, and the parent can catch "
      "it") {
    TempDir dir;
    Registry r;
    add_common(r);
    const Orchestration<std::string, int> Measure{"Measure", 1};
    const Orchestration<int, std::string> Delegates{"Delegates", 1};
    r.add(Measure, [](OrchestrationContext&, std::string s) -> Task<int> {
      co_return static_cast<int>(s.size());
    });
    r.add(Delegates, [&](OrchestrationContext& ctx, int n) -> Task<std::string> {
      std::string input(static_cast<std::size_t>(n), 'x');
      std::optional<SubOrchestrationFailed> refused;
      try {
        int size = co_await ctx.call(Measure, input, {"measure-child"});
        co_return "started: " + std::to_string(size);
      } catch (const SubOrchestrationFailed& e) {
        refused = e;
      }
      // The parent goes on: here with a smaller input.
      int size = co_await ctx.call(Measure, std::string("small"));
      co_return refused->failure().type + " | " + refused->failure().message + " | then " +
          std::to_string(size);
    });
    auto options = test_host_options(dir.sub("store"));
    options.max_payload_bytes = 1000;
    auto host = start_host(r, options);
    auto client = host->client();
    auto out = Delegates.run(client, "delegates", 5000, 20s);
    REQUIRE_MESSAGE(out, (out ? "" : out.error().to_string()));
    CHECK(*out ==
          "duractor::LimitExceeded | cannot start sub-orchestration 'Measure' (instance "
          "'measure-child'): its input is 5003 bytes, over the payload limit of 1000 bytes "
          "(HostOptions::max_payload_bytes) | then 5");
    CHECK(client.status("measure-child").error().code == ErrorCode::kNotFound);  // never created
  }

  TEST_CASE("an execution past the history limit fails with a clear reason") {
    TempDir dir;
    Registry r;
    add_common(r);
    r.add(Orchestration<int, int>{"Long", 1}, [](OrchestrationContext& ctx, int) -> Task<int> {
      int total = 0;
      for (int i = 0; i < 100; ++i) total += co_await ctx.call(Double, i);
      co_return total;
    });
    auto options = test_host_options(dir.sub("store"));
    options.max_history_events = 20;
    auto host = start_host(r, options);
    auto client = host->client();
    REQUIRE(client.start(Orchestration<int, int>{"Long", 1}, "long", 0));
    auto info = client.wait("long", 20s);
    REQUIRE_MESSAGE(info, (info ? "" : info.error().to_string()));
    CHECK(info->status == InstanceStatus::kFailed);
    CHECK(info->failure->message.find("reached the limit of 20 events") != std::string::npos);
  }

  TEST_CASE("new instances get the latest version while running ones keep theirs") {
    TempDir dir;
    Registry v1;
    add_common(v1);
    const Orchestration<int, std::string> FlowV1{"Flow", 1};
    const Orchestration<int, std::string> FlowV2{"Flow", 2};
    auto flow_v1 = [](OrchestrationContext& ctx, int) -> Task<std::string> {
      co_await ctx.wait_event<int>("go");
      co_return "v1";
    };
    v1.add(FlowV1, flow_v1);
    {
      auto host = start_host(v1, test_host_options(dir.sub("store")));
      REQUIRE(host->client().start(FlowV1, "old", 0));
      REQUIRE(eventually(
          [&] { return host->client().status("old")->status == InstanceStatus::kRunning; }));
    }
    // A deploy adds version 2; the old instance replays with version 1.
    Registry v2;
    add_common(v2);
    v2.add(FlowV1, flow_v1);
    v2.add(FlowV2, [](OrchestrationContext& ctx, int) -> Task<std::string> {
      co_await ctx.wait_event<int>("go");
      co_return "v2";
    });
    auto host = start_host(v2, test_host_options(dir.sub("store")));
    auto client = host->client();
    REQUIRE(client.start("Flow", "new", encode(0)));
    REQUIRE(eventually([&] { return client.status("new")->status == InstanceStatus::kRunning; }));
    CHECK(client.status("new")->version == 2);
    REQUIRE(client.raise("old", "go", 1));
    REQUIRE(client.raise("new", "go", 1));
    CHECK(*client.wait_output<std::string>("old", 20s) == "v1");
    CHECK(*client.wait_output<std::string>("new", 20s) == "v2");
  }
}

}  // namespace duractor
