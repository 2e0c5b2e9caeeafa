#include "duractor/actors/detail/turn_failure_policy.h"

#include <algorithm>

#include <fmt/format.h>

namespace duractor::detail {

FailureDetails turn_failure(const Error& error, std::uint32_t attempts) {
  if (!error.retryable) {
    return FailureDetails{
        .category = error.category,
        .type = "duractor::TurnFailed",
        .message = "a turn failed and cannot succeed by retrying: " + error.to_string(),
        .kind = failure_kind_of(error.code)};
  }
  return FailureDetails{
      .category = ErrorCategory::kInfrastructure,
      .type = "duractor::TurnFailed",
      .message = fmt::format("a turn failed {} times: {}", attempts, error.to_string()),
      .kind = FailureKind::kInfrastructure};
}

bool store_unavailable(const Error& error) {
  switch (error.code) {
    case ErrorCode::kStoreFull:
    case ErrorCode::kBusy:
      return true;
    case ErrorCode::kIo:
      return error.retryable;  // not a permission error
    default:
      return false;
  }
}

TurnFailureDecision decide_after_failed_turn(const Error& error, std::uint32_t failures,
                                             bool recording_failure,
                                             std::uint32_t max_turn_attempts,
                                             Milliseconds retry_backoff) {
  TurnFailureDecision d;
  if (error.code == ErrorCode::kShutdown) {  // the store is closing with the host
    d.action = AfterFailedTurn::kStop;
    d.level = spdlog::level::debug;
    d.log_message = "turn not run, the runtime is stopping: " + error.to_string();
    return d;
  }
  failures = std::max<std::uint32_t>(failures, 1);
  d.delay = retry_backoff * (1 << std::min<std::uint32_t>(failures - 1, 10));
  d.level = spdlog::level::err;
  if (!recording_failure && store_unavailable(error)) {
    d.log_message = fmt::format(
        "turn cannot commit, the store cannot take it now (attempt {}); waiting for it: {}",
        failures, error.to_string());
  } else if (recording_failure) {
    d.log_message = fmt::format(
        "turn failed again (attempt {}) while recording the instance's failure, retrying: {}",
        failures, error.to_string());
  } else if (!error.retryable) {
    d.action = AfterFailedTurn::kFailInstance;
    d.failure = turn_failure(error, failures);
    d.log_message =
        "turn failed and cannot succeed by retrying, failing the instance: " + error.to_string();
  } else if (failures >= max_turn_attempts) {
    d.action = AfterFailedTurn::kFailInstance;
    d.failure = turn_failure(error, failures);
    d.log_message =
        fmt::format("turn failed {} times, failing the instance: {}", failures, error.to_string());
  } else {
    d.level = spdlog::level::warn;
    d.log_message = fmt::format("turn failed (attempt {} of {}), retrying: {}", failures,
                                max_turn_attempts, error.to_string());
  }
  return d;
}

}  // namespace duractor::detail
