#pragma once
// Durations and times as people type them: the CLI's flags (--older-than 7d,
// --completed-before 2026-11-26) and the HTTP API's parameters (created_after=...).

#include <string_view>

#include "duractor/runtime/error.h"
#include "duractor/runtime/time.h"

namespace duractor::detail {

// Parses a duration: one or more <number><unit> with unit ms, s, m, h, d or w ("30s",
// "10m", "1h30m", "7d"). Errors: kInvalidArgument naming the text and what was expected.
Result<Milliseconds> parse_duration(std::string_view text);
// Parses a point in time: an ISO 8601 UTC time as the CLI prints them
// ("2026-11-26T10:46:12.553Z", the milliseconds optional), a UTC date ("2026-11-26", its
// midnight), or a duration ago ("7d": now minus 7 days). Errors: kInvalidArgument naming
// the text and what was expected.
Result<TimePoint> parse_time(std::string_view text, TimePoint now);

}  // namespace duractor::detail
