#include "duractor/ops/detail/json_view.h"

#include <ctime>
#include <type_traits>

namespace duractor::json {
namespace {

std::string hex(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 0xf]);
  }
  return out;
}

// msgpack bin values arrive as JSON "binary" values, which JSON text cannot show.
void replace_binaries(Json& value) {
  if (value.is_binary()) {
    const auto& bin = value.get_binary();
    value = Json{{"base64", base64(std::string(bin.begin(), bin.end()))}};
  } else if (value.is_structured()) {
    for (auto& element : value) replace_binaries(element);
  }
}

Json optional_time(const std::optional<TimePoint>& t) {
  return t ? Json(iso_time(*t)) : Json();
}

Json parent_json(const std::optional<ParentLink>& parent) {
  if (!parent) return Json();
  return Json{{"instance", parent->instance},
              {"execution", parent->execution},
              {"scheduled_id", parent->scheduled_id}};
}

Json optional_failure(const std::optional<FailureDetails>& failure) {
  return failure ? failure_json(*failure) : Json();
}

Json carried_json(const std::vector<CarriedEvent>& carried) {
  Json out = Json::array();
  for (const auto& c : carried)
    out.push_back(Json{{"name", c.name}, {"payload", payload_json(c.payload)}});
  return out;
}

// The fields of each event kind (docs/storage-format.md lists the same, in the same order).
struct EventFields {
  Json& j;
  void operator()(const event::ExecutionStarted& e) const {
    j["name"] = e.name;
    j["version"] = e.version;
    j["input"] = payload_json(e.input);
    j["parent"] = parent_json(e.parent);
    j["carried_events"] = carried_json(e.carried_events);
    j["rules"] = e.rules;
    j["custom_status"] = e.custom_status.empty() ? Json(nullptr) : Json(e.custom_status);
  }
  void operator()(const event::ActivityScheduled& e) const {
    j["name"] = e.name;
    j["input"] = payload_json(e.input);
    j["attempt"] = e.attempt;
  }
  void operator()(const event::ActivityCompleted& e) const {
    j["scheduled_id"] = e.scheduled_id;
    j["output"] = payload_json(e.output);
  }
  void operator()(const event::ActivityFailed& e) const {
    j["scheduled_id"] = e.scheduled_id;
    j["failure"] = failure_json(e.failure);
  }
  void operator()(const event::ActivityCancelRequested& e) const {
    j["scheduled_id"] = e.scheduled_id;
    j["reason"] = e.reason;
  }
  void operator()(const event::TimerCreated& e) const { j["fire_at"] = iso_time(e.fire_at); }
  void operator()(const event::TimerFired& e) const {
    j["scheduled_id"] = e.scheduled_id;
    j["fire_at"] = iso_time(e.fire_at);
  }
  void operator()(const event::EventRaised& e) const {
    j["name"] = e.name;
    j["payload"] = payload_json(e.payload);
  }
  void operator()(const event::EventSent& e) const {
    j["instance"] = e.instance;
    j["name"] = e.name;
    j["payload"] = payload_json(e.payload);
  }
  void operator()(const event::SubOrchestrationScheduled& e) const {
    j["name"] = e.name;
    j["version"] = e.version;
    j["instance"] = e.instance;
    j["input"] = payload_json(e.input);
    j["detached"] = e.detached;
  }
  void operator()(const event::SubOrchestrationCompleted& e) const {
    j["scheduled_id"] = e.scheduled_id;
    j["output"] = payload_json(e.output);
  }
  void operator()(const event::SubOrchestrationFailed& e) const {
    j["scheduled_id"] = e.scheduled_id;
    j["failure"] = failure_json(e.failure);
  }
  void operator()(const event::SubOrchestrationCancelRequested& e) const {
    j["scheduled_id"] = e.scheduled_id;
    j["reason"] = e.reason;
    j["terminate"] = e.terminate;
  }
  void operator()(const event::CancelRequested& e) const {
    j["reason"] = e.reason;
    j["terminate"] = e.terminate;
    j["disposition"] = e.disposition == event::CancelDisposition::kBeforeStart ? "before start"
                       : e.disposition == event::CancelDisposition::kIgnored   ? "ignored"
                                                                               : "delivered";
  }
  void operator()(const event::ContinuedAsNew& e) const {
    j["input"] = payload_json(e.input);
    j["version"] = e.version;
  }
  void operator()(const event::ExecutionCompleted& e) const {
    j["output"] = payload_json(e.output);
  }
  void operator()(const event::ExecutionFailed& e) const { j["failure"] = failure_json(e.failure); }
  void operator()(const event::ExecutionCancelled& e) const { j["reason"] = e.reason; }
  void operator()(const event::CustomStatusSet& e) const { j["status"] = e.status; }
  void operator()(const event::TopicSubscribed& e) const { j["topic"] = e.topic; }
  void operator()(const event::TopicUnsubscribed& e) const { j["topic"] = e.topic; }
  void operator()(const event::TopicPublished& e) const {
    j["topic"] = e.topic;
    j["payload"] = payload_json(e.payload);
  }
};

