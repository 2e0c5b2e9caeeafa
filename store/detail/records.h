#pragma once
// Encodings of the store's own records (work items, timers, counters), in the same frame as
// the history codec: a format-version byte and a msgpack array. See docs/storage-format.md.

#include <string>
#include <string_view>
#include <vector>

#include "duractor/store/store.h"

namespace duractor {

std::string encode_work_item(const WorkItem& item);
Result<WorkItem> decode_work_item(std::string_view bytes);

std::string encode_timer(const TimerEntry& timer);
Result<TimerEntry> decode_timer(std::string_view bytes);

// One committed turn's events, as the LMDB store keeps them in its journal until
// compaction moves them into the per-instance history table. `events` holds each event
// already encoded (encode_event), so compaction copies bytes without decoding.
struct JournalRecord {
  InstanceId instance;
  ExecutionId execution = 0;
  EventId first_event = 0;
  std::vector<std::string> events;
};

std::string encode_journal_record(const JournalRecord& record);
Result<JournalRecord> decode_journal_record(std::string_view bytes);

// A journal record's header, without copying its events: what checks on the commit path
// need.
struct JournalHeader {
  InstanceId instance;
  ExecutionId execution = 0;
  EventId first_event = 0;
  std::size_t event_count = 0;
};
Result<JournalHeader> decode_journal_header(std::string_view bytes);

}  // namespace duractor
