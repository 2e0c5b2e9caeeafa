#pragma once
// What an instance actor does after a turn failed: wait for the store, retry, or record the
// failure of the execution. A pure decision from the error, the failures so far and the
// host's options, so that the rules are tested without an actor (tests/actors/
// turn_failure_policy_test.cc); the instance actor only carries them out.
//
// The rules: a store that cannot take the turn for now (store_unavailable) is waited for,
// however long it takes — the workflow is not failed for the store's trouble. Another
// retryable error is retried with backoff up to max_turn_attempts; after that, or at once
// for an error retrying cannot fix, the execution fails (ExecutionFailed, type
// duractor::TurnFailed, naming the cause). A turn that fails while it records such a
// failure is retried without end: the instance is never left running silently. The backoff
// doubles per failure up to 1024 times the base.

#include <cstdint>
#include <optional>
#include <string>

#include <spdlog/common.h>

#include "duractor/runtime/error.h"
#include "duractor/runtime/history.h"
#include "duractor/runtime/time.h"

namespace duractor::detail {

enum class AfterFailedTurn : std::uint8_t {
  kStop,          // the runtime is stopping: do nothing more
  kRetry,         // run the turn again after `delay`
  kFailInstance,  // run the next turn (after `delay`) as the execution's failure, `failure`
};

struct TurnFailureDecision {
  AfterFailedTurn action = AfterFailedTurn::kRetry;
  std::optional<FailureDetails> failure;  // set with kFailInstance
  Milliseconds delay{0};
  spdlog::level::level_enum level = spdlog::level::warn;
  std::string log_message;  // what the actor logs, at `level`
};

// What an execution fails with when its turns cannot go on: {type duractor::TurnFailed,
// naming `error`, what stopped the last one, and `attempts`, how many failed}.
FailureDetails turn_failure(const Error& error, std::uint32_t attempts);

// Whether `error` says the store cannot take a turn for now for reasons of its own: its map
// or the disk is full, a write to the disk failed, its reader table is full. That is the
// operator's to fix, not the workflow's.
bool store_unavailable(const Error& error);

// The decision after a turn failed with `error`; `failures` counts the failed turns in a
// row including this one (at least 1); `recording_failure` says the failed turn was already
// recording the execution's failure.
TurnFailureDecision decide_after_failed_turn(const Error& error, std::uint32_t failures,
                                             bool recording_failure,
                                             std::uint32_t max_turn_attempts,
                                             Milliseconds retry_backoff);

}  // namespace duractor::detail
