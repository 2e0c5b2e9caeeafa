#include "duractor/store/detail/records.h"

#include "duractor/runtime/detail/record.h"

namespace duractor {

using detail::FieldReader;
using detail::RecordWriter;

// Layout: [id, instance, execution, scheduled_id, activity, input, attempt, created_at,
// deliveries]. Records written before deliveries were counted have 8 fields: 0 deliveries.
std::string encode_work_item(const WorkItem& item) {
  RecordWriter w(9);
  w.u64(item.id).str(item.instance).u64(item.execution).u64(item.scheduled_id);
  w.str(item.activity).bin(item.input).u64(item.attempt).i64(to_unix_ms(item.created_at));
  w.u64(item.deliveries);
  return std::move(w).finish();
}

Result<WorkItem> decode_work_item(std::string_view bytes) {
  return detail::decode_record<WorkItem>(bytes, "work item", [](FieldReader& r) {
    WorkItem item;
    item.id = r.u64("id");
    item.instance = r.str("instance");
    item.execution = r.u32("execution");
    item.scheduled_id = r.u64("scheduled_id");
    item.activity = r.str("activity");
    item.input = r.payload("input");
    item.attempt = r.u32("attempt");
    item.created_at = from_unix_ms(r.i64("created_at"));
    if (r.has_more()) item.deliveries = r.u32("deliveries");
    return item;
  });
}

// Layout: [fire_at, seq, instance, execution, scheduled_id]
std::string encode_timer(const TimerEntry& timer) {
  RecordWriter w(5);
  w.i64(to_unix_ms(timer.key.fire_at)).u64(timer.key.seq).str(timer.instance);
  w.u64(timer.execution).u64(timer.scheduled_id);
  return std::move(w).finish();
}

Result<TimerEntry> decode_timer(std::string_view bytes) {
  return detail::decode_record<TimerEntry>(bytes, "timer", [](FieldReader& r) {
    TimerEntry t;
    t.key.fire_at = from_unix_ms(r.i64("fire_at"));
    t.key.seq = r.u64("seq");
    t.instance = r.str("instance");
    t.execution = r.u32("execution");
    t.scheduled_id = r.u64("scheduled_id");
    return t;
  });
}

// Layout: [instance, execution, first_event, [event bytes...]]
std::string encode_journal_record(const JournalRecord& r) {
  RecordWriter w(4);
  w.str(r.instance).u64(r.execution).u64(r.first_event);
  w.array(static_cast<std::uint32_t>(r.events.size()));
  for (const auto& e : r.events) w.bin(e);
  return std::move(w).finish();
}

Result<JournalRecord> decode_journal_record(std::string_view bytes) {
  return detail::decode_record<JournalRecord>(bytes, "journal record", [](FieldReader& r) {
    JournalRecord j;
    j.instance = r.str("instance");
    j.execution = r.u32("execution");
    j.first_event = r.u64("first_event");
    auto events = r.array("events");
    j.events.reserve(events.size());
    while (events.has_more()) j.events.push_back(events.bin("event"));
    return j;
  });
}

Result<JournalHeader> decode_journal_header(std::string_view bytes) {
  return detail::decode_record<JournalHeader>(bytes, "journal record", [](FieldReader& r) {
    JournalHeader h;
    h.instance = r.str("instance");
    h.execution = r.u32("execution");
    h.first_event = r.u64("first_event");
    h.event_count = r.array("events").size();
    return h;
  });
}

}  // namespace duractor
