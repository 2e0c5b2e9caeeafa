// Failure kinds end to end through a real host and Client: every part of duractor that
// records a failure gives it the kind callers branch on (FailureDetails::kind), orchestration
// code sees it on the exceptions it catches, and a failure that comes up from
// sub-orchestrations names each child it came through, in status and history.

#include <doctest/doctest.h>

#include <stdexcept>
#include <string>
#include <thread>

#include "tests/support/runtime_fixture.h"

namespace duractor {
namespace {

using namespace std::chrono_literals;
using namespace testing::runtime_fixture;
using testing::eventually;
using testing::start_host;
using testing::TempDir;
using testing::test_host_options;

const Activity<int, int> Boom{"Boom"};
const Orchestration<int, std::string> KindOfCall{"KindOfCall", 1};
const Orchestration<int, int> CallBoom{"CallBoom", 1};
const Orchestration<int, int> Throws{"Throws", 1};
const Orchestration<int, int> Leaf{"Leaf", 1};
const Orchestration<int, int> Mid{"Mid", 1};
const Orchestration<int, int> Top{"Top", 1};
const Orchestration<int, int> Waits{"Waits", 1};
const Orchestration<int, std::string> BigOutput{"BigOutput", 1};

void add_kinds(Registry& r) {
  add_common(r);
  r.add(Boom, [](ActivityContext&, int) -> int { throw std::runtime_error("boom"); });
  r.add(CallBoom, [](OrchestrationContext& ctx, int x) -> Task<int> {
    co_return co_await ctx.call(Boom, x);
  });
  r.add(Throws, [](OrchestrationContext&, int) -> Task<int> {
    throw std::invalid_argument("the order is empty");
    co_return 0;
  });
  r.add(Leaf, [](OrchestrationContext& ctx, int x) -> Task<int> {
    co_return co_await ctx.call(Boom, x);
  });
  r.add(Mid, [](OrchestrationContext& ctx, int x) -> Task<int> {
    co_return co_await ctx.call(Leaf, x, {"leaf-1"});
  });
  r.add(Top, [](OrchestrationContext& ctx, int x) -> Task<int> {
    co_return co_await ctx.call(Mid, x, {"mid-1"});
  });
  r.add(Waits, [](OrchestrationContext& ctx, int) -> Task<int> {
    co_return co_await ctx.wait_event<int>("never");
  });
  r.add(BigOutput, [](OrchestrationContext&, int n) -> Task<std::string> {
    co_return std::string(static_cast<std::size_t>(n), 'x');
  });
}

// The kind of the failure the call `which` fails with, as the orchestration code sees it
// on the exception it catches ("activity failed", "timed out", ...).
void add_kind_of_call(Registry& r) {
  r.add(KindOfCall, [](OrchestrationContext& ctx, int which) -> Task<std::string> {
    try {
      if (which == 0) co_await ctx.call(Boom, 1);
      if (which == 1) co_await ctx.call(Slow, 1);
      if (which == 2) co_await ctx.call(Activity<int, int>{"NeverRegistered"}, 1);
      if (which == 3) co_await ctx.call(Activity<std::string, int>{"Double"}, std::string("x"));
      if (which == 4) co_await ctx.call(Activity<int, std::string>{"Big"}, 1);
      if (which == 5) co_await ctx.call(Leaf, 1, {"caught-leaf"});
      if (which == 6) co_await ctx.call(Leaf, 1, {"taken"});
    } catch (const ActivityFailed& e) {
      co_return std::string(to_string(e.failure().kind));
    } catch (const SubOrchestrationFailed& e) {
      // The exception's kind is the child's failure; its first cause names the child.
      const auto& cause = e.failure().causes.at(0);
      co_return std::string(to_string(e.kind())) + " from " + cause.instance + " (" +
          std::string(to_string(cause.kind)) + ")";
    }
    co_return std::string("no failure");
  });
}

struct KindsRuntime {
  KindsRuntime() {
    add_kinds(registry);
    add_kind_of_call(registry);
    registry.add(Slow, [](ActivityContext& ctx, int x) {
      for (int i = 0; i < 400 && !ctx.cancelled(); ++i) std::this_thread::sleep_for(5ms);
      return x;
    });
    registry.add(Activity<int, std::string>{"Big"},
                 [](ActivityContext&, int) { return std::string(5000, 'x'); });
    auto options = test_host_options(dir.sub("store"));
    options.activity_timeout = 100ms;
    options.max_payload_bytes = 1000;
    host = start_host(registry, options);
  }
  TempDir dir;
  Registry registry;
  std::unique_ptr<Host> host;
  Client client() { return host->client(); }

