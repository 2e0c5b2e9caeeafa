#pragma once
// Instance and execution metadata: what the store keeps about an instance besides its
// history, and what clients, the CLI and lifecycle notifications report.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "duractor/runtime/history.h"

namespace duractor {

enum class InstanceStatus : std::uint8_t {
  kPending = 0,     // created; its first turn has not run yet
  kRunning = 1,     // started, not finished (also after continue-as-new)
  kCompleted = 2,   // finished with an output
  kFailed = 3,      // finished with a failure
  kCancelled = 4,   // finished by cooperative cancellation
  kTerminated = 5,  // finished by termination (Client::cancel with terminate)
  kPaused = 6,      // paused by an operator (Client::pause): takes no turns until resumed
};
// Stored as this byte: new statuses are appended, never renumbered.

std::string_view to_string(InstanceStatus status);
// Parses "pending", "running", "completed", "failed", "cancelled", "terminated", "paused"
// (as printed by to_string).
std::optional<InstanceStatus> parse_instance_status(std::string_view text);
inline bool is_terminal(InstanceStatus s) {
  return s == InstanceStatus::kCompleted || s == InstanceStatus::kFailed ||
         s == InstanceStatus::kCancelled || s == InstanceStatus::kTerminated;
}
inline constexpr std::size_t kInstanceStatusCount = 7;  // for tables indexed by status

// Where a forked instance came from (Store::fork_instance): its first execution began as a
// copy of events 1..step of execution `execution` of instance `instance`.
struct ForkOrigin {
  InstanceId instance;
  ExecutionId execution = 0;
  EventId step = 0;
  bool operator==(const ForkOrigin&) const = default;
};

// What the store keeps about an instance.
struct InstanceInfo {
  InstanceId id;
  std::string name;           // orchestration name
  std::uint32_t version = 0;  // orchestration version of the current execution
  InstanceStatus status = InstanceStatus::kPending;
  ExecutionId execution = 0;  // the current (latest) execution; 0 before the first turn
  TimePoint created_at;
  TimePoint updated_at;  // when any field above or below last changed
  std::optional<TimePoint> completed_at;
  Bytes input;                            // input the instance was started with
  Bytes output;                           // set when completed
  std::optional<FailureDetails> failure;  // set when failed (or cancelled, terminated: type
                                          // duractor::Cancelled)
  std::string custom_status;
  std::optional<ParentLink> parent;
  std::optional<ForkOrigin> forked_from;  // set for an instance made by a fork
  bool operator==(const InstanceInfo&) const = default;
};

// What the store keeps about one execution.
struct ExecutionInfo {
  ExecutionId execution = 0;
  std::uint32_t version = 0;
  InstanceStatus status = InstanceStatus::kRunning;
  TimePoint started_at;
  std::optional<TimePoint> completed_at;
  std::uint64_t event_count = 0;
  bool continued_as_new = false;
  bool operator==(const ExecutionInfo&) const = default;
};

}  // namespace duractor
