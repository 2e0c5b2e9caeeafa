#pragma once
// RetryPolicy: how ctx.call(activity, input, policy) retries a failing activity. Waits
// between attempts are durable timers, so a retried call survives restarts and replays
// exactly like any other code. Only application failures are retried, and not those that
// say retrying cannot help: cancellation, and an activity that threw
// duractor::NonRetryableError (FailureDetails::retryable false) fail the call at once.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <optional>

#include "duractor/runtime/time.h"

namespace duractor {

struct RetryPolicy {
  enum class Backoff : std::uint8_t {
    kFixed,        // initial_delay every time
    kLinear,       // initial_delay * k before attempt k + 1
    kExponential,  // initial_delay * multiplier^(k - 1) before attempt k + 1
  };

  std::uint32_t max_attempts = 3;  // including the first; 1 means no retry
  Backoff backoff = Backoff::kExponential;
  Milliseconds initial_delay{1000};
  double multiplier = 2.0;
  Milliseconds max_delay{60'000};  // cap on any one wait
  // If set, an attempt that has not finished after this long is cancelled and counts as a
  // failed attempt (ActivityTimedOut if it was the last).
  std::optional<Milliseconds> attempt_timeout;

  static RetryPolicy fixed(std::uint32_t attempts, Milliseconds delay) {
    return RetryPolicy{attempts, Backoff::kFixed, delay, 1.0, delay, std::nullopt};
  }
  static RetryPolicy linear(std::uint32_t attempts, Milliseconds step, Milliseconds cap) {
    return RetryPolicy{attempts, Backoff::kLinear, step, 1.0, cap, std::nullopt};
  }
  static RetryPolicy exponential(std::uint32_t attempts, Milliseconds first, double multiplier,
                                 Milliseconds cap) {
    return RetryPolicy{attempts, Backoff::kExponential, first, multiplier, cap, std::nullopt};
  }
  RetryPolicy& with_attempt_timeout(Milliseconds timeout) {
    attempt_timeout = timeout;
    return *this;
  }

  // The wait after failed attempt `failed` (1, 2, ...) before the next one.
  Milliseconds delay_after(std::uint32_t failed) const {
    double ms = static_cast<double>(initial_delay.count());
    switch (backoff) {
      case Backoff::kFixed:
        break;
      case Backoff::kLinear:
        ms *= failed;
        break;
      case Backoff::kExponential:
        ms *= std::pow(multiplier, static_cast<double>(failed) - 1);
        break;
    }
    ms = std::min(ms, static_cast<double>(max_delay.count()));
    return Milliseconds(static_cast<std::int64_t>(std::max(ms, 0.0)));
  }
};

}  // namespace duractor
