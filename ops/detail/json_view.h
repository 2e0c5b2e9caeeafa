#pragma once
// JSON views of what a store holds, for the duractor CLI and the HTTP API: payloads (msgpack
// bytes) as JSON, and instances, executions, history events, inbox messages, work items,
// timers and store statistics as JSON objects. The field names are stable — scripts rely on them —
// and documented in docs/cli.md and docs/http.md. Pure functions; thread-safe. Internal to duractor
// (the installed public headers never include nlohmann-json).

#include <expected>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "duractor/ops/detail/base64.h"
#include "duractor/store/store.h"

namespace duractor::json {

// Objects keep their fields in the order written, so output reads the same every time.
using Json = nlohmann::ordered_json;

// A payload's msgpack bytes as JSON: the value itself when the bytes are exactly one msgpack
// value that JSON can hold (map keys must be strings); otherwise {"msgpack_hex": "..."}.
// msgpack binary values inside become {"base64": "..."}. Never fails.
Json payload_json(std::string_view bytes);
// Parses JSON text; on a syntax error, what is wrong and where ("syntax error while parsing
// value - invalid literal; last read: 'x'"), without nlohmann's exception tag.
std::expected<Json, std::string> parse_json_text(std::string_view text);
// A JSON value as payload bytes (msgpack), the way an orchestration's decode<T> reads them:
// an integer for int, an array for a struct with MSGPACK_DEFINE, an object for one with
// MSGPACK_DEFINE_MAP, null for Unit.
Bytes payload_bytes(const Json& value);

// 2024-05-01T12:00:00.123Z (UTC, milliseconds).
std::string iso_time(TimePoint t);

// base64 and from_base64 (ops/detail/base64.h), which the export file's reader shares.
using duractor::detail::base64;
using duractor::detail::from_base64;

Json failure_json(const FailureDetails& failure);
// With `payloads` unset, input and output are left out (listings).
Json instance_json(const InstanceInfo& info, bool payloads = true);
Json execution_json(const ExecutionInfo& info);
// {"id", "timestamp", "kind", then the kind's fields}; payload fields as payload_json.
Json event_json(const HistoryEvent& event);
// {"seq", "enqueued_at", "kind", then the kind's fields}.
Json message_json(const InboxEntry& entry);
Json work_json(const WorkItem& item);
Json timer_json(const TimerEntry& timer);
// {"path", "file_bytes", ..., "instances_by_status": {"pending": n, ...}, ...}.
Json stats_json(const StoreStats& stats);

}  // namespace duractor::json