struct MessageFields {
  Json& j;
  void operator()(const message::Start& m) const {
    j["execution"] = m.execution;
    j["name"] = m.name;
    j["version"] = m.version;
    j["input"] = payload_json(m.input);
    j["parent"] = parent_json(m.parent);
    j["carried_events"] = carried_json(m.carried_events);
    j["custom_status"] = m.custom_status.empty() ? Json(nullptr) : Json(m.custom_status);
  }
  void operator()(const message::Event& m) const {
    j["name"] = m.name;
    j["payload"] = payload_json(m.payload);
  }
  void operator()(const message::Cancel& m) const {
    j["reason"] = m.reason;
    j["terminate"] = m.terminate;
  }
  void operator()(const message::ActivityResult& m) const {
    j["execution"] = m.execution;
    j["scheduled_id"] = m.scheduled_id;
    j["output"] = m.failure ? Json() : payload_json(m.output);
    j["failure"] = optional_failure(m.failure);
  }
  void operator()(const message::TimerFired& m) const {
    j["execution"] = m.execution;
    j["scheduled_id"] = m.scheduled_id;
    j["fire_at"] = iso_time(m.fire_at);
  }
  void operator()(const message::ChildResult& m) const {
    j["execution"] = m.execution;
    j["scheduled_id"] = m.scheduled_id;
    j["output"] = m.failure ? Json() : payload_json(m.output);
    j["failure"] = optional_failure(m.failure);
  }
  void operator()(const message::Pause& m) const { j["reason"] = m.reason; }
  void operator()(const message::Resume&) const {}
};

}  // namespace

Json payload_json(std::string_view bytes) {
  Json value;
  try {
    value = Json::from_msgpack(bytes.begin(), bytes.end(), /*strict=*/true,
                               /*allow_exceptions=*/false);
  } catch (const std::exception&) {
    value = Json(Json::value_t::discarded);
  }
  if (value.is_discarded()) return Json{{"msgpack_hex", hex(bytes)}};
  replace_binaries(value);
  return value;
}

std::expected<Json, std::string> parse_json_text(std::string_view text) {
  try {
    return Json::parse(text);
  } catch (const Json::parse_error& e) {
    std::string message = e.what();
    auto tag = message.find("] ");  // drop "[json.exception.parse_error.101] "
    if (tag != std::string::npos) message = message.substr(tag + 2);
    return std::unexpected(std::move(message));
  }
}

Bytes payload_bytes(const Json& value) {
  auto packed = Json::to_msgpack(value);
  return Bytes(std::string(packed.begin(), packed.end()));
}

std::string iso_time(TimePoint t) {
  auto ms = to_unix_ms(t);
  auto seconds = ms / 1000, millis = ms % 1000;
  if (millis < 0) millis += 1000, seconds -= 1;  // floor, for times before 1970
  std::time_t whole = static_cast<std::time_t>(seconds);
  std::tm utc{};
  if (::gmtime_r(&whole, &utc) == nullptr) return std::to_string(ms) + "ms";
  char text[80];
  std::snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", utc.tm_year + 1900,
                utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec,
                static_cast<int>(millis));
  return text;
}

