// Every limit of docs/operations.md, through the real runtime, at the limit (accepted,
// nothing truncated) and one past it (a clear error naming the limit and the size).

#include <doctest/doctest.h>

#include "duractor/actors/client.h"
#include "duractor/actors/host.h"
#include "tests/support/host_fixture.h"

namespace duractor {
namespace {

using namespace std::chrono_literals;
using testing::eventually;
using testing::start_host;
using testing::TempDir;
using testing::test_host_options;

const Activity<int, int> Step{"Step"};
const Orchestration<std::string, std::string> Echo{"Echo", 1};
const Orchestration<int, std::string> Sized{"Sized", 1};
const Orchestration<int, std::string> SetsStatus{"SetsStatus", 1};
const Orchestration<int, int> Steps{"Steps", 1};
const Orchestration<int, std::string> Phases{"Phases", 1};
const Orchestration<int, int> Waits{"Waits", 1};

// A string whose msgpack encoding is exactly `bytes` bytes (str 16 header: 3 bytes).
std::string encoded_as(std::size_t bytes) {
  std::string s(bytes - 3, 'x');
  REQUIRE(encode(s).size() == bytes);
  return s;
}

struct LimitsRuntime {
  explicit LimitsRuntime(const std::function<void(HostOptions&)>& configure = {}) {
    registry.add(Step, [](ActivityContext&, int x) { return x; });
    registry.add(Echo,
                 [](OrchestrationContext&, std::string s) -> Task<std::string> { co_return s; });
    registry.add(Sized, [](OrchestrationContext&, int n) -> Task<std::string> {
      co_return encoded_as(static_cast<std::size_t>(n));
    });
    registry.add(SetsStatus, [](OrchestrationContext& ctx, int n) -> Task<std::string> {
      ctx.set_custom_status("before");
      co_await ctx.call(Step, 0);
      ctx.set_custom_status(std::string(static_cast<std::size_t>(n), 's'));
      co_return std::string("done");
    });
    // n activities one after the other; n < 0: -n activities and a custom status at the end.
    registry.add(Steps, [](OrchestrationContext& ctx, int n) -> Task<int> {
      int total = 0;
      for (int i = 0; i < std::abs(n); ++i) total += co_await ctx.call(Step, i);
      if (n < 0) ctx.set_custom_status("one more event");
      co_return total;
    });
    registry.add(Phases, [](OrchestrationContext& ctx, int n) -> Task<std::string> {
      if (n == 0) {
        ctx.set_custom_status("phase 1 done");
        co_await ctx.continue_as_new(1);
      }
      co_return "execution " + std::to_string(ctx.execution_id()) + " saw: " + ctx.custom_status();
    });
    registry.add(Waits, [](OrchestrationContext& ctx, int) -> Task<int> {
      co_return co_await ctx.wait_event<int>(std::string(kMaxNameBytes, 'e'));
    });
    auto options = test_host_options(dir.sub("store"));
    if (configure) configure(options);
    host = start_host(registry, options);
  }
  Client client() { return host->client(); }
  TempDir dir;
  Registry registry;
  std::unique_ptr<Host> host;
};

}  // namespace

TEST_SUITE("runtime: limits") {
  TEST_CASE(
      "a payload of exactly max_payload_bytes passes, one byte more is refused or fails the "
      "instance") {
    LimitsRuntime rt([](HostOptions& o) { o.max_payload_bytes = 1000; });
    auto client = rt.client();
    // At the client: the input.
    auto at = Echo.run(client, "input-at-limit", encoded_as(1000), 20s);
    REQUIRE_MESSAGE(at, (at ? "" : at.error().to_string()));
    CHECK(encode(*at).size() == 1000);
    auto over = client.start(Echo, "input-over", encoded_as(1001));
    REQUIRE_FALSE(over);
    CHECK(over.error().code == ErrorCode::kLimitExceeded);
    CHECK(over.error().message.find("1001 bytes") != std::string::npos);
    CHECK(over.error().message.find("over the payload limit of 1000 bytes") != std::string::npos);
    // At commit: the output.
    auto out_at = Sized.run(client, "output-at-limit", 1000, 20s);
    REQUIRE_MESSAGE(out_at, (out_at ? "" : out_at.error().to_string()));
    CHECK(encode(*out_at).size() == 1000);
    REQUIRE(client.start(Sized, "output-over", 1001));
    auto info = client.wait("output-over", 20s);
    REQUIRE(info);
    CHECK(info->status == InstanceStatus::kFailed);
    CHECK(info->failure->type == "duractor::LimitExceeded");
    CHECK(info->failure->message ==
          "the output is 1001 bytes, over the payload limit of 1000 bytes");
  }

  TEST_CASE("custom status is limited to 64 KiB by default") {
    CHECK(HostOptions{}.max_custom_status_bytes == 64 * 1024);
  }

  TEST_CASE(
      "a custom status of exactly the limit is kept whole, one byte more fails the instance") {
    LimitsRuntime rt([](HostOptions& o) { o.max_custom_status_bytes = 1000; });
    auto client = rt.client();
    auto at = SetsStatus.run(client, "status-at-limit", 1000, 20s);
    REQUIRE_MESSAGE(at, (at ? "" : at.error().to_string()));
    auto info = client.status("status-at-limit");
    REQUIRE(info);
    CHECK(info->custom_status == std::string(1000, 's'));  // not truncated
    REQUIRE(client.start(SetsStatus, "status-over", 1001));
    auto failed = client.wait("status-over", 20s);
    REQUIRE(failed);
    CHECK(failed->status == InstanceStatus::kFailed);
    CHECK(failed->failure->type == "duractor::LimitExceeded");
    CHECK(failed->failure->category == ErrorCategory::kConfiguration);
    CHECK(failed->failure->message ==
          "the custom status is 1001 bytes, over the custom status limit of 1000 bytes "
          "(HostOptions::max_custom_status_bytes)");
    CHECK(failed->custom_status == "before");  // the oversized one was not stored, even cut
  }

  TEST_CASE("custom status survives continue-as-new") {
    LimitsRuntime rt;
    auto client = rt.client();
    auto out = Phases.run(client, "phases", 0, 20s);
    REQUIRE_MESSAGE(out, (out ? "" : out.error().to_string()));
    CHECK(*out == "execution 2 saw: phase 1 done");
    CHECK(client.status("phases")->custom_status == "phase 1 done");
  }

  TEST_CASE(
      "an execution of exactly max_history_events events completes, one that needs one more "
      "fails") {
    LimitsRuntime rt([](HostOptions& o) { o.max_history_events = 20; });
    auto client = rt.client();
    // 9 steps: started + 9 x (scheduled, completed) + completed = 20 events.
    auto at = Steps.run(client, "history-at-limit", 9, 20s);
    REQUIRE_MESSAGE(at, (at ? "" : at.error().to_string()));
    CHECK(client.history("history-at-limit")->size() == 20);
    // The same and a custom status: 21 events.
    REQUIRE(client.start(Steps, "history-over", -9));
    auto info = client.wait("history-over", 20s);
    REQUIRE(info);
    CHECK(info->status == InstanceStatus::kFailed);
    CHECK(info->failure->type == "duractor::LimitExceeded");
    CHECK(info->failure->message ==
          "the history of execution 1 reached the limit of 20 events "
          "(HostOptions::max_history_events): this turn would make it 21; use continue_as_new "
          "for long-running loops");
    auto history = client.history("history-over");
    REQUIRE(history);
    CHECK(history->size() == 19);  // 18 committed, then the failure in place of the last turn
    CHECK(history->back().kind() == EventKind::kExecutionFailed);
  }

  TEST_CASE("an event name of 256 bytes is delivered, 257 bytes is refused") {
    LimitsRuntime rt;
    auto client = rt.client();
    REQUIRE(client.start(Waits, "waits", 0));
    auto over = client.raise("waits", std::string(kMaxNameBytes + 1, 'e'), 1);
    REQUIRE_FALSE(over);
    CHECK(over.error().code == ErrorCode::kInvalidArgument);
    CHECK(over.error().message.find("257 bytes long; the limit is 256") != std::string::npos);
    REQUIRE(client.raise("waits", std::string(kMaxNameBytes, 'e'), 42));
    auto out = Waits.wait(client, "waits", 20s);
    REQUIRE_MESSAGE(out, (out ? "" : out.error().to_string()));
    CHECK(*out == 42);
  }

  TEST_CASE("a cancel, terminate or pause reason of 4 KiB is taken, one byte more is refused") {
    LimitsRuntime rt;
    auto client = rt.client();
    REQUIRE(client.start(Waits, "waits", 0));
    std::string over(kMaxReasonBytes + 1, 'r');
    for (bool terminate : {false, true}) {
      auto refused = client.cancel("waits", over, terminate);
      REQUIRE_FALSE(refused);
      CHECK(refused.error().code == ErrorCode::kLimitExceeded);
      CHECK(refused.error().message.find("is 4097 bytes; the limit is 4096") != std::string::npos);
    }
    auto refused = client.pause("waits", over);
    REQUIRE_FALSE(refused);
    CHECK(refused.error().code == ErrorCode::kLimitExceeded);
    REQUIRE(client.pause("waits", std::string(kMaxReasonBytes, 'p')));
    REQUIRE(eventually([&] { return client.status("waits")->status == InstanceStatus::kPaused; }));
    REQUIRE(client.cancel("waits", std::string(kMaxReasonBytes, 't'), true));
    REQUIRE(
        eventually([&] { return client.status("waits")->status == InstanceStatus::kTerminated; }));
  }

  TEST_CASE("an instance id of 256 bytes is accepted, 257 bytes is refused") {
    LimitsRuntime rt;
    auto client = rt.client();
    std::string at(kMaxInstanceIdBytes, 'i');
    auto out = Echo.run(client, at, std::string("ok"), 20s);
    REQUIRE_MESSAGE(out, (out ? "" : out.error().to_string()));
    CHECK(client.status(at)->id == at);
    auto over = client.start(Echo, std::string(kMaxInstanceIdBytes + 1, 'i'), std::string("no"));
    REQUIRE_FALSE(over);
    CHECK(over.error().code == ErrorCode::kInvalidArgument);
    CHECK(over.error().message.find("257 bytes long; the limit is 256") != std::string::npos);
  }
}

}  // namespace duractor