  InstanceInfo failed(const InstanceId& id) {
    auto info = client().wait(id, 20s);
    REQUIRE_MESSAGE(info, (info ? "" : info.error().to_string()));
    REQUIRE(info->failure);
    return *info;
  }
};

const FailureDetails& failure_in_history(const std::vector<HistoryEvent>& history) {
  REQUIRE(!history.empty());
  const auto* failed = std::get_if<event::ExecutionFailed>(&history.back().body);
  REQUIRE(failed != nullptr);
  return failed->failure;
}

}  // namespace

TEST_SUITE("failure kinds") {
  TEST_CASE("an activity that throws fails as 'activity failed', code that throws as application") {
    KindsRuntime rt;
    auto client = rt.client();
    REQUIRE(client.start(CallBoom, "calls-boom", 1));
    auto activity = rt.failed("calls-boom");
    CHECK(activity.status == InstanceStatus::kFailed);
    CHECK(activity.failure->kind == FailureKind::kActivityFailed);
    CHECK(activity.failure->type == "std::runtime_error");
    CHECK(activity.failure->causes.empty());
    auto history = client.history("calls-boom");
    REQUIRE(history);
    CHECK(failure_in_history(*history).kind == FailureKind::kActivityFailed);
    const auto* activity_failed = std::get_if<event::ActivityFailed>(&(*history)[2].body);
    REQUIRE(activity_failed != nullptr);
    CHECK(activity_failed->failure.kind == FailureKind::kActivityFailed);

    REQUIRE(client.start(Throws, "throws", 1));
    auto own = rt.failed("throws");
    CHECK(own.failure->kind == FailureKind::kApplication);
    CHECK(own.failure->type == "std::invalid_argument");
  }

  TEST_CASE("orchestration code branches on the kind of the exception it catches") {
    KindsRuntime rt;
    auto client = rt.client();
    REQUIRE(client.start(Waits, "taken", 0));  // its id makes case 6's child start fail
    auto kind_of = [&](int which) {
      auto out = KindOfCall.run(client, "kind-of-" + std::to_string(which), which, 20s);
      REQUIRE_MESSAGE(out, (out ? "" : out.error().to_string()));
      return *out;
    };
    CHECK(kind_of(0) == "activity failed");
    CHECK(kind_of(1) == "timed out");
    CHECK(kind_of(2) == "unregistered");
    CHECK(kind_of(3) == "decode");
    CHECK(kind_of(4) == "limit exceeded");
    CHECK(kind_of(5) == "sub-orchestration failed from caught-leaf (activity failed)");
    CHECK(kind_of(6) == "sub-orchestration failed from taken (already exists)");
  }

  TEST_CASE("an orchestration input that does not decode fails the instance as 'decode'") {
    KindsRuntime rt;
    auto client = rt.client();
    REQUIRE(client.start(Orchestration<std::string, int>{"CallBoom", 1}, "wrong-input", "x"));
    auto decode = rt.failed("wrong-input");
    CHECK(decode.failure->kind == FailureKind::kDecode);
  }

  TEST_CASE("an output over the payload limit fails the instance as 'limit exceeded'") {
    KindsRuntime rt;
    auto client = rt.client();
    REQUIRE(client.start(BigOutput, "big", 5000));
    auto info = rt.failed("big");
    CHECK(info.failure->kind == FailureKind::kLimitExceeded);
  }

  TEST_CASE("a cancelled instance's failure is 'cancelled', a terminated one's 'terminated'") {
    KindsRuntime rt;
    auto client = rt.client();
    REQUIRE(client.start(Waits, "to-cancel", 0));
    REQUIRE(client.start(Waits, "to-terminate", 0));
    REQUIRE(client.cancel("to-cancel", "not needed"));
    REQUIRE(client.cancel("to-terminate", "stop now", true));
    auto cancelled = rt.failed("to-cancel");
    CHECK(cancelled.status == InstanceStatus::kCancelled);
    CHECK(cancelled.failure->kind == FailureKind::kCancelled);
    auto terminated = rt.failed("to-terminate");
    CHECK(terminated.status == InstanceStatus::kTerminated);
    CHECK(terminated.failure->kind == FailureKind::kTerminated);
  }

  TEST_CASE("code changed under a running instance fails it as 'nondeterminism'") {
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
    r.add(Flow, [](OrchestrationContext& ctx, int x) -> Task<int> {
      co_return static_cast<int>((co_await ctx.call(Greet, std::to_string(x))).size());
    });
    auto host = start_host(r, test_host_options(dir.sub("store")));
    auto client = host->client();
    REQUIRE(client.raise("changed", "go", 1));
    auto info = client.wait("changed", 20s);
    REQUIRE(info);
    REQUIRE(info->failure);
    CHECK(info->failure->kind == FailureKind::kNondeterminism);
  }

  TEST_CASE(
      "a failure that comes up through two sub-orchestrations names the child and the "
      "grandchild, in status and history") {
    KindsRuntime rt;
    auto client = rt.client();
    REQUIRE(client.start(Top, "top-1", 1));
    auto top = rt.failed("top-1");
    const auto& f = *top.failure;
    CHECK(f.kind == FailureKind::kSubOrchestrationFailed);
    CHECK(f.type == "std::runtime_error");
    CHECK(f.message == "boom");
    REQUIRE(f.causes.size() == 2);
    CHECK(f.causes[0] == FailureCause{"mid-1", "Mid", FailureKind::kSubOrchestrationFailed});
    CHECK(f.causes[1] == FailureCause{"leaf-1", "Leaf", FailureKind::kActivityFailed});
    CHECK(f.root_kind() == FailureKind::kActivityFailed);

    auto history = client.history("top-1");
    REQUIRE(history);
    CHECK(failure_in_history(*history) == f);
    // The parent's SubOrchestrationFailed records the child's own failure: the grandchild.
    const auto* child_failed = std::get_if<event::SubOrchestrationFailed>(&(*history)[2].body);
    REQUIRE(child_failed != nullptr);
    CHECK(child_failed->failure.kind == FailureKind::kSubOrchestrationFailed);
    REQUIRE(child_failed->failure.causes.size() == 1);
    CHECK(child_failed->failure.causes[0].instance == "leaf-1");

    auto mid = rt.failed("mid-1");
    REQUIRE(mid.failure->causes.size() == 1);
    CHECK(mid.failure->causes[0] == FailureCause{"leaf-1", "Leaf", FailureKind::kActivityFailed});
    auto leaf = rt.failed("leaf-1");
    CHECK(leaf.failure->kind == FailureKind::kActivityFailed);
    CHECK(leaf.failure->causes.empty());
  }
}

}  // namespace duractor
