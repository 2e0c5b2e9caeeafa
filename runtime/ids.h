#pragma once
// Identifiers: instances are named by strings the caller chooses (or generated ones),
// executions are numbered from 1 within an instance (continue-as-new starts the next), and
// every history event has a 1-based id within its execution. A scheduling event's id is its
// correlation id: the completion that answers it names that id.

#include <cstdint>
#include <string>
#include <string_view>

#include "duractor/runtime/error.h"

namespace duractor {

using InstanceId = std::string;
using ExecutionId = std::uint32_t;
using EventId = std::uint64_t;

inline constexpr std::size_t kMaxInstanceIdBytes = 256;
inline constexpr std::size_t kMaxNameBytes = 256;

// OK if `id` can name an instance: 1..256 bytes, no control characters (bytes < 0x20 or
// 0x7f). Anything else is kInvalidArgument with a message naming the offending byte.
Status validate_instance_id(std::string_view id);

// OK if `name` can name an orchestration, activity, event or topic: 1..256 bytes, no
// control characters. `what` names the kind in the error ("activity name").
Status validate_name(std::string_view name, std::string_view what);

// A random 128-bit identifier formatted as a UUID (version 4). Thread-safe.
std::string random_uuid();

// A deterministic UUID-formatted identifier derived from `seed` (a name-based UUID over a
// 128-bit hash). The same seed always gives the same id; used for ctx.new_guid().
std::string uuid_from_seed(std::string_view seed);

}  // namespace duractor
