// The orchestration API end to end through the real runtime (actors, activity workers, timer
// service) on a real LMDB directory: what the client does: idempotent starts, generated ids, clear
// errors, typed waits, listing and removing instances, and a client outliving its host.

#include <doctest/doctest.h>

#include <future>
#include <thread>

#include "tests/support/runtime_fixture.h"

namespace duractor {

using namespace std::chrono_literals;
using namespace testing::runtime_fixture;
using testing::eventually;
using testing::start_host;
using testing::TempDir;
using testing::test_host_options;

TEST_SUITE("runtime: client") {
  TEST_CASE("starting an existing id is idempotent with the same input, an error otherwise") {
    Runtime rt;
    auto client = rt.client();
    REQUIRE(client.start(Hello, "same", "x"));
    auto again = client.start(Hello, "same", "x");
    REQUIRE(again);
    CHECK(*again == "same");
    auto other = client.start(Hello, "same", "y");
    REQUIRE_FALSE(other);
    CHECK(other.error().code == ErrorCode::kAlreadyExists);
    CHECK(other.error().message.find("different input") != std::string::npos);
    CHECK(*Hello.wait(client, "same", 20s) == "Hello, x");
  }

  TEST_CASE("a client that outlives its host gets kShutdown from every call") {
    Runtime rt;
    auto client = rt.client();
    REQUIRE(Hello.run(client, "before", "x", 20s));
    rt.host.reset();  // stopped and destroyed; the client still holds the shared core
    auto shut = [](const Error& e) { return e.code == ErrorCode::kShutdown; };
    CHECK(shut(client.start(Hello, "after", "x").error()));
    CHECK(shut(client.raise("before", "E", 1).error()));
    CHECK(shut(client.publish("topic", 1).error()));
    CHECK(shut(client.cancel("before", "why").error()));
    CHECK(shut(client.status("before").error()));
    CHECK(shut(client.wait("before", 10ms).error()));
    CHECK(shut(client.list({}).error()));
    CHECK(shut(client.history("before").error()));
    CHECK(shut(client.executions("before").error()));
    CHECK(shut(client.remove("before").error()));
  }

  TEST_CASE("a std::string payload is a value to encode: start, raise and publish") {
    // Before Bytes was a type of its own, a std::string given to start, raise_event or
    // publish was taken as encoded bytes, and the orchestration could not decode it.
    static_assert(!std::is_convertible_v<std::string, Bytes>);
    static_assert(!std::is_convertible_v<const char*, Bytes>);
    const Orchestration<std::string, std::string> Echo{"Echo", 1};
    Runtime rt(nullptr, [&](Registry& r) {
      r.add(Echo, [](OrchestrationContext& ctx, std::string input) -> Task<std::string> {
        ctx.subscribe("t");
        ctx.set_custom_status("subscribed");  // committed with the subscription
        auto message = co_await ctx.next_message<std::string>("t");
        auto literal = co_await ctx.next_message<std::string>("t");
        auto event = co_await ctx.wait_event<std::string>("e");
        co_return input + "|" + message + "|" + literal + "|" + event;
      });
    });
    auto client = rt.client();
    REQUIRE(client.start("Echo", "echo", std::string("in")));
    REQUIRE(eventually([&] { return client.status("echo")->custom_status == "subscribed"; }));
    auto receipt = client.publish("t", std::string("m"));
    REQUIRE(receipt);
    CHECK(receipt->delivered == std::vector<InstanceId>{"echo"});
    REQUIRE(client.publish("t", "lit"));
    REQUIRE(client.raise("echo", "e", std::string("x")));
    auto output = client.wait_output<std::string>("echo", 20s);
    REQUIRE(output);
    CHECK(*output == "in|m|lit|x");
    // Bytes are taken as they are: encoded already, not encoded again.
    REQUIRE(client.start("Echo", "echo-bytes", encode(std::string("b"))));
    REQUIRE(eventually([&] { return client.status("echo-bytes")->custom_status == "subscribed"; }));
    REQUIRE(client.publish("t", encode(std::string("m2"))));
    REQUIRE(client.publish("t", encode("lit2")));
    REQUIRE(client.raise_event("echo-bytes", "e", encode(std::string("y"))));
    CHECK(*client.wait_output<std::string>("echo-bytes", 20s) == "b|m2|lit2|y");
  }

  TEST_CASE("a generated id is returned when none is given") {
    Runtime rt;
    auto client = rt.client();
    auto id = client.start(Hello, "", "z");
    REQUIRE(id);
    CHECK(id->size() == 36);
    CHECK(*Hello.wait(client, *id, 20s) == "Hello, z");
  }

  TEST_CASE("unknown orchestrations, unknown instances and finished instances are clear errors") {
    Runtime rt;
    auto client = rt.client();
    auto unknown = client.start("Nope", "n", encode(1));
    REQUIRE_FALSE(unknown);
    CHECK(unknown.error().code == ErrorCode::kNotRegistered);
    CHECK(unknown.error().message == "orchestration 'Nope' is not registered");
    auto missing = client.raise("ghost", "E", 1);
    REQUIRE_FALSE(missing);
    CHECK(missing.error().code == ErrorCode::kNotFound);
    REQUIRE(Hello.run(client, "done", "d", 20s));
    auto late = client.raise("done", "E", 1);
    REQUIRE_FALSE(late);
    CHECK(late.error().code == ErrorCode::kFailedPrecondition);
    CHECK(client.status("ghost").error().code == ErrorCode::kNotFound);
    CHECK(client.wait("ghost", 1s).error().code == ErrorCode::kNotFound);
  }

  TEST_CASE("a failed instance reports its failure through the typed wait") {
    Runtime rt(nullptr, [](Registry& r) {
      r.add(Orchestration<int, int>{"Throws", 1}, [](OrchestrationContext& ctx, int) -> Task<int> {
        co_await ctx.call(Double, 1);
        throw std::invalid_argument("bad order");
      });
    });
    auto client = rt.client();
    auto out = Orchestration<int, int>{"Throws", 1}.run(client, "throws", 0, 20s);
    REQUIRE_FALSE(out);
    CHECK(out.error().code == ErrorCode::kApplicationFailure);
    CHECK(out.error().message == "instance 'throws' failed: std::invalid_argument: bad order");
  }

  TEST_CASE("an unregistered activity fails the call with a configuration error naming it") {
    Runtime rt(nullptr, [](Registry& r) {
      r.add(Orchestration<int, std::string>{"CallsMissing", 1},
            [](OrchestrationContext& ctx, int) -> Task<std::string> {
              try {
                co_await ctx.call_activity<int>("Missing", 1);
              } catch (const ActivityFailed& e) {
                co_return std::string(to_string(e.category())) + ": " + e.failure().message;
              }
              co_return std::string();
            });
    });
    auto client = rt.client();
    auto out = Orchestration<int, std::string>{"CallsMissing", 1}.run(client, "m", 0, 20s);
    REQUIRE(out);
    CHECK(*out == "configuration: activity 'Missing' is not registered");
  }

  TEST_CASE("list filters instances, and remove deletes them with their children") {
    Runtime rt;
    auto client = rt.client();
    REQUIRE(Parent.run(client, "family", 1, 20s));
    REQUIRE(Hello.run(client, "solo", "s", 20s));
    auto parents = client.list(InstanceQuery{.name = "Parent"});
    REQUIRE(parents);
    REQUIRE(parents->instances.size() == 1);
    CHECK(parents->instances[0].id == "family");
    auto children = client.list(InstanceQuery{.parent = "family"});
    CHECK(children->instances.size() == 2);
    auto removed = client.remove("family");
    REQUIRE(removed);
    CHECK(removed->deleted.size() == 3);
    CHECK(client.status("family:1:1").error().code == ErrorCode::kNotFound);
    CHECK(client.status("solo"));
  }

  TEST_CASE("a running instance is deleted only with force, and its actor leaves") {
    Runtime rt(nullptr, [](Registry& r) {
      r.add(Orchestration<int, int>{"Waiting", 1}, [](OrchestrationContext& ctx, int) -> Task<int> {
        co_return co_await ctx.wait_event<int>("go");
      });
    });
    auto client = rt.client();
    REQUIRE(client.start(Orchestration<int, int>{"Waiting", 1}, "w", 0));
    REQUIRE(eventually([&] { return client.status("w")->status == InstanceStatus::kRunning; }));
    auto refused = client.remove("w");
    REQUIRE_FALSE(refused);
    CHECK(refused.error().code == ErrorCode::kFailedPrecondition);
    REQUIRE(client.remove("w", true));
    CHECK(client.status("w").error().code == ErrorCode::kNotFound);
    CHECK(eventually([&] { return rt.host->live_instances() == 0; }));
  }

  TEST_CASE(
      "a wait for a detached child whose parent has not committed yet fails at once by default, "
      "and with until_created waits for it to be created and finish") {
    const Orchestration<int, int> Launcher{"Launcher", 1};
    Runtime rt(nullptr, [&](Registry& r) {
      r.add(Launcher, [](OrchestrationContext& ctx, int x) -> Task<int> {
        co_await ctx.wait_event<int>("go");
        ctx.start_detached(Child, x, {"launched-kid"});
        co_return 0;
      });
    });
    auto client = rt.client();
    REQUIRE(client.start(Launcher, "launcher", 20));
    REQUIRE(
        eventually([&] { return client.status("launcher")->status == InstanceStatus::kRunning; }));
    auto began = std::chrono::steady_clock::now();
    auto at_once = client.wait("launched-kid", 20s);
    REQUIRE_FALSE(at_once);
    CHECK(at_once.error().code == ErrorCode::kNotFound);
    CHECK(std::chrono::steady_clock::now() - began < 5s);

    std::promise<Result<InstanceInfo>> waited;
    std::thread waiter([&] {
      waited.set_value(client.wait("launched-kid", 30s, WaitOptions{.until_created = true}));
    });
    std::this_thread::sleep_for(100ms);  // the wait begins before the child exists
    REQUIRE(client.raise("launcher", "go", 1));
    auto outcome = waited.get_future().get();
    waiter.join();
    REQUIRE_MESSAGE(outcome, (outcome ? "" : outcome.error().to_string()));
    CHECK(outcome->status == InstanceStatus::kCompleted);
    CHECK(*decode<int>(outcome->output) == 41);
    auto typed = client.wait_output<int>("launched-kid", 1s, WaitOptions{.until_created = true});
    REQUIRE(typed);
    CHECK(*typed == 41);
  }

  TEST_CASE("a wait until created times out if the instance never comes, saying so") {
    Runtime rt;
    auto client = rt.client();
    auto outcome = client.wait("never", 200ms, WaitOptions{.until_created = true});
    REQUIRE_FALSE(outcome);
    CHECK(outcome.error().code == ErrorCode::kTimeout);
    CHECK(outcome.error().message ==
          "instance 'never' did not finish within 200 ms (it has not been created)");
  }

  TEST_CASE("the client prunes the old executions of an instance that continues as new") {
    const Orchestration<int, int> Rounds{"Rounds", 1};
    Runtime rt(nullptr, [&](Registry& r) {
      r.add(Rounds, [&](OrchestrationContext& ctx, int n) -> Task<int> {
        co_await ctx.call(Double, n);
        if (n < 4) co_await ctx.continue_as_new(n + 1);
        co_return co_await ctx.wait_event<int>("stop");
      });
    });
    auto client = rt.client();
    REQUIRE(client.start(Rounds, "rounds", 0));
    REQUIRE(eventually([&] {
      auto h = client.history("rounds");
      return client.status("rounds")->execution == 5 && h && h->size() >= 3;
    }));
    auto pruned = client.prune("rounds", 2);  // while it runs
    REQUIRE_MESSAGE(pruned, (pruned ? "" : pruned.error().to_string()));
    CHECK(pruned->executions == 3);
    CHECK(pruned->oldest_kept == 4);
    auto executions = client.executions("rounds");
    REQUIRE(executions);
    REQUIRE(executions->size() == 2);
    CHECK(executions->front().execution == 4);
    CHECK(client.history("rounds", 1).error().message.find("was pruned") != std::string::npos);
    REQUIRE(client.raise("rounds", "stop", 7));
    auto out = client.wait_output<int>("rounds", 20s);
    REQUIRE_MESSAGE(out, (out ? "" : out.error().to_string()));
    CHECK(*out == 7);
    CHECK(client.prune("rounds", 0).error().code == ErrorCode::kInvalidArgument);
    CHECK(client.prune("ghost", 1).error().code == ErrorCode::kNotFound);
  }

  TEST_CASE("a wait on an instance deleted while it waits ends with kNotFound, not a timeout") {
    const Orchestration<int, int> Waiting{"Waiting", 1};
    Runtime rt(nullptr, [&](Registry& r) {
      r.add(Waiting, [](OrchestrationContext& ctx, int) -> Task<int> {
        co_return co_await ctx.wait_event<int>("go");
      });
    });
    auto client = rt.client();
    REQUIRE(client.start(Waiting, "doomed", 0));
    REQUIRE(
        eventually([&] { return client.status("doomed")->status == InstanceStatus::kRunning; }));
    std::promise<Result<InstanceInfo>> waited;
    auto began = std::chrono::steady_clock::now();
    std::thread waiter([&] { waited.set_value(client.wait("doomed", 60s)); });
    std::this_thread::sleep_for(50ms);  // let the wait begin
    REQUIRE(client.remove("doomed", true));
    auto outcome = waited.get_future().get();
    waiter.join();
    REQUIRE_FALSE(outcome);
    CHECK(outcome.error().code == ErrorCode::kNotFound);
    CHECK(outcome.error().message == "no instance 'doomed'");
    CHECK(std::chrono::steady_clock::now() - began < 20s);
  }
}

}  // namespace duractor
