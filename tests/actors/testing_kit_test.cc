// duractor::testing (actors/testing.h), the kit users test their workflows with: a real
// host on a temporary store with a virtual clock, run_until_idle and advance, and a
// history as (kind, name) steps.

#include "duractor/actors/testing.h"

#include <doctest/doctest.h>

#include <atomic>
#include <filesystem>
#include <thread>

#include "duractor/duractor.h"

namespace duractor {

using namespace std::chrono_literals;
using testing::Step;
using testing::TestHost;
using testing::TestHostOptions;

namespace {

const Activity<std::string, std::string> Notify{"kit.Notify"};
const Activity<int, int> Flaky{"kit.Flaky"};
const Activity<int, int> Stuck{"kit.Stuck"};
const Activity<int, int> Gated{"kit.Gated"};
const Orchestration<std::string, std::string> Approval{"kit.Approval", 1};
const Orchestration<int, int> Retried{"kit.Retried", 1};
const Orchestration<int, int> Blocked{"kit.Blocked", 1};
const Orchestration<int, int> Gating{"kit.Gating", 1};

std::atomic<int> flaky_calls{0};
std::atomic<bool> gate_open{false};

// The approval flow of the guide: a decision raced against a 30-day deadline.
Registry kit_registry() {
  Registry r;
  r.add(Notify, [](ActivityContext&, std::string who) { return "notified " + who; });
  r.add(Flaky, [](ActivityContext& ctx, int x) {
    ++flaky_calls;
    if (ctx.attempt() < 3) throw std::runtime_error("not yet");
    return x + 1;
  });
  r.add(Stuck, [](ActivityContext&, int x) {
    std::this_thread::sleep_for(1500ms);
    return x;
  });
  r.add(Gated, [](ActivityContext&, int x) {
    while (!gate_open) std::this_thread::sleep_for(1ms);
    return x * 2;
  });
  r.add(Gating, [](OrchestrationContext& ctx, int x) -> Task<int> {
    co_return co_await ctx.call(Gated, x);
  });
  r.add(Approval, [](OrchestrationContext& ctx, std::string claim) -> Task<std::string> {
    co_await ctx.call(Notify, std::string("approver of ") + claim);
    auto decision =
        co_await ctx.when_any(ctx.wait_event<std::string>("decision"), ctx.timer(30 * 24h));
    if (decision.index() == 0) co_return "decided: " + decision.get<0>();
    co_await ctx.call(Notify, std::string("escalation of ") + claim);
    co_return "escalated";
  });
  r.add(Retried, [](OrchestrationContext& ctx, int x) -> Task<int> {
    co_return co_await ctx.call(Flaky, x, RetryPolicy::fixed(3, 1h));
  });
  r.add(Blocked, [](OrchestrationContext& ctx, int x) -> Task<int> {
    co_return co_await ctx.call(Stuck, x);
  });
  return r;
}

}  // namespace

TEST_SUITE("testing kit") {
  TEST_CASE("a 30-day deadline passes with advance, and the history reads as steps") {
    auto registry = kit_registry();
    TestHost t(registry);
    auto client = t.client();
    REQUIRE(client.start(Approval, "claim-1", "claim-1"));
    REQUIRE(client.start(Approval, "claim-2", "claim-2"));
    REQUIRE(t.run_until_idle());
    // Idle: both wait for a decision or the deadline; neither has finished.
    CHECK(client.status("claim-1")->status == InstanceStatus::kRunning);
    REQUIRE(client.raise("claim-2", "decision", std::string("approved")));
    REQUIRE(t.run_until_idle());
    CHECK(*client.wait_output<std::string>("claim-2", 0ms) == "decided: approved");

    auto start = t.now();
    REQUIRE(t.advance(30 * 24h - 1ms));
    CHECK(client.status("claim-1")->status == InstanceStatus::kRunning);
    REQUIRE(t.advance(1ms));
    CHECK(t.now() - start == 30 * 24h);
    CHECK(*client.wait_output<std::string>("claim-1", 0ms) == "escalated");
    CHECK(t.steps("claim-1") == std::vector<Step>{
                                    {"ExecutionStarted", "kit.Approval"},
                                    {"ActivityScheduled", "kit.Notify"},
                                    {"ActivityCompleted", "kit.Notify"},
                                    {"TimerCreated", ""},
                                    {"TimerFired", ""},
                                    {"ActivityScheduled", "kit.Notify"},
                                    {"ActivityCompleted", "kit.Notify"},
                                    {"ExecutionCompleted", ""},
                                });
    CHECK(t.steps("claim-2")[4] == Step{"EventRaised", "decision"});
  }

  TEST_CASE("retries waiting on durable backoff run when the virtual clock passes them") {
    flaky_calls = 0;
    auto registry = kit_registry();
    TestHost t(registry);
    auto client = t.client();
    REQUIRE(client.start(Retried, "r", 41));
    REQUIRE(t.run_until_idle());
    CHECK(flaky_calls == 1);  // the second attempt waits an hour
    REQUIRE(t.advance(1h));
    CHECK(flaky_calls == 2);
    REQUIRE(t.advance(1h));
    CHECK(flaky_calls == 3);
    CHECK(*client.wait_output<int>("r", 0ms) == 42);
  }

  TEST_CASE("a paused instance is idle, and its resume is runnable work") {
    auto registry = kit_registry();
    TestHost t(registry);
    auto client = t.client();
    REQUIRE(client.start(Approval, "p", "p"));
    REQUIRE(t.run_until_idle());
    REQUIRE(client.pause("p", "investigating"));
    REQUIRE(client.raise("p", "decision", std::string("approved")));
    REQUIRE(t.run_until_idle());  // the event waits in the paused instance's inbox
    CHECK(client.status("p")->status == InstanceStatus::kPaused);
    REQUIRE(client.resume("p"));
    REQUIRE(t.run_until_idle());
    CHECK(*client.wait_output<std::string>("p", 0ms) == "decided: approved");
  }

  TEST_CASE("an activity result that arrives while its instance is paused is held, not runnable") {
    gate_open = false;
    auto registry = kit_registry();
    TestHostOptions options;
    options.idle_timeout = 3s;
    TestHost t(registry, options);
    auto client = t.client();
    REQUIRE(client.start(Gating, "g", 21));
    for (int i = 0; i < 2000 && t.host().queued_activities() == 0; ++i) {
      std::this_thread::sleep_for(1ms);
    }
    REQUIRE(t.host().queued_activities() == 1);  // the activity runs, held at its gate
    REQUIRE(client.pause("g"));
    for (int i = 0; i < 2000 && client.status("g")->status != InstanceStatus::kPaused; ++i) {
      std::this_thread::sleep_for(1ms);
    }
    REQUIRE(client.status("g")->status == InstanceStatus::kPaused);
    gate_open = true;  // the activity finishes while the instance is paused
    REQUIRE(t.run_until_idle());
    CHECK(t.host().queued_activities() == 0);
    CHECK(client.status("g")->status == InstanceStatus::kPaused);
    REQUIRE(client.resume("g"));
    REQUIRE(t.run_until_idle());
    CHECK(*client.wait_output<int>("g", 0ms) == 42);
  }

  TEST_CASE("run_until_idle names what is still busy when it gives up, and bad input is refused") {
    auto registry = kit_registry();
    TestHostOptions options;
    options.idle_timeout = 300ms;
    TestHost t(registry, options);
    auto client = t.client();
    REQUIRE(client.start(Blocked, "b", 1));
    auto idle = t.run_until_idle();
    REQUIRE_FALSE(idle);
    CHECK(idle.error().code == ErrorCode::kTimeout);
    CHECK(idle.error().message.find("still not idle after 300 ms") != std::string::npos);
    CHECK(idle.error().message.find("activities queued or running") != std::string::npos);
    auto back = t.advance(-1ms);
    REQUIRE_FALSE(back);
    CHECK(back.error().code == ErrorCode::kInvalidArgument);
    CHECK_THROWS_WITH_AS(t.steps("no-such-instance"),
                         doctest::Contains("the history of 'no-such-instance'"),
                         std::runtime_error);
  }

  TEST_CASE("the temporary store goes with the TestHost") {
    auto registry = kit_registry();
    std::string path;
    {
      TestHost t(registry);
      path = t.store_path();
      CHECK(std::filesystem::exists(path));
    }
    CHECK_FALSE(std::filesystem::exists(path));
  }
}

}  // namespace duractor
