#pragma once
// RetryPolicy: how ctx.call(activity, input, policy) retries a failing activity. Waits
// between attempts are durable timers, so a retried call survives restarts and replays
// exactly like any other code. Only application failures are retried, and not those that
// say retrying cannot help: cancellation, and an activity that threw
// duractor::NonRetryableError (FailureDetails::retryable false) fail the call at once.
// A policy is a payload too (msgpack, see below): an orchestration may take one in its input
// and pass it on to its activities or children.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>

#include <msgpack.hpp>

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

  // One attempt: a failure fails the call at once (as a call without a policy; useful where
  // a policy is configured, to turn retrying off). An attempt_timeout still applies.
  static RetryPolicy none() {
    return RetryPolicy{1, Backoff::kFixed, Milliseconds{0}, 1.0, Milliseconds{0}, std::nullopt};
  }
  // Up to `attempts` attempts with no wait between them: each retry is scheduled in the
  // same turn as the failure it answers, with no durable timer (rules revision 2).
  static RetryPolicy immediate(std::uint32_t attempts) { return fixed(attempts, Milliseconds{0}); }
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

  bool operator==(const RetryPolicy&) const = default;

  // As a payload: the msgpack array [max_attempts, backoff (0 fixed, 1 linear, 2
  // exponential), initial_delay ms, multiplier, max_delay ms, attempt_timeout ms | nil].
  // Decoding checks it: a wrong shape, a field of the wrong type, an unknown backoff or a
  // negative delay or a multiplier that is not finite is a kPayloadMismatch of decode<RetryPolicy>
  // naming the field (0 attempts is left to the call, which refuses it as it refuses such a policy
  // made in code).
  template <class Packer>
  void msgpack_pack(Packer& packer) const {
    packer.pack_array(6);
    packer.pack(max_attempts);
    packer.pack(static_cast<std::uint8_t>(backoff));
    packer.pack(static_cast<std::int64_t>(initial_delay.count()));
    packer.pack(multiplier);
    packer.pack(static_cast<std::int64_t>(max_delay.count()));
    if (attempt_timeout) {
      packer.pack(static_cast<std::int64_t>(attempt_timeout->count()));
    } else {
      packer.pack_nil();
    }
  }
  void msgpack_unpack(const msgpack::object& o) {
    auto bad = [](const std::string& why) { throw std::runtime_error("retry policy " + why); };
    if (o.type != msgpack::type::ARRAY || o.via.array.size < 6) {
      bad("is an array of 6 fields (max_attempts, backoff, initial_delay, multiplier, "
          "max_delay, attempt_timeout)");
    }
    const auto* f = o.via.array.ptr;
    auto field = [&]<class T>(std::size_t i, const char* name, T*) -> T {
      try {
        return f[i].as<T>();
      } catch (const msgpack::type_error&) {
        bad(std::string(name) + ": not a number of the expected kind");
      }
      return T{};
    };
    auto delay = [&](std::size_t i, const char* name) {
      auto ms = field(i, name, static_cast<std::int64_t*>(nullptr));
      if (ms < 0) bad(std::string(name) + ": negative (" + std::to_string(ms) + " ms)");
      return Milliseconds{ms};
    };
    max_attempts = field(0, "max_attempts", static_cast<std::uint32_t*>(nullptr));
    auto kind = field(1, "backoff", static_cast<std::uint8_t*>(nullptr));
    if (kind > static_cast<std::uint8_t>(Backoff::kExponential)) {
      bad("backoff: unknown kind " + std::to_string(kind) +
          " (expected 0 fixed, 1 linear, 2 exponential)");
    }
    backoff = static_cast<Backoff>(kind);
    initial_delay = delay(2, "initial_delay");
    multiplier = field(3, "multiplier", static_cast<double*>(nullptr));
    if (!std::isfinite(multiplier)) bad("multiplier: not a finite number");
    max_delay = delay(4, "max_delay");
    attempt_timeout.reset();
    if (!f[5].is_nil()) attempt_timeout = delay(5, "attempt_timeout");
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
    if (std::isnan(ms)) ms = static_cast<double>(max_delay.count());  // a NaN multiplier
    ms = std::min(ms, static_cast<double>(max_delay.count()));
    return Milliseconds(static_cast<std::int64_t>(std::max(ms, 0.0)));
  }
};

}  // namespace duractor
