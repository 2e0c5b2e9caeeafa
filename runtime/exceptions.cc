#include "duractor/runtime/exceptions.h"

#include <cxxabi.h>

#include <cstdlib>
#include <memory>
#include <typeinfo>

namespace duractor {
namespace {

std::string demangle(const char* mangled) {
  int status = 0;
  std::unique_ptr<char, void (*)(void*)> text(
      abi::__cxa_demangle(mangled, nullptr, nullptr, &status), std::free);
  std::string name = status == 0 && text ? text.get() : mangled;
  // The standard library's inline namespaces are noise to a reader.
  for (const char* noise : {"__cxx11::", "__1::"}) {
    for (auto pos = name.find(noise); pos != std::string::npos; pos = name.find(noise)) {
      name.erase(pos, std::char_traits<char>::length(noise));
    }
  }
  return name;
}

}  // namespace

ActivityFailed::ActivityFailed(std::string activity, FailureDetails failure, std::uint32_t attempts)
    : DurableError("activity '" + activity + "' failed" +
                       (attempts > 1 ? " after " + std::to_string(attempts) + " attempts" : "") +
                       ": " + failure.message + " (" + failure.type + ")",
                   failure),
      activity_(std::move(activity)),
      attempts_(attempts) {}

ActivityTimedOut::ActivityTimedOut(std::string activity, Milliseconds timeout,
                                   std::uint32_t attempts)
    : DurableError("activity '" + activity + "' timed out after " +
                       std::to_string(timeout.count()) + " ms" +
                       (attempts > 1 ? " (attempt " + std::to_string(attempts) + ")" : ""),
                   FailureDetails{.category = ErrorCategory::kApplication,
                                  .type = "duractor::ActivityTimedOut",
                                  .message = "activity '" + activity + "' timed out after " +
                                             std::to_string(timeout.count()) + " ms",
                                  .kind = FailureKind::kTimedOut}),
      activity_(std::move(activity)) {}

SubOrchestrationFailed::SubOrchestrationFailed(std::string orchestration, InstanceId instance,
                                               FailureDetails failure)
    : DurableError("sub-orchestration '" + orchestration + "' (instance '" + instance +
                       "') failed: " + failure.message,
                   failure_from_child(failure, instance, orchestration)),
      instance_(std::move(instance)) {}

Cancelled::Cancelled(std::string reason)
    : DurableError("cancelled: " + reason, FailureDetails{.category = ErrorCategory::kApplication,
                                                          .type = std::string(kCancelledType),
                                                          .message = reason,
                                                          .kind = FailureKind::kCancelled}),
      reason_(std::move(reason)) {}

ConfigurationError::ConfigurationError(ErrorCode code, std::string message)
    : DurableError(message, FailureDetails{.category = ErrorCategory::kConfiguration,
                                           .type = "duractor::ConfigurationError",
                                           .message = message,
                                           .kind = failure_kind_of(code)}),
      code_(code) {}

std::string exception_type_name(const std::exception& e) {
  return demangle(typeid(e).name());
}

FailureDetails failure_of(std::exception_ptr error) {
  try {
    std::rethrow_exception(error);
  } catch (const DurableError& e) {
    return e.failure();
  } catch (const NonRetryableError& e) {
    FailureDetails f{ErrorCategory::kApplication, exception_type_name(e), e.what()};
    f.retryable = false;
    return f;
  } catch (const std::exception& e) {
    return FailureDetails{ErrorCategory::kApplication, exception_type_name(e), e.what()};
  } catch (...) {
    return FailureDetails{ErrorCategory::kApplication, "unknown",
                          "an exception not derived from std::exception"};
  }
}

void throw_configuration_error(const Error& error) {
  throw ConfigurationError(error.code, error.message);
}

}  // namespace duractor
