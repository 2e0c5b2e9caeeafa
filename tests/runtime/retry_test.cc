// Calls with a retry policy: attempts, backoff timers, per-attempt timeouts. The waits are
// durable timers, so a retried call replays like any other code.

#include <doctest/doctest.h>

#include <limits>

#include "tests/support/engine_harness.h"

namespace duractor {
namespace {

using namespace std::chrono_literals;
using testing::EngineHarness;

const Activity<int, int> Flaky{"Flaky"};

// Runs Flaky under `policy` and reports the result or the failure.
Registry registry_with(RetryPolicy policy) {
  Registry r;
  r.add(Orchestration<int, std::string>{"Retry", 1},
        [policy](OrchestrationContext& ctx, int n) -> Task<std::string> {
          try {
            int v = co_await ctx.call(Flaky, n, policy);
            co_return "ok " + std::to_string(v);
          } catch (const ActivityTimedOut& e) {
            co_return std::string("timed out: ") + e.what();
          } catch (const ActivityFailed& e) {
            co_return "failed after " + std::to_string(e.attempts()) + ": " + e.failure().message;
          }
        });
  return r;
}

}  // namespace

TEST_SUITE("retry") {
  TEST_CASE("backoff delays: fixed, linear, exponential, capped") {
    auto fixed = RetryPolicy::fixed(5, 2s);
    CHECK(fixed.delay_after(1) == 2s);
    CHECK(fixed.delay_after(4) == 2s);
    auto linear = RetryPolicy::linear(5, 1s, 3s);
    CHECK(linear.delay_after(1) == 1s);
    CHECK(linear.delay_after(2) == 2s);
    CHECK(linear.delay_after(4) == 3s);  // capped
    auto exponential = RetryPolicy::exponential(10, 100ms, 2.0, 1s);
    CHECK(exponential.delay_after(1) == 100ms);
    CHECK(exponential.delay_after(3) == 400ms);
    CHECK(exponential.delay_after(8) == 1s);
    // A multiplier made in code that is not a number waits the cap, never an undefined cast.
    auto nan = RetryPolicy::exponential(10, 100ms, std::numeric_limits<double>::quiet_NaN(), 1s);
    CHECK(nan.delay_after(2) == 1s);
  }

  TEST_CASE("RetryPolicy::none makes one attempt: the first failure fails the call") {
    auto none = RetryPolicy::none();
    CHECK(none.max_attempts == 1);
    CHECK_FALSE(none.attempt_timeout);
    auto registry = registry_with(none);
    EngineHarness h(registry);
    h.start("Retry", encode(1));
    h.turn();
    h.fail(h.activity("Flaky", 0), "busy");
    auto t = h.turn();
    CHECK(t.ended);
    CHECK(h.all<action::ScheduleActivity>().size() == 1);
    CHECK(h.all<action::CreateTimer>().empty());
    CHECK(h.output<std::string>() == "failed after 1: busy");
    h.check_replay();
  }

  TEST_CASE("RetryPolicy::immediate retries at once, in the failure's turn, with no timer") {
    auto immediate = RetryPolicy::immediate(3);
    CHECK(immediate == RetryPolicy::fixed(3, 0ms));
    CHECK(immediate.delay_after(1) == 0ms);
    CHECK(immediate.delay_after(2) == 0ms);
    auto registry = registry_with(immediate);
    EngineHarness h(registry);
    h.start("Retry", encode(1));
    h.turn();
    h.fail(h.activity("Flaky", 0), "busy");
    auto t = h.turn();
    REQUIRE(t.actions.size() == 1);
    CHECK(std::get<action::ScheduleActivity>(t.actions[0]).attempt == 2);
    h.fail(h.activity("Flaky", 1), "busy");
    h.turn();
    h.fail(h.activity("Flaky", 2), "still busy");
    h.turn();
    CHECK(h.output<std::string>() == "failed after 3: still busy");
    CHECK(h.all<action::ScheduleActivity>().size() == 3);
    CHECK(h.all<action::CreateTimer>().empty());
    h.check_replay();
  }

  TEST_CASE("a retry policy is a payload: it encodes and decodes to the same policy") {
    for (auto policy :
         {RetryPolicy::none(), RetryPolicy::immediate(4), RetryPolicy::linear(5, 250ms, 2s),
          RetryPolicy::exponential(6, 1s, 1.5, 1min).with_attempt_timeout(30s)}) {
      auto back = decode<RetryPolicy>(encode(policy));
      REQUIRE(back);
      CHECK(*back == policy);
    }
    // Inside another payload, as an orchestration's input would carry it.
    auto pair = decode<std::pair<std::string, RetryPolicy>>(
        encode(std::make_pair(std::string("Charge"), RetryPolicy::fixed(2, 5s))));
    REQUIRE(pair);
    CHECK(pair->second == RetryPolicy::fixed(2, 5s));
  }

  TEST_CASE("an orchestration takes a retry policy in its input and calls with it") {
    Registry registry;
    registry.add(Orchestration<RetryPolicy, std::string>{"Configured", 1},
                 [](OrchestrationContext& ctx, RetryPolicy policy) -> Task<std::string> {
                   try {
                     co_return "ok " + std::to_string(co_await ctx.call(Flaky, 1, policy));
                   } catch (const ActivityFailed& e) {
                     co_return "failed after " + std::to_string(e.attempts());
                   }
                 });
    EngineHarness h(registry);
    h.start("Configured", encode(RetryPolicy::fixed(2, 3s)));
    h.turn();
    h.fail(h.activity("Flaky", 0), "busy");
    h.turn();
    CHECK(h.timer_action(0).fire_at == h.now() + 3s);  // the policy's delay
    h.fire(h.timer(0));
    h.turn();
    h.fail(h.activity("Flaky", 1), "busy");
    h.turn();
    CHECK(h.output<std::string>() == "failed after 2");
    h.check_replay();
  }

  TEST_CASE("a malformed retry policy payload does not decode, and the error names the field") {
    auto check = [](const Bytes& bytes, const std::string& expected) {
      CAPTURE(expected);
      auto r = decode<RetryPolicy>(bytes);
      REQUIRE_FALSE(r);
      CHECK(r.error().code == ErrorCode::kPayloadMismatch);
      CHECK(r.error().message.find(expected) != std::string::npos);
    };
    using Fields = std::tuple<std::uint32_t, std::uint8_t, std::int64_t, double, std::int64_t,
                              std::optional<std::int64_t>>;
    check(encode(Fields{3, 7, 1000, 2.0, 60000, std::nullopt}), "backoff: unknown kind 7");
    check(encode(Fields{3, 0, -5, 1.0, 60000, std::nullopt}), "initial_delay: negative");
    check(encode(Fields{3, 0, 5, 1.0, 60000, -1}), "attempt_timeout: negative");
    check(encode(Fields{3, 2, 5, std::numeric_limits<double>::quiet_NaN(), 60000, std::nullopt}),
          "multiplier: not a finite number");
    check(encode(Fields{3, 2, 5, std::numeric_limits<double>::infinity(), 60000, std::nullopt}),
          "multiplier: not a finite number");
    check(encode(std::make_tuple(3, 0, 5)), "is an array of 6 fields");
    check(encode(std::string("fast")), "is an array of 6 fields");
    check(encode(std::make_tuple(std::string("x"), 0, 5, 1.0, 5, std::optional<int>())),
          "max_attempts: not a number");
  }

  TEST_CASE("a failure marked not retryable is not retried: the call fails at once") {
    auto registry = registry_with(RetryPolicy::exponential(6, 1s, 2.0, 1min));
    EngineHarness h(registry);
    h.start("Retry", encode(1));
    h.turn();
    FailureDetails forbidden{ErrorCategory::kApplication, "duractor::NonRetryableError",
                             "403 forbidden"};
    forbidden.retryable = false;
    h.send(message::ActivityResult{1, h.activity("Flaky", 0), {}, forbidden});
    auto t = h.turn();
    CHECK(t.ended);
    CHECK(h.all<action::CreateTimer>().empty());  // no backoff
    CHECK(h.all<action::ScheduleActivity>().size() == 1);
    CHECK(h.output<std::string>() == "failed after 1: 403 forbidden");
    h.check_replay();
  }

  TEST_CASE("a failing attempt is retried after a durable backoff timer, until it succeeds") {
    auto registry = registry_with(RetryPolicy::exponential(4, 1s, 3.0, 1min));
    EngineHarness h(registry);
    h.start("Retry", encode(1));
    h.turn();
    CHECK(std::get<action::ScheduleActivity>(h.actions()[0]).attempt == 1);
    h.fail(h.activity("Flaky", 0), "busy");
    h.turn();
    CHECK(h.timer_action(0).fire_at == h.now() + 1s);  // first backoff
    h.fire(h.timer(0));
    h.turn();
    CHECK(std::get<action::ScheduleActivity>(h.actions().back()).attempt == 2);
    h.fail(h.activity("Flaky", 1), "busy");
    h.turn();
    CHECK(h.timer_action(1).fire_at == h.now() + 3s);  // exponential
    h.fire(h.timer(1));
    h.turn();
    h.complete(h.activity("Flaky", 2), encode(42));
    h.turn();
    CHECK(h.output<std::string>() == "ok 42");
    h.check_replay();
  }

  TEST_CASE("a retry policy with zero delay retries in the same turn, with no durable timer") {
    auto registry = registry_with(RetryPolicy::fixed(3, 0ms));
    EngineHarness h(registry);
    h.start("Retry", encode(1));
    h.turn();
    h.fail(h.activity("Flaky", 0), "busy");
    auto t = h.turn();
    // The failure and the next attempt are in one turn: no timer between them.
    REQUIRE(t.actions.size() == 1);
    CHECK(std::get<action::ScheduleActivity>(t.actions[0]).attempt == 2);
    CHECK(h.all<action::CreateTimer>().empty());
    h.fail(h.activity("Flaky", 1), "busy again");
    h.turn();
    h.complete(h.activity("Flaky", 2), encode(7));
    h.turn();
    CHECK(h.output<std::string>() == "ok 7");
    CHECK(h.all<action::CreateTimer>().empty());
    for (const auto& e : h.history()) CHECK(e.kind() != EventKind::kTimerCreated);
    h.check_replay();
  }

  TEST_CASE("after the last attempt the call fails with the last failure and the attempt count") {
    auto registry = registry_with(RetryPolicy::fixed(2, 10ms));
    EngineHarness h(registry);
    h.start("Retry", encode(1));
    h.turn();
    h.fail(h.activity("Flaky", 0), "first");
    h.turn();
    h.fire(h.timer());
    h.turn();
    h.fail(h.activity("Flaky", 1), "second");
    h.turn();
    CHECK(h.output<std::string>() == "failed after 2: second");
    h.check_replay();
  }

  TEST_CASE("configuration failures are not retried") {
    auto registry = registry_with(RetryPolicy::fixed(5, 10ms));
    EngineHarness h(registry);
    h.start("Retry", encode(1));
    h.turn();
    h.fail(h.activity("Flaky"), "activity 'Flaky' is not registered", "duractor::NotRegistered",
           ErrorCategory::kConfiguration);
    h.turn();
    CHECK(h.output<std::string>() == "failed after 1: activity 'Flaky' is not registered");
  }

  TEST_CASE("a per-attempt timeout cancels the slow attempt and retries, then times out") {
    auto registry = registry_with(RetryPolicy::fixed(2, 1s).with_attempt_timeout(30s));
    EngineHarness h(registry);
    h.start("Retry", encode(1));
    h.turn();
    CHECK(h.timer_action(0).fire_at == h.now() + 30s);  // the timeout
    h.fire(h.timer(0));
    h.turn();
    REQUIRE(h.all<action::CancelActivity>().size() == 1);
    CHECK(h.all<action::CancelActivity>()[0].id == h.activity("Flaky", 0));
    h.fire(h.timer(1));  // backoff
    h.turn();
    h.fire(h.timer(2));  // second attempt's timeout
    h.turn();
    CHECK(h.output<std::string>() ==
          "timed out: activity 'Flaky' timed out after 30000 ms (attempt 2)");
    h.check_replay();
  }

  TEST_CASE("a retried call loses a when_any: its current attempt is cancelled") {
    Registry registry;
    registry.add(
        Orchestration<int, int>{"RaceRetry", 1}, [](OrchestrationContext& ctx, int) -> Task<int> {
          auto first =
              co_await ctx.when_any(ctx.call(Flaky, 1, RetryPolicy::fixed(3, 1s)), ctx.timer(1h));
          co_return static_cast<int>(first.index());
        });
    EngineHarness h(registry);
    h.start("RaceRetry", encode(0));
    h.turn();
    h.fire(h.timer(0));  // the hour passes first
    h.turn();
    CHECK(h.output<int>() == 1);
    CHECK(h.all<action::CancelActivity>().size() == 1);
    h.check_replay();
  }
}

}  // namespace duractor
