#pragma once
// duractor errors in CAF messages: replies of the client actor carry a caf::error whose
// category is the atom "duractor", whose code is ErrorCode + 1 and whose context holds the
// message, the ErrorCategory (as uint8) and the retryable flag: the Error comes back whole.

#include <caf/error.hpp>

#include "duractor/runtime/error.h"

namespace duractor {

caf::error to_caf_error(const Error& error);
// The duractor error inside `error`; errors from CAF itself become kInternal (or kTimeout
// for request timeouts) with CAF's description.
Error from_caf_error(const caf::error& error);

}  // namespace duractor
