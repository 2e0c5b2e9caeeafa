#pragma once
// The binary encoding of history events and inbox messages: one format-version byte, then a
// msgpack array [kind, fields...]. Layouts are in docs/storage-format.md. Decoding never
// trusts its input: a truncated, foreign or random byte string gives kCorrupt (or
// kUnsupported for a newer format version) with a message naming the record and field, and
// never reads out of bounds. Thread-safe (no shared state).

#include <string>
#include <string_view>

#include "duractor/runtime/history.h"
#include "duractor/runtime/inbox_message.h"
#include "duractor/runtime/instance.h"

namespace duractor {

std::string encode_event(const HistoryEvent& event);
Result<HistoryEvent> decode_event(std::string_view bytes);

std::string encode_message(const InboxEntry& entry);
Result<InboxEntry> decode_message(std::string_view bytes);

std::string encode_instance(const InstanceInfo& info);
Result<InstanceInfo> decode_instance(std::string_view bytes);

std::string encode_execution(const ExecutionInfo& info);
Result<ExecutionInfo> decode_execution(std::string_view bytes);

}  // namespace duractor
