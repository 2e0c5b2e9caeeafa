#include "duractor/runtime/error.h"

namespace duractor {

std::string_view to_string(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidArgument:
      return "invalid argument";
    case ErrorCode::kNotFound:
      return "not found";
    case ErrorCode::kAlreadyExists:
      return "already exists";
    case ErrorCode::kConflict:
      return "conflict";
    case ErrorCode::kBusy:
      return "busy";
    case ErrorCode::kFailedPrecondition:
      return "failed precondition";
    case ErrorCode::kCorrupt:
      return "corrupt";
    case ErrorCode::kIo:
      return "I/O error";
    case ErrorCode::kStoreFull:
      return "store full";
    case ErrorCode::kUnsupported:
      return "unsupported";
    case ErrorCode::kNondeterminism:
      return "nondeterminism";
    case ErrorCode::kNotRegistered:
      return "not registered";
    case ErrorCode::kPayloadMismatch:
      return "payload mismatch";
    case ErrorCode::kLimitExceeded:
      return "limit exceeded";
    case ErrorCode::kCancelled:
      return "cancelled";
    case ErrorCode::kTimeout:
      return "timeout";
    case ErrorCode::kShutdown:
      return "shut down";
    case ErrorCode::kApplicationFailure:
      return "application failure";
    case ErrorCode::kInternal:
      return "internal error";
  }
  return "unknown error";
}

std::string_view to_string(ErrorCategory category) {
  switch (category) {
    case ErrorCategory::kApplication:
      return "application";
    case ErrorCategory::kConfiguration:
      return "configuration";
    case ErrorCategory::kInfrastructure:
      return "infrastructure";
  }
  return "unknown";
}

Error Error::make(ErrorCode code, std::string message) {
  Error e;
  e.code = code;
  e.message = std::move(message);
  switch (code) {
    case ErrorCode::kInvalidArgument:
    case ErrorCode::kNotFound:
    case ErrorCode::kAlreadyExists:
    case ErrorCode::kFailedPrecondition:
    case ErrorCode::kUnsupported:
    case ErrorCode::kNondeterminism:
    case ErrorCode::kNotRegistered:
    case ErrorCode::kPayloadMismatch:
    case ErrorCode::kLimitExceeded:
      e.category = ErrorCategory::kConfiguration;
      break;
    case ErrorCode::kApplicationFailure:
    case ErrorCode::kCancelled:
    case ErrorCode::kTimeout:
      e.category = ErrorCategory::kApplication;
      break;
    case ErrorCode::kConflict:
    case ErrorCode::kBusy:
    case ErrorCode::kIo:
      e.category = ErrorCategory::kInfrastructure;
      e.retryable = true;
      break;
    case ErrorCode::kCorrupt:
    case ErrorCode::kStoreFull:
    case ErrorCode::kShutdown:
    case ErrorCode::kInternal:
      e.category = ErrorCategory::kInfrastructure;
      break;
  }
  return e;
}

std::string Error::to_string() const {
  std::string out(duractor::to_string(code));
  out += ": ";
  out += message;
  return out;
}

Error Error::with_context(std::string_view context) const {
  Error e = *this;
  e.message = std::string(context) + ": " + message;
  return e;
}

}  // namespace duractor