Json failure_json(const FailureDetails& failure) {
  Json j{{"kind", std::string(to_string(failure.kind))},
         {"category", std::string(to_string(failure.category))},
         {"type", failure.type},
         {"message", failure.message}};
  if (!failure.retryable) j["retryable"] = false;
  if (!failure.causes.empty()) {
    Json causes = Json::array();
    for (const auto& c : failure.causes) {
      causes.push_back(Json{
          {"instance", c.instance}, {"name", c.name}, {"kind", std::string(to_string(c.kind))}});
    }
    j["causes"] = std::move(causes);
  }
  return j;
}

Json instance_json(const InstanceInfo& info, bool payloads) {
  Json j;
  j["id"] = info.id;
  j["name"] = info.name;
  j["version"] = info.version;
  j["status"] = std::string(to_string(info.status));
  j["execution"] = info.execution;
  j["created_at"] = iso_time(info.created_at);
  j["updated_at"] = iso_time(info.updated_at);
  j["completed_at"] = optional_time(info.completed_at);
  if (payloads) {
    j["input"] = payload_json(info.input);
    j["output"] = info.status == InstanceStatus::kCompleted ? payload_json(info.output) : Json();
  }
  j["failure"] = optional_failure(info.failure);
  j["custom_status"] = info.custom_status;
  j["parent"] = parent_json(info.parent);
  j["forked_from"] = info.forked_from ? Json{{"instance", info.forked_from->instance},
                                             {"execution", info.forked_from->execution},
                                             {"step", info.forked_from->step}}
                                      : Json();
  return j;
}

Json execution_json(const ExecutionInfo& info) {
  return Json{{"execution", info.execution},
              {"version", info.version},
              {"status", std::string(to_string(info.status))},
              {"started_at", iso_time(info.started_at)},
              {"completed_at", optional_time(info.completed_at)},
              {"event_count", info.event_count},
              {"continued_as_new", info.continued_as_new}};
}

Json event_json(const HistoryEvent& event) {
  Json j;
  j["id"] = event.id;
  j["timestamp"] = iso_time(event.timestamp);
  j["kind"] = std::string(event.kind_name());
  std::visit(EventFields{j}, event.body);
  return j;
}

Json message_json(const InboxEntry& entry) {
  Json j;
  j["seq"] = entry.seq;
  j["enqueued_at"] = iso_time(entry.enqueued_at);
  j["kind"] = std::string(to_string(kind_of(entry.message)));
  std::visit(MessageFields{j}, entry.message);
  return j;
}

Json work_json(const WorkItem& item) {
  return Json{{"id", item.id},
              {"instance", item.instance},
              {"execution", item.execution},
              {"scheduled_id", item.scheduled_id},
              {"activity", item.activity},
              {"input", payload_json(item.input)},
              {"attempt", item.attempt},
              {"created_at", iso_time(item.created_at)}};
}

Json timer_json(const TimerEntry& timer) {
  return Json{{"fire_at", iso_time(timer.key.fire_at)},
              {"seq", timer.key.seq},
              {"instance", timer.instance},
              {"execution", timer.execution},
              {"scheduled_id", timer.scheduled_id}};
}

Json stats_json(const StoreStats& s) {
  Json by_status;
  for (std::size_t i = 0; i < s.instances_by_status.size(); ++i) {
    by_status[std::string(to_string(static_cast<InstanceStatus>(i)))] = s.instances_by_status[i];
  }
  return Json{{"path", s.path},
              {"file_bytes", s.file_bytes},
              {"map_size", s.map_size},
              {"map_used", s.used_bytes},
              {"page_size", s.page_size},
              {"readers", s.readers},
              {"max_readers", s.max_readers},
              {"last_commit", s.last_commit},
              {"instances", s.instances},
              {"instances_by_status", by_status},
              {"executions", s.executions},
              {"history_events", s.history_events},
              {"journal_records", s.journal_records},
              {"inbox_messages", s.inbox_messages},
              {"work_items", s.work_items},
              {"timers", s.timers},
              {"subscriptions", s.subscriptions},
              {"message_ids", s.message_ids}};
}

}  // namespace duractor::json
