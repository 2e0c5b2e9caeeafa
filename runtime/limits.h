#pragma once
// The defaults of duractor's limits, defined once: HostOptions, the broker, the activity
// pool and the CLI take them from here. docs/operations.md lists every limit.

#include <cstddef>
#include <cstdint>

namespace duractor {

// Inputs, outputs, event and topic payloads, in bytes.
inline constexpr std::size_t kDefaultMaxPayloadBytes = std::size_t{4} << 20;
// A custom status (ctx.set_custom_status), in bytes.
inline constexpr std::size_t kDefaultMaxCustomStatusBytes = std::size_t{64} << 10;
// The reason given with a cancellation, termination or pause, in bytes. Fixed, not an
// option: a reason is a sentence for people, recorded in history and shown by the CLI.
inline constexpr std::size_t kMaxReasonBytes = std::size_t{4} << 10;
// History events in one execution; past it, the execution fails.
inline constexpr std::uint64_t kDefaultMaxHistoryEvents = 100'000;

}  // namespace duractor
