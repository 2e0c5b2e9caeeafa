// The orchestration API end to end through the real runtime (actors, activity workers, timer
// service) on a real LMDB directory: the everyday capabilities: activities, fan-out and fan-in,
// retries, sub-orchestrations, detached orchestrations, external events and continue-as-new.

#include <doctest/doctest.h>

#include "tests/support/runtime_fixture.h"

namespace duractor {

using namespace std::chrono_literals;
using namespace testing::runtime_fixture;
using testing::eventually;
using testing::start_host;
using testing::TempDir;
using testing::test_host_options;

TEST_SUITE("runtime: basics") {
  TEST_CASE("a hello orchestration runs to completion with its output and custom status") {
    Runtime rt;
    auto client = rt.client();
    auto out = Hello.run(client, "hello-1", "ada", 20s);
    REQUIRE_MESSAGE(out, (out ? "" : out.error().to_string()));
    CHECK(*out == "Hello, ada");
    auto info = client.status("hello-1");
    REQUIRE(info);
    CHECK(info->status == InstanceStatus::kCompleted);
    CHECK(info->custom_status == "greeting ada");
    CHECK(info->name == "Hello");
    auto history = client.history("hello-1");
    REQUIRE(history);
    CHECK(history->front().kind() == EventKind::kExecutionStarted);
    CHECK(history->back().kind() == EventKind::kExecutionCompleted);
  }

  TEST_CASE("fan-out and fan-in of activities") {
    Runtime rt;
    auto client = rt.client();
    auto out = FanOut.run(client, "fan-1", 50, 20s);
    REQUIRE(out);
    CHECK(*out == 2 * (49 * 50 / 2));
  }

  TEST_CASE("retries with durable backoff until the activity succeeds") {
    Registry extra;
    Runtime rt(nullptr, [](Registry& r) {
      r.add(Orchestration<int, int>{"Retrying", 1},
            [](OrchestrationContext& ctx, int x) -> Task<int> {
              co_return co_await ctx.call(Flaky, x, RetryPolicy::fixed(5, 10ms));
            });
    });
    flaky_calls = 0;
    auto client = rt.client();
    auto out = Orchestration<int, int>{"Retrying", 1}.run(client, "retry-1", 1, 20s);
    REQUIRE_MESSAGE(out, (out ? "" : out.error().to_string()));
    CHECK(*out == 101);
    CHECK(flaky_calls == 3);
  }

  TEST_CASE("sub-orchestrations report back to their parent") {
    Runtime rt;
    auto client = rt.client();
    auto out = Parent.run(client, "parent-1", 10, 20s);
    REQUIRE_MESSAGE(out, (out ? "" : out.error().to_string()));
    CHECK(*out == (21 + 23));
    auto child = client.status("parent-1:1:1");
    REQUIRE(child);
    CHECK(child->status == InstanceStatus::kCompleted);
    REQUIRE(child->parent.has_value());
    CHECK(child->parent->instance == "parent-1");
    CHECK(client.status("explicit-child")->status == InstanceStatus::kCompleted);
  }

  TEST_CASE("a detached orchestration runs on its own") {
    Runtime rt(nullptr, [](Registry& r) {
      r.add(Orchestration<int, std::string>{"Launcher", 1},
            [](OrchestrationContext& ctx, int x) -> Task<std::string> {
              co_return ctx.start_detached(Child, x);
            });
    });
    auto client = rt.client();
    auto id = Orchestration<int, std::string>{"Launcher", 1}.run(client, "launcher", 5, 20s);
    REQUIRE(id);
    auto child = client.wait(*id, 20s);
    REQUIRE(child);
    CHECK(child->status == InstanceStatus::kCompleted);
    CHECK(*decode<int>(child->output) == 11);
    CHECK_FALSE(child->parent.has_value());
  }

  TEST_CASE("external events resume a waiting orchestration") {
    Runtime rt(nullptr, [](Registry& r) {
      r.add(Orchestration<int, std::string>{"Approval", 1},
            [](OrchestrationContext& ctx, int) -> Task<std::string> {
              auto who = co_await ctx.wait_event<std::string>("Approve");
              co_return "approved by " + who;
            });
    });
    auto client = rt.client();
    REQUIRE(client.start(Orchestration<int, std::string>{"Approval", 1}, "approval-1", 0));
    CHECK(client.wait("approval-1", 200ms).error().code == ErrorCode::kTimeout);
    REQUIRE(client.raise("approval-1", "Approve", std::string("maria")));
    auto out = client.wait_output<std::string>("approval-1", 20s);
    REQUIRE(out);
    CHECK(*out == "approved by maria");
  }

  TEST_CASE("continue-as-new loops keep the instance id and a short history") {
    Runtime rt(nullptr, [](Registry& r) {
      r.add(Orchestration<int, int>{"Loop", 1}, [](OrchestrationContext& ctx, int n) -> Task<int> {
        int v = co_await ctx.call(Double, n);
        if (n < 5) co_await ctx.continue_as_new(n + 1);
        co_return v;
      });
    });
    auto client = rt.client();
    auto out = Orchestration<int, int>{"Loop", 1}.run(client, "loop", 0, 20s);
    REQUIRE_MESSAGE(out, (out ? "" : out.error().to_string()));
    CHECK(*out == 10);
    auto execs = client.executions("loop");
    REQUIRE(execs);
    CHECK(execs->size() == 6);
    CHECK(execs->front().continued_as_new);
    CHECK(client.history("loop")->size() == 4);
  }

  TEST_CASE("with keep_executions, an instance that continues as new keeps only its last ones") {
    Registry registry;
    add_common(registry);
    const Orchestration<int, int> Loop{"Loop", 1};
    registry.add(Loop, [](OrchestrationContext& ctx, int n) -> Task<int> {
      int v = co_await ctx.call(Double, n);
      if (n < 5) co_await ctx.continue_as_new(n + 1);
      co_return v;
    });
    TempDir dir;
    auto options = test_host_options(dir.sub("store"));
    options.keep_executions = 2;
    auto host = start_host(registry, options);
    auto client = host->client();
    auto out = Loop.run(client, "loop", 0, 20s);
    REQUIRE_MESSAGE(out, (out ? "" : out.error().to_string()));
    CHECK(*out == 10);
    // The prune after the last execution's start runs in the background.
    REQUIRE(eventually([&] { return client.executions("loop")->size() == 2; }));
    auto executions = client.executions("loop");
    CHECK(executions->front().execution == 5);
    CHECK(executions->back().execution == 6);
    CHECK(client.history("loop", 4).error().message.find("was pruned") != std::string::npos);
    CHECK(client.history("loop")->size() == 4);
  }
}

}  // namespace duractor
