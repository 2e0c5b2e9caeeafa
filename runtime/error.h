#pragma once
// Error values of duractor's core. Fallible calls in runtime/ and store/ return
// Result<T> (std::expected<T, Error>) or Status (Result<void>); exceptions are reserved for
// orchestration and activity code, where try/catch around co_await writes compensation.

#include <cstdint>
#include <expected>
#include <string>
#include <string_view>

namespace duractor {

// Who has to act on an error.
enum class ErrorCategory : std::uint8_t {
  kApplication,     // user code failed (an activity threw, an orchestration failed)
  kConfiguration,   // the program is wrong: unregistered name, payload type mismatch,
                    // nondeterminism, invalid argument
  kInfrastructure,  // the machine or the store failed: I/O, disk full, corruption
};

enum class ErrorCode : std::uint8_t {
  kInvalidArgument,     // the caller passed something malformed (bad id, empty name, ...)
  kNotFound,            // no such instance / execution / work item
  kAlreadyExists,       // an instance with this id exists (and the start was not idempotent)
  kConflict,            // the caller's view is stale: history moved on, lock or lease lost
  kBusy,                // the resource is held by someone else right now; retry later
  kFailedPrecondition,  // the target is not in a state that allows this (a finished instance)
  kCorrupt,             // a stored record or file is not what it should be
  kIo,                  // the operating system failed a read, write or sync
  kStoreFull,           // the store reached its configured maximum size
  kUnsupported,         // a newer on-disk format or store layout than this build reads
  kNondeterminism,      // orchestration code diverged from its recorded history
  kNotRegistered,       // no orchestration or activity registered under a name
  kPayloadMismatch,     // a payload does not decode as the type the code expects
  kLimitExceeded,       // a configured limit (history length, payload size) was hit
  kCancelled,           // the operation or instance was cancelled
  kTimeout,             // a deadline passed
  kShutdown,            // the store or runtime is closing
  kApplicationFailure,  // user code failed; the message carries its details
  kInternal,            // a bug in duractor
};

std::string_view to_string(ErrorCode code);
std::string_view to_string(ErrorCategory category);

// An error: what kind (code), who must act (category), whether trying again may succeed
// (retryable), and a message that names the cause ("store /var/x: No space left on device").
struct Error {
  ErrorCode code = ErrorCode::kInternal;
  ErrorCategory category = ErrorCategory::kInfrastructure;
  bool retryable = false;
  std::string message;

  // An error with the category and retryable flag usual for `code`.
  static Error make(ErrorCode code, std::string message);

  // "<code>: <message>", for logs.
  std::string to_string() const;

  // Prefixes the message with context, keeping code and category: "opening store: ...".
  Error with_context(std::string_view context) const;
};

template <class T>
using Result = std::expected<T, Error>;
using Status = std::expected<void, Error>;

// Shorthand for returning an error: `return fail(ErrorCode::kNotFound, "instance x")`.
inline std::unexpected<Error> fail(ErrorCode code, std::string message) {
  return std::unexpected(Error::make(code, std::move(message)));
}
inline std::unexpected<Error> fail(Error error) {
  return std::unexpected(std::move(error));
}

}  // namespace duractor
