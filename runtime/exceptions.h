#pragma once
// The exceptions duractor throws into orchestration code at a co_await, so that ordinary
// try/catch writes retries and compensation. C++ allows no co_await inside a catch handler,
// so note the failure there and compensate after it:
//
//   std::optional<duractor::ActivityFailed> failed;
//   try {
//     co_await ctx.call(Charge, order);
//   } catch (const duractor::ActivityFailed& e) {   // e.failure(): the activity's exception
//     failed = e;                                 // e.failure().kind: how it failed
//   }
//   if (failed) {
//     co_await ctx.call(Release, order);
//     throw *failed;
//   }
//
// All derive from DurableError, which carries the FailureDetails recorded in history. An
// exception that escapes an orchestration fails the instance with its details (or, for
// Cancelled in an instance asked to cancel, ends it as cancelled).

#include <exception>
#include <stdexcept>
#include <string>
#include <string_view>

#include "duractor/runtime/history.h"

namespace duractor {

class DurableError : public std::runtime_error {
 public:
  DurableError(std::string what, FailureDetails failure)
      : std::runtime_error(std::move(what)), failure_(std::move(failure)) {}
  // What went wrong, as recorded: its kind, category, the original exception type and
  // message, and (for SubOrchestrationFailed) the chain of children it came from.
  const FailureDetails& failure() const noexcept { return failure_; }
  FailureKind kind() const noexcept { return failure_.kind; }
  ErrorCategory category() const noexcept { return failure_.category; }

 private:
  FailureDetails failure_;
};

// An activity threw (or could not run). failure() has the activity's exception type and
// message; category() is kApplication for the activity's own exceptions, kConfiguration
// when it is not registered or its payload does not decode. kind() says which:
// kActivityFailed (it threw), kTimedOut (it ran past HostOptions' activity timeout),
// kCancelled, kUnregistered, kDecode, kLimitExceeded (its output), kPoison.
class ActivityFailed : public DurableError {
 public:
  ActivityFailed(std::string activity, FailureDetails failure, std::uint32_t attempts = 1);
  const std::string& activity() const noexcept { return activity_; }
  std::uint32_t attempts() const noexcept { return attempts_; }

 private:
  std::string activity_;
  std::uint32_t attempts_;
};

// An activity (or a retried call) did not finish within its per-attempt timeout. kind()
// is kTimedOut.
class ActivityTimedOut : public DurableError {
 public:
  ActivityTimedOut(std::string activity, Milliseconds timeout, std::uint32_t attempts);
  const std::string& activity() const noexcept { return activity_; }

 private:
  std::string activity_;
};

// A sub-orchestration failed (or could not start: its id was taken). kind() is
// kSubOrchestrationFailed; failure().causes names the child first, then the children it
// failed from in turn, and causes.front().kind (or failure().root_kind() for the deepest)
// says how. An uncaught one fails this instance with the same chain, so a grandparent sees
// child and grandchild.
class SubOrchestrationFailed : public DurableError {
 public:
  SubOrchestrationFailed(std::string orchestration, InstanceId instance, FailureDetails failure);
  const InstanceId& instance() const noexcept { return instance_; }

 private:
  InstanceId instance_;
};

// The FailureDetails::type of a cancellation ("duractor::Cancelled").
inline constexpr std::string_view kCancelledType = "duractor::Cancelled";

// The instance was asked to stop (cooperative cancellation), or the awaited operation was
// cancelled (it lost a when_any; an activity or child that was cancelled comes as
// ActivityFailed / SubOrchestrationFailed with this type). An orchestration may catch it to
// compensate. If it escapes an instance that was asked to cancel, the instance ends
// cancelled; otherwise it ends failed ("awaited a cancelled operation: <reason>").
class Cancelled : public DurableError {
 public:
  explicit Cancelled(std::string reason);
  const std::string& reason() const noexcept { return reason_; }

 private:
  std::string reason_;
};

// Thrown by an activity to fail for good: trying again cannot help (a 403, a validation
// error, a card declined). The failure is recorded with retryable = false, and a retry
// policy does not retry it: the call throws ActivityFailed at once. Its type is that of the
// exception thrown, so a subclass (class Forbidden : public NonRetryableError) keeps its name.
//
//   if (response.status == 403) throw duractor::NonRetryableError("forbidden: " + url);
class NonRetryableError : public std::runtime_error {
 public:
  explicit NonRetryableError(const std::string& message) : std::runtime_error(message) {}
};

// The program is wrong: a payload does not decode as the type the code expects, a name is
// not registered. Category kConfiguration; kind() follows the code (kDecode for
// kPayloadMismatch, kUnregistered, kLimitExceeded, ..., kInvalidArgument for misuse).
class ConfigurationError : public DurableError {
 public:
  ConfigurationError(ErrorCode code, std::string message);
  ErrorCode code() const noexcept { return code_; }

 private:
  ErrorCode code_;
};

// The readable name of an exception's dynamic type ("std::runtime_error").
std::string exception_type_name(const std::exception& e);

// What to record for an exception escaping user code: a DurableError keeps its details;
// any std::exception gives its type and what() (a NonRetryableError, also retryable =
// false); anything else "unknown exception".
FailureDetails failure_of(std::exception_ptr error);

// Throws a ConfigurationError for `error` (used where a Result meets orchestration code).
[[noreturn]] void throw_configuration_error(const Error& error);

}  // namespace duractor
