#pragma once
// Encodings of the store's own records (work items, timers, counters), in the same frame as
// the history codec: a format-version byte and a msgpack array. See docs/storage-format.md.

#include <string>
#include <string_view>

#include "store/store.h"

namespace duractor {

std::string encode_work_item(const WorkItem& item);
Result<WorkItem> decode_work_item(std::string_view bytes);

std::string encode_timer(const TimerEntry& timer);
Result<TimerEntry> decode_timer(std::string_view bytes);

}  // namespace duractor
