// The orchestration API end to end through the real runtime (actors, activity workers,
// timer service) on a real LMDB directory: every capability, through the client.

#include <doctest/doctest.h>

#include <atomic>
#include <future>
#include <thread>
#include <mutex>
#include <set>

#include "duractor/actors/client.h"
#include "duractor/actors/host.h"
#include "duractor/store/lmdb_store.h"
#include "tests/support/host_fixture.h"

namespace duractor {
namespace {

using namespace std::chrono_literals;
using testing::eventually;
using testing::start_host;
using testing::TempDir;
using testing::test_host_options;

const Activity<std::string, std::string> Greet{"Greet"};
const Activity<int, int> Double{"Double"};
const Activity<int, int> Flaky{"Flaky"};
const Activity<int, int> Slow{"Slow"};
const Orchestration<std::string, std::string> Hello{"Hello", 1};
const Orchestration<int, int> FanOut{"FanOut", 1};
const Orchestration<int, int> Child{"Child", 1};
const Orchestration<int, int> Parent{"Parent", 1};

std::atomic<int> flaky_calls{0};

// Fails the next `left` commits of history with `code` and `message`, then lets them pass.
FaultInjector failing_history_commits(std::atomic<int>& left, ErrorCode code, std::string message) {
  return [&left, code, message](std::string_view step) -> Status {
    if (step == "commit_turn.history" && left > 0) {
      --left;
      return fail(code, message);
    }
    return {};
  };
}

void add_common(Registry& r) {
  r.add(Greet, [](ActivityContext&, std::string name) { return "Hello, " + name; });
  r.add(Double, [](ActivityContext&, int x) { return 2 * x; });
  r.add(Flaky, [](ActivityContext& ctx, int x) {
    ++flaky_calls;
    if (ctx.attempt() < 3) throw std::runtime_error("not yet (attempt " + std::to_string(ctx.attempt()) + ")");
    return x + 100;
  });
  r.add(Hello, [](OrchestrationContext& ctx, std::string name) -> Task<std::string> {
    ctx.set_custom_status("greeting " + name);
    co_return co_await ctx.call(Greet, name);
  });
  r.add(FanOut, [](OrchestrationContext& ctx, int n) -> Task<int> {
    std::vector<DurableFuture<int>> calls;
    for (int i = 0; i < n; ++i) calls.push_back(ctx.call(Double, i));
    int sum = 0;
    for (int v : co_await ctx.when_all(std::move(calls))) sum += v;
    co_return sum;
  });
  r.add(Child, [](OrchestrationContext& ctx, int x) -> Task<int> {
    co_return co_await ctx.call(Double, x) + 1;
  });
  r.add(Parent, [](OrchestrationContext& ctx, int x) -> Task<int> {
    int a = co_await ctx.call(Child, x);
    int b = co_await ctx.call(Child, x + 1, {"explicit-child"});
    co_return a + b;
  });
}

struct Runtime {
  explicit Runtime(const Clock* clock = nullptr, std::function<void(Registry&)> extra = {}) {
    add_common(registry);
    if (extra) extra(registry);
    host = start_host(registry, test_host_options(dir.sub("store"), clock));
  }
  TempDir dir;
  Registry registry;
  std::unique_ptr<Host> host;
  Client client() { return host->client(); }
};

}  // namespace

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
      r.add(Orchestration<int, int>{"Retrying", 1}, [](OrchestrationContext& ctx, int x) -> Task<int> {
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
      r.add(Orchestration<int, std::string>{"Launcher", 1}, [](OrchestrationContext& ctx, int x) -> Task<std::string> {
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
      r.add(Orchestration<int, std::string>{"Approval", 1}, [](OrchestrationContext& ctx, int) -> Task<std::string> {
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
}

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
      r.add(Orchestration<int, std::string>{"Deadline", 1}, [](OrchestrationContext& ctx, int) -> Task<std::string> {
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

TEST_SUITE("runtime: cancellation") {
  TEST_CASE("cancel cascades to sub-orchestrations and to running activities' tokens") {
    std::atomic<bool> activity_saw_cancel{false};
    Runtime rt(nullptr, [&](Registry& r) {
      r.add(Slow, [&](ActivityContext& ctx, int x) {
        for (int i = 0; i < 2000 && !ctx.cancelled(); ++i) std::this_thread::sleep_for(5ms);
        if (ctx.cancelled()) activity_saw_cancel = true;
        return x;
      });
      r.add(Orchestration<int, int>{"SlowChild", 1}, [](OrchestrationContext& ctx, int x) -> Task<int> {
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
    CHECK(info->status == InstanceStatus::kCancelled);
  }
}

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
      r.add(Orchestration<int, std::string>{"CallsMissing", 1}, [](OrchestrationContext& ctx, int) -> Task<std::string> {
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

  TEST_CASE("a wait on an instance deleted while it waits ends with kNotFound, not a timeout") {
    const Orchestration<int, int> Waiting{"Waiting", 1};
    Runtime rt(nullptr, [&](Registry& r) {
      r.add(Waiting, [](OrchestrationContext& ctx, int) -> Task<int> {
        co_return co_await ctx.wait_event<int>("go");
      });
    });
    auto client = rt.client();
    REQUIRE(client.start(Waiting, "doomed", 0));
    REQUIRE(eventually([&] { return client.status("doomed")->status == InstanceStatus::kRunning; }));
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

TEST_SUITE("runtime: limits and versions") {
  TEST_CASE("payloads over the limit are refused at the client and fail the instance at commit") {
    TempDir dir;
    Registry r;
    add_common(r);
    r.add(Orchestration<int, std::string>{"Big", 1}, [](OrchestrationContext&, int n) -> Task<std::string> {
      co_return std::string(static_cast<std::size_t>(n), 'x');
    });
    auto options = test_host_options(dir.sub("store"));
    options.max_payload_bytes = 1000;
    auto host = start_host(r, options);
    auto client = host->client();
    auto refused = client.start(Hello, "big-input", std::string(2000, 'a'));
    REQUIRE_FALSE(refused);
    CHECK(refused.error().code == ErrorCode::kLimitExceeded);
    CHECK(refused.error().message.find("over the payload limit of 1000 bytes") != std::string::npos);
    REQUIRE(client.start(Orchestration<int, std::string>{"Big", 1}, "big-output", 5000));
    auto info = client.wait("big-output", 20s);
    REQUIRE(info);
    CHECK(info->status == InstanceStatus::kFailed);
    CHECK(info->failure->category == ErrorCategory::kConfiguration);
    CHECK(info->failure->message.find("the output is") != std::string::npos);
  }

  TEST_CASE("a sub-orchestration input over the limit fails the child start, and the parent can catch it") {
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
      REQUIRE(eventually([&] { return host->client().status("old")->status == InstanceStatus::kRunning; }));
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

TEST_SUITE("runtime: failures of the runtime") {
  TEST_CASE("an activity that runs past the timeout is cancelled and fails with ActivityTimedOut") {
    TempDir dir;
    Registry r;
    add_common(r);
    std::atomic<bool> token_seen{false};
    r.add(Slow, [&](ActivityContext& ctx, int x) {
      for (int i = 0; i < 400 && !ctx.cancelled(); ++i) std::this_thread::sleep_for(5ms);
      token_seen = ctx.cancelled();
      return x;
    });
    r.add(Orchestration<int, std::string>{"Patient", 1}, [](OrchestrationContext& ctx, int) -> Task<std::string> {
      try {
        co_await ctx.call(Slow, 1);
      } catch (const ActivityFailed& e) {
        co_return e.failure().type;
      }
      co_return std::string("finished?");
    });
    auto options = test_host_options(dir.sub("store"));
    options.activity_timeout = 100ms;
    auto host = start_host(r, options);
    auto client = host->client();
    auto out = Orchestration<int, std::string>{"Patient", 1}.run(client, "patient", 0, 20s);
    REQUIRE(out);
    CHECK(*out == "duractor::ActivityTimedOut");
    CHECK(eventually([&] { return token_seen.load(); }));
  }

  TEST_CASE("a turn whose commit fails is retried with backoff and then succeeds") {
    TempDir dir;
    Registry r;
    add_common(r);
    std::atomic<int> failures_left{3};
    auto options = test_host_options(dir.sub("store"));
    options.lmdb.fault_injector =
        failing_history_commits(failures_left, ErrorCode::kIo, "injected I/O error");
    auto host = start_host(r, options);
    auto client = host->client();
    auto out = Hello.run(client, "bumpy", "b", 20s);
    REQUIRE_MESSAGE(out, (out ? "" : out.error().to_string()));
    CHECK(*out == "Hello, b");
    CHECK(failures_left == 0);
  }

  TEST_CASE("a turn that keeps failing fails the instance with the reason after max attempts") {
    TempDir dir;
    Registry r;
    add_common(r);
    auto options = test_host_options(dir.sub("store"));
    options.max_turn_attempts = 3;
    std::atomic<int> failures_left{3};  // exactly the allowed attempts; then the failure commits
    options.lmdb.fault_injector =
        failing_history_commits(failures_left, ErrorCode::kConflict, "disk on fire");
    auto host = start_host(r, options);
    auto client = host->client();
    REQUIRE(client.start(Hello, "doomed", "d"));
    auto info = client.wait("doomed", 20s);
    REQUIRE(info);
    CHECK(info->status == InstanceStatus::kFailed);
    CHECK(info->failure->category == ErrorCategory::kInfrastructure);
    CHECK(info->failure->type == "duractor::TurnFailed");
    CHECK(info->failure->message.find("disk on fire") != std::string::npos);
  }

  TEST_CASE("a turn the store cannot take for now waits for it beyond max attempts, and the instance completes") {
    for (auto code : {ErrorCode::kStoreFull, ErrorCode::kIo}) {
      CAPTURE(to_string(code));
      TempDir dir;
      Registry r;
      add_common(r);
      auto options = test_host_options(dir.sub("store"));
      options.max_turn_attempts = 2;
      options.turn_retry_backoff = 1ms;
      std::atomic<int> failures_left{8};  // four times the attempts a conflict would get
      options.lmdb.fault_injector = failing_history_commits(failures_left, code, "no room for now");
      auto host = start_host(r, options);
      auto client = host->client();
      auto out = Hello.run(client, "patient", "p", 30s);
      REQUIRE_MESSAGE(out, (out ? "" : out.error().to_string()));
      CHECK(*out == "Hello, p");
      CHECK(failures_left == 0);
    }
  }

  TEST_CASE("a turn failure that retrying cannot fix fails the instance at once with its cause") {
    TempDir dir;
    Registry r;
    add_common(r);
    auto options = test_host_options(dir.sub("store"));
    options.max_turn_attempts = 5;
    std::atomic<int> injected{0};
    options.lmdb.fault_injector = [&](std::string_view step) -> Status {
      if (step == "commit_turn.history" && injected == 0) {
        ++injected;
        return fail(ErrorCode::kCorrupt, "injected: a page of the history table is damaged");
      }
      return {};
    };
    auto host = start_host(r, options);
    auto client = host->client();
    REQUIRE(client.start(Hello, "broken", "b"));
    auto info = client.wait("broken", 20s);
    REQUIRE(info);
    CHECK(info->status == InstanceStatus::kFailed);  // not retried into success
    REQUIRE(info->failure);
    CHECK(info->failure->type == "duractor::TurnFailed");
    CHECK(info->failure->category == ErrorCategory::kInfrastructure);
    CHECK(info->failure->message ==
          "a turn failed and cannot succeed by retrying: corrupt: injected: a page of the history "
          "table is damaged");
    CHECK(injected == 1);
    auto history = client.history("broken");
    REQUIRE(history);
    CHECK(history->back().kind() == EventKind::kExecutionFailed);
  }

  TEST_CASE("an instance whose history the engine cannot replay fails durably instead of staying running") {
    TempDir dir;
    auto path = dir.sub("store");
    {
      // A history that breaks the engine's rules: #2 completes an operation never scheduled.
      LmdbOptions store_options;
      store_options.path = path;
      store_options.sync = false;
      auto store = LmdbStore::open(store_options);
      REQUIRE(store);
      REQUIRE((*store)->create_instance(NewInstance{"mangled", "Hello", 1, encode(std::string("m"))}));
      auto inbox = (*store)->read_inbox("mangled");
      REQUIRE(inbox);
      auto lock = (*store)->lock_instance("mangled", 10s);
      REQUIRE(lock);
      TurnCommit turn;
      turn.lock = *lock;
      turn.execution = 1;
      auto now = SystemClock::instance().now();
      turn.events.push_back(HistoryEvent{1, now, event::ExecutionStarted{"Hello", 1, encode(std::string("m")), std::nullopt, {}}});
      turn.events.push_back(HistoryEvent{2, now, event::ActivityCompleted{7, encode(std::string("?"))}});
      turn.consumed.push_back(inbox->front().seq);
      turn.update.status = InstanceStatus::kRunning;
      turn.update.name = "Hello";
      turn.update.version = 1;
      REQUIRE((*store)->commit_turn(turn));
    }
    Registry r;
    add_common(r);
    auto options = test_host_options(path);
    options.max_turn_attempts = 3;
    auto host = start_host(r, options);
    auto client = host->client();
    REQUIRE(client.raise("mangled", "Poke", 1));  // wakes it: the load fails
    auto info = client.wait("mangled", 20s);
    REQUIRE(info);
    CHECK(info->status == InstanceStatus::kFailed);
    REQUIRE(info->failure);
    CHECK(info->failure->type == "duractor::TurnFailed");
    CHECK(info->failure->message.find("is corrupt at event #2") != std::string::npos);
    auto history = client.history("mangled");
    REQUIRE(history);
    REQUIRE(history->size() == 3);
    CHECK(history->back().kind() == EventKind::kExecutionFailed);
  }

  TEST_CASE("an instance whose history cannot be read is failed from its metadata, and its parent hears of it") {
    TempDir dir;
    Registry r;
    add_common(r);
    const Orchestration<int, int> Sleepy{"Sleepy", 1};
    const Orchestration<int, std::string> Delegator{"Delegator", 1};
    r.add(Sleepy, [](OrchestrationContext& ctx, int) -> Task<int> { co_return co_await ctx.wait_event<int>("go"); });
    r.add(Delegator, [&](OrchestrationContext& ctx, int) -> Task<std::string> {
      std::optional<SubOrchestrationFailed> failed;
      try {
        co_return std::to_string(co_await ctx.call(Sleepy, 0, {"sleepy-child"}));
      } catch (const SubOrchestrationFailed& e) {
        failed = e;
      }
      co_return failed->failure().type + ": " + failed->failure().message;
    });
    auto options = test_host_options(dir.sub("store"));
    options.passivate_after = 20ms;
    std::atomic<bool> unreadable{false};
    options.lmdb.fault_injector = [&](std::string_view step) -> Status {
      if (unreadable && step == "read_latest_history:sleepy-child") {
        return fail(ErrorCode::kCorrupt, "injected: history record 3 does not decode");
      }
      return {};
    };
    auto host = start_host(r, options);
    auto client = host->client();
    REQUIRE(client.start(Delegator, "delegator", 0));
    REQUIRE(eventually([&] {
      auto child = client.status("sleepy-child");
      return child && child->status == InstanceStatus::kRunning;
    }));
    auto before = client.history("sleepy-child");
    REQUIRE(before);
    REQUIRE(eventually([&] { return host->live_instances() == 0; }));  // both passivated
    unreadable = true;
    REQUIRE(client.raise("sleepy-child", "go", 7));  // the child's new actor cannot load it
    auto out = Delegator.wait(client, "delegator", 20s);
    unreadable = false;
    REQUIRE_MESSAGE(out, (out ? "" : out.error().to_string()));
    CHECK(*out ==
          "duractor::TurnFailed: a turn failed and cannot succeed by retrying: corrupt: injected: "
          "history record 3 does not decode");
    auto child = client.status("sleepy-child");
    REQUIRE(child);
    CHECK(child->status == InstanceStatus::kFailed);
    auto after = client.history("sleepy-child");
    REQUIRE(after);
    REQUIRE(after->size() == before->size() + 1);  // appended after the last recorded event
    CHECK(after->back().kind() == EventKind::kExecutionFailed);
    CHECK(host->store().read_inbox("sleepy-child")->empty());  // the event was consumed
  }

  TEST_CASE("the typed handle helpers: status and cancel") {
    Runtime rt(nullptr, [](Registry& r) {
      r.add(Orchestration<int, int>{"Idle", 1}, [](OrchestrationContext& ctx, int) -> Task<int> {
        co_return co_await ctx.wait_event<int>("never");
      });
    });
    const Orchestration<int, int> Idle{"Idle", 1};
    auto client = rt.client();
    REQUIRE(Idle.start(client, "idle", 0));
    REQUIRE(eventually([&] { return Idle.status(client, "idle")->status == InstanceStatus::kRunning; }));
    REQUIRE(Idle.cancel(client, "idle"));
    auto out = Idle.wait(client, "idle", 20s);
    REQUIRE_FALSE(out);
    CHECK(out.error().code == ErrorCode::kCancelled);
  }
}

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
    CHECK(info->failure->message.find("history recorded #2 ActivityScheduled Double") != std::string::npos);
  }
}

}  // namespace duractor
