#include "duractor/pubsub/caf_errors.h"

#include <caf/atom.hpp>
#include <caf/message.hpp>
#include <caf/sec.hpp>

namespace duractor {
namespace {
constexpr caf::atom_value kCategory = caf::atom("duractor");
}

caf::error to_caf_error(const Error& error) {
  return caf::error(
      static_cast<std::uint8_t>(static_cast<std::uint8_t>(error.code) + 1), kCategory,
      caf::make_message(error.message, static_cast<std::uint8_t>(error.category), error.retryable));
}

Error from_caf_error(const caf::error& error) {
  if (error.category() == kCategory && error.code() > 0) {
    const auto& context = error.context();
    auto code = static_cast<ErrorCode>(error.code() - 1);
    if (context.match_elements<std::string, std::uint8_t, bool>()) {
      Error e;
      e.code = code;
      e.message = context.get_as<std::string>(0);
      e.category = static_cast<ErrorCategory>(context.get_as<std::uint8_t>(1));
      e.retryable = context.get_as<bool>(2);
      return e;
    }
    // Without the full context (another sender): what is usual for the code.
    std::string message;
    if (context.match_elements<std::string>()) message = context.get_as<std::string>(0);
    return Error::make(code, message);
  }
  if (error == caf::sec::request_timeout) {
    return Error::make(ErrorCode::kTimeout, "the runtime did not answer in time");
  }
  return Error::make(ErrorCode::kInternal,
                     "actor system error (code " + std::to_string(error.code()) + ")");
}

}  // namespace duractor
