// The turn-failure policy: what an instance does after a failed turn, without an actor.

#include <doctest/doctest.h>

#include "duractor/actors/detail/turn_failure_policy.h"

namespace duractor::detail {
namespace {

using namespace std::chrono_literals;

constexpr std::uint32_t kMax = 5;
constexpr Milliseconds kBackoff{100};

TurnFailureDecision after(const Error& e, std::uint32_t failures, bool recording = false) {
  return decide_after_failed_turn(e, failures, recording, kMax, kBackoff);
}

Error conflict() {
  return Error::make(ErrorCode::kConflict, "lock lost");
}

}  // namespace

TEST_SUITE("turn failure policy") {
  TEST_CASE("a stopping runtime ends the instance's attempts quietly") {
    auto d = after(Error::make(ErrorCode::kShutdown, "closing"), 1);
    CHECK(d.action == AfterFailedTurn::kStop);
    CHECK(d.level == spdlog::level::debug);
  }

  TEST_CASE("a store that cannot take the turn for now is waited for without end, at error level") {
    for (auto code : {ErrorCode::kStoreFull, ErrorCode::kBusy}) {
      auto d = after(Error::make(code, "full"), 1000);
      CHECK(d.action == AfterFailedTurn::kRetry);
      CHECK(d.level == spdlog::level::err);
      CHECK_FALSE(d.failure);
    }
    auto io = Error::make(ErrorCode::kIo, "write failed");
    io.retryable = true;
    CHECK(after(io, 50).action == AfterFailedTurn::kRetry);
    // A permission error is not the store's passing trouble.
    auto permission = Error::make(ErrorCode::kIo, "permission denied");
    permission.retryable = false;
    CHECK(after(permission, 1).action == AfterFailedTurn::kFailInstance);
  }

  TEST_CASE("a retryable error is retried up to max_turn_attempts, then fails the execution") {
    auto e = conflict();
    REQUIRE(e.retryable);
    for (std::uint32_t n = 1; n < kMax; ++n) {
      auto d = after(e, n);
      CHECK(d.action == AfterFailedTurn::kRetry);
      CHECK(d.level == spdlog::level::warn);
    }
    auto last = after(e, kMax);
    CHECK(last.action == AfterFailedTurn::kFailInstance);
    REQUIRE(last.failure);
    CHECK(last.failure->type == "duractor::TurnFailed");
    CHECK(last.failure->message.find("5 times") != std::string::npos);
    CHECK(last.failure->message.find("lock lost") != std::string::npos);
  }

  TEST_CASE("an error retrying cannot fix fails the execution at once, naming it") {
    auto e = Error::make(ErrorCode::kCorrupt, "record 3 does not decode");
    e.retryable = false;
    auto d = after(e, 1);
    CHECK(d.action == AfterFailedTurn::kFailInstance);
    REQUIRE(d.failure);
    CHECK(d.failure->category == e.category);
    CHECK(d.failure->message.find("cannot succeed by retrying") != std::string::npos);
    CHECK(d.failure->message.find("record 3 does not decode") != std::string::npos);
  }

  TEST_CASE("a turn recording the execution's failure is retried without end") {
    auto e = Error::make(ErrorCode::kCorrupt, "still bad");
    e.retryable = false;
    auto d = after(e, 100, /*recording=*/true);
    CHECK(d.action == AfterFailedTurn::kRetry);
    CHECK_FALSE(d.failure);
  }

  TEST_CASE("the backoff doubles per failure up to 1024 times the base") {
    auto e = conflict();
    CHECK(after(e, 1).delay == 100ms);
    CHECK(after(e, 2).delay == 200ms);
    CHECK(after(e, 4).delay == 800ms);
    CHECK(after(e, 11, true).delay == 102400ms);
    CHECK(after(e, 40, true).delay == 102400ms);
  }
}

}  // namespace duractor::detail
