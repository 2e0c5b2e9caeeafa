#include "duractor/runtime/detail/codec.h"

#include "duractor/runtime/detail/record.h"

namespace duractor {
namespace {

using detail::FieldReader;
using detail::RecordWriter;

// ---- shared pieces -------------------------------------------------------------------

// [category, type, message, retryable, kind] or, for a failure that came from
// sub-orchestrations, [category, type, message, retryable, kind, causes] with causes
// [[instance, name, kind], ...], nearest first. Records written before kinds existed are
// [category, type, message] or [category, type, message, false] (not retryable).
void write_failure(RecordWriter& w, const FailureDetails& f) {
  w.array(f.causes.empty() ? 5 : 6)
      .u64(static_cast<std::uint8_t>(f.category))
      .str(f.type)
      .str(f.message)
      .boolean(f.retryable)
      .u64(static_cast<std::uint8_t>(f.kind));
  if (f.causes.empty()) return;
  w.array(static_cast<std::uint32_t>(f.causes.size()));
  for (const auto& c : f.causes) {
    w.array(3).str(c.instance).str(c.name).u64(static_cast<std::uint8_t>(c.kind));
  }
}

FailureKind read_kind(FieldReader& r, std::string_view field) {
  auto kind = r.u8(field);
  if (kind > static_cast<std::uint8_t>(FailureKind::kInfrastructure)) {
    r.fail_field(field, "unknown failure kind " + std::to_string(kind));
  }
  return static_cast<FailureKind>(kind);
}

// The kind of a failure recorded before kinds existed, from its type where only one part
// of duractor records that type; `fallback` otherwise (see docs/storage-format.md).
FailureKind kind_of_old_record(std::string_view type, FailureKind fallback) {
  if (type == "duractor::ActivityTimedOut") return FailureKind::kTimedOut;
  if (type == "duractor::Cancelled") return FailureKind::kCancelled;
  if (type == "duractor::NotRegistered") return FailureKind::kUnregistered;
  if (type == "duractor::Nondeterminism") return FailureKind::kNondeterminism;
  if (type == "duractor::LimitExceeded") return FailureKind::kLimitExceeded;
  if (type == "duractor::ActivityPoisoned" || type == "duractor::TurnPoisoned") {
    return FailureKind::kPoison;
  }
  if (type == "duractor::InstanceAlreadyExists") return FailureKind::kAlreadyExists;
  return fallback;
}

// `fallback`: the kind of an old record whose type says nothing (kActivityFailed where an
// activity's result is read, kApplication elsewhere).
FailureDetails read_failure(FieldReader& r, std::string_view field,
                            FailureKind fallback = FailureKind::kApplication) {
  auto a = r.array(field);
  FailureDetails f;
  auto category = a.u8("category");
  if (category > static_cast<std::uint8_t>(ErrorCategory::kInfrastructure)) {
    a.fail_field("category", "unknown error category " + std::to_string(category));
  }
  f.category = static_cast<ErrorCategory>(category);
  f.type = a.str("type");
  f.message = a.str("message");
  if (a.has_more()) f.retryable = a.boolean("retryable");
  if (!a.has_more()) {
    f.kind = kind_of_old_record(f.type, fallback);
    return f;
  }
  f.kind = read_kind(a, "kind");
  if (a.has_more()) {
    auto causes = a.array("causes");
    while (causes.has_more()) {
      auto c = causes.array("cause");
      FailureCause cause;
      cause.instance = c.str("instance");
      cause.name = c.str("name");
      cause.kind = read_kind(c, "kind");
      f.causes.push_back(std::move(cause));
    }
  }
  return f;
}

void write_optional_failure(RecordWriter& w, const std::optional<FailureDetails>& f) {
  if (f) {
    write_failure(w, *f);
  } else {
    w.nil();
  }
}

std::optional<FailureDetails> read_optional_failure(
    FieldReader& r, std::string_view field, FailureKind fallback = FailureKind::kApplication) {
  if (r.next_is_nil()) {
    r.nil(field);
    return std::nullopt;
  }
  return read_failure(r, field, fallback);
}

void write_parent(RecordWriter& w, const std::optional<ParentLink>& p) {
  if (!p) {
    w.nil();
    return;
  }
  w.array(3).str(p->instance).u64(p->execution).u64(p->scheduled_id);
}

std::optional<ParentLink> read_parent(FieldReader& r, std::string_view field) {
  if (r.next_is_nil()) {
    r.nil(field);
    return std::nullopt;
  }
  auto a = r.array(field);
  ParentLink p;
  p.instance = a.str("instance");
  p.execution = a.u32("execution");
  p.scheduled_id = a.u64("scheduled_id");
  return p;
}

void write_carried(RecordWriter& w, const std::vector<CarriedEvent>& events) {
  w.array(static_cast<std::uint32_t>(events.size()));
  for (const auto& e : events) w.array(2).str(e.name).bin(e.payload);
}

std::vector<CarriedEvent> read_carried(FieldReader& r, std::string_view field) {
  auto a = r.array(field);
  std::vector<CarriedEvent> events;
  events.reserve(a.size());
  while (a.has_more()) {
    auto e = a.array("event");
    CarriedEvent c;
    c.name = e.str("name");
    c.payload = e.payload("payload");
    events.push_back(std::move(c));
  }
  return events;
}

void write_time(RecordWriter& w, TimePoint t) {
  w.i64(to_unix_ms(t));
}
TimePoint read_time(FieldReader& r, std::string_view field) {
  return from_unix_ms(r.i64(field));
}

void write_optional_time(RecordWriter& w, const std::optional<TimePoint>& t) {
  if (t) {
    write_time(w, *t);
  } else {
    w.nil();
  }
}

std::optional<TimePoint> read_optional_time(FieldReader& r, std::string_view field) {
  if (r.next_is_nil()) {
    r.nil(field);
    return std::nullopt;
  }
  return read_time(r, field);
}

// ---- history events --------------------------------------------------------------------
// Layout: [kind, id, timestamp_ms, [body fields...]]

struct BodyWriter {
  RecordWriter& w;
  void operator()(const event::ExecutionStarted& e) {
    // Records before rules revision 2 had the first five fields only.
    w.array(7).str(e.name).u64(e.version).bin(e.input);
    write_parent(w, e.parent);
    write_carried(w, e.carried_events);
    w.u64(e.rules).str(e.custom_status);
  }
  void operator()(const event::ActivityScheduled& e) {
    w.array(3).str(e.name).bin(e.input).u64(e.attempt);
  }
  void operator()(const event::ActivityCompleted& e) {
    w.array(2).u64(e.scheduled_id).bin(e.output);
  }
  void operator()(const event::ActivityFailed& e) {
    w.array(2).u64(e.scheduled_id);
    write_failure(w, e.failure);
  }
  void operator()(const event::ActivityCancelRequested& e) {
    w.array(2).u64(e.scheduled_id).str(e.reason);
  }
  void operator()(const event::TimerCreated& e) {
    w.array(1);
    write_time(w, e.fire_at);
  }
  void operator()(const event::TimerFired& e) {
    w.array(2).u64(e.scheduled_id);
    write_time(w, e.fire_at);
  }
  void operator()(const event::EventRaised& e) { w.array(2).str(e.name).bin(e.payload); }
  void operator()(const event::EventSent& e) {
    w.array(3).str(e.instance).str(e.name).bin(e.payload);
  }
  void operator()(const event::SubOrchestrationScheduled& e) {
    w.array(5).str(e.name).u64(e.version).str(e.instance).bin(e.input).boolean(e.detached);
  }
  void operator()(const event::SubOrchestrationCompleted& e) {
    w.array(2).u64(e.scheduled_id).bin(e.output);
  }
  void operator()(const event::SubOrchestrationFailed& e) {
    w.array(2).u64(e.scheduled_id);
    write_failure(w, e.failure);
  }
  void operator()(const event::SubOrchestrationCancelRequested& e) {
    w.array(3).u64(e.scheduled_id).str(e.reason).boolean(e.terminate);
  }
  // [reason, terminate], and the disposition when it is not "delivered" (older records).
  void operator()(const event::CancelRequested& e) {
    bool delivered = e.disposition == event::CancelDisposition::kDelivered;
    w.array(delivered ? 2 : 3).str(e.reason).boolean(e.terminate);
    if (!delivered) w.u64(static_cast<std::uint8_t>(e.disposition));
  }
  void operator()(const event::ContinuedAsNew& e) { w.array(2).bin(e.input).u64(e.version); }
  void operator()(const event::ExecutionCompleted& e) { w.array(1).bin(e.output); }
  void operator()(const event::ExecutionFailed& e) {
    w.array(1);
    write_failure(w, e.failure);
  }
  void operator()(const event::ExecutionCancelled& e) { w.array(1).str(e.reason); }
  void operator()(const event::CustomStatusSet& e) { w.array(1).str(e.status); }
  void operator()(const event::TopicSubscribed& e) { w.array(1).str(e.topic); }
  void operator()(const event::TopicUnsubscribed& e) { w.array(1).str(e.topic); }
  void operator()(const event::TopicPublished& e) { w.array(2).str(e.topic).bin(e.payload); }
};

EventBody read_body(EventKind kind, FieldReader& b) {
  switch (kind) {
    case EventKind::kExecutionStarted: {
      event::ExecutionStarted e;
      e.name = b.str("name");
      e.version = b.u32("version");
      e.input = b.payload("input");
      e.parent = read_parent(b, "parent");
      e.carried_events = read_carried(b, "carried_events");
      if (b.has_more()) e.rules = b.u32("rules");  // the engine refuses what it does not know
      if (b.has_more()) e.custom_status = b.str("custom_status");
      return e;
    }
    case EventKind::kActivityScheduled: {
      event::ActivityScheduled e;
      e.name = b.str("name");
      e.input = b.payload("input");
      e.attempt = b.u32("attempt");
      return e;
    }
    case EventKind::kActivityCompleted: {
      event::ActivityCompleted e;
      e.scheduled_id = b.u64("scheduled_id");
      e.output = b.payload("output");
      return e;
    }
    case EventKind::kActivityFailed: {
      event::ActivityFailed e;
      e.scheduled_id = b.u64("scheduled_id");
      e.failure = read_failure(b, "failure", FailureKind::kActivityFailed);
      return e;
    }
    case EventKind::kActivityCancelRequested: {
      event::ActivityCancelRequested e;
      e.scheduled_id = b.u64("scheduled_id");
      e.reason = b.str("reason");
      return e;
    }
    case EventKind::kTimerCreated: {
      event::TimerCreated e;
      e.fire_at = read_time(b, "fire_at");
      return e;
    }
    case EventKind::kTimerFired: {
      event::TimerFired e;
      e.scheduled_id = b.u64("scheduled_id");
      e.fire_at = read_time(b, "fire_at");
      return e;
    }
    case EventKind::kEventRaised: {
      event::EventRaised e;
      e.name = b.str("name");
      e.payload = b.payload("payload");
      return e;
    }
    case EventKind::kEventSent: {
      event::EventSent e;
      e.instance = b.str("instance");
      e.name = b.str("name");
      e.payload = b.payload("payload");
      return e;
    }
    case EventKind::kSubOrchestrationScheduled: {
      event::SubOrchestrationScheduled e;
      e.name = b.str("name");
      e.version = b.u32("version");
      e.instance = b.str("instance");
      e.input = b.payload("input");
      e.detached = b.boolean("detached");
      return e;
    }
    case EventKind::kSubOrchestrationCompleted: {
      event::SubOrchestrationCompleted e;
      e.scheduled_id = b.u64("scheduled_id");
      e.output = b.payload("output");
      return e;
    }
    case EventKind::kSubOrchestrationFailed: {
      event::SubOrchestrationFailed e;
      e.scheduled_id = b.u64("scheduled_id");
      e.failure = read_failure(b, "failure");
      return e;
    }
    case EventKind::kSubOrchestrationCancelRequested: {
      event::SubOrchestrationCancelRequested e;
      e.scheduled_id = b.u64("scheduled_id");
      e.reason = b.str("reason");
      e.terminate = b.boolean("terminate");
      return e;
    }
    case EventKind::kCancelRequested: {
      event::CancelRequested e;
      e.reason = b.str("reason");
      e.terminate = b.boolean("terminate");
      if (b.has_more()) {
        auto d = b.u8("disposition");
        if (d > static_cast<std::uint8_t>(event::CancelDisposition::kIgnored)) {
          b.fail_field("disposition", "unknown cancel disposition " + std::to_string(d));
        }
        e.disposition = static_cast<event::CancelDisposition>(d);
      }
      return e;
    }
    case EventKind::kContinuedAsNew: {
      event::ContinuedAsNew e;
      e.input = b.payload("input");
      e.version = b.u32("version");
      return e;
    }
    case EventKind::kExecutionCompleted: {
      event::ExecutionCompleted e;
      e.output = b.payload("output");
      return e;
    }
    case EventKind::kExecutionFailed: {
      event::ExecutionFailed e;
      e.failure = read_failure(b, "failure");
      return e;
    }
    case EventKind::kExecutionCancelled: {
      event::ExecutionCancelled e;
      e.reason = b.str("reason");
      return e;
    }
    case EventKind::kCustomStatusSet: {
      event::CustomStatusSet e;
      e.status = b.str("status");
      return e;
    }
    case EventKind::kTopicSubscribed: {
      event::TopicSubscribed e;
      e.topic = b.str("topic");
      return e;
    }
    case EventKind::kTopicUnsubscribed: {
      event::TopicUnsubscribed e;
      e.topic = b.str("topic");
      return e;
    }
    case EventKind::kTopicPublished: {
      event::TopicPublished e;
      e.topic = b.str("topic");
      e.payload = b.payload("payload");
      return e;
    }
  }
  b.fail_field("kind", "unknown event kind " + std::to_string(static_cast<int>(kind)));
}

// ---- inbox messages --------------------------------------------------------------------
// Layout: [kind, seq, enqueued_at_ms, [body fields...]]

struct MessageWriter {
  RecordWriter& w;
  void operator()(const message::Start& m) {
    w.array(7).u64(m.execution).str(m.name).u64(m.version).bin(m.input);
    write_parent(w, m.parent);
    write_carried(w, m.carried_events);
    w.str(m.custom_status);
  }
  void operator()(const message::Event& m) { w.array(2).str(m.name).bin(m.payload); }
  void operator()(const message::Cancel& m) { w.array(2).str(m.reason).boolean(m.terminate); }
  void operator()(const message::ActivityResult& m) {
    w.array(4).u64(m.execution).u64(m.scheduled_id).bin(m.output);
    write_optional_failure(w, m.failure);
  }
  void operator()(const message::TimerFired& m) {
    w.array(3).u64(m.execution).u64(m.scheduled_id);
    write_time(w, m.fire_at);
  }
  void operator()(const message::ChildResult& m) {
    w.array(4).u64(m.execution).u64(m.scheduled_id).bin(m.output);
    write_optional_failure(w, m.failure);
  }
  void operator()(const message::Pause& m) { w.array(1).str(m.reason); }
  void operator()(const message::Resume&) { w.array(0); }
};

InboxMessage read_message_body(MessageKind kind, FieldReader& b) {
  switch (kind) {
    case MessageKind::kStart: {
      message::Start m;
      m.execution = b.u32("execution");
      m.name = b.str("name");
      m.version = b.u32("version");
      m.input = b.payload("input");
      m.parent = read_parent(b, "parent");
      m.carried_events = read_carried(b, "carried_events");
      if (b.has_more()) m.custom_status = b.str("custom_status");
      return m;
    }
    case MessageKind::kEvent: {
      message::Event m;
      m.name = b.str("name");
      m.payload = b.payload("payload");
      return m;
    }
    case MessageKind::kCancel: {
      message::Cancel m;
      m.reason = b.str("reason");
      m.terminate = b.boolean("terminate");
      return m;
    }
    case MessageKind::kActivityResult: {
      message::ActivityResult m;
      m.execution = b.u32("execution");
      m.scheduled_id = b.u64("scheduled_id");
      m.output = b.payload("output");
      m.failure = read_optional_failure(b, "failure", FailureKind::kActivityFailed);
      return m;
    }
    case MessageKind::kTimerFired: {
      message::TimerFired m;
      m.execution = b.u32("execution");
      m.scheduled_id = b.u64("scheduled_id");
      m.fire_at = read_time(b, "fire_at");
      return m;
    }
    case MessageKind::kChildResult: {
      message::ChildResult m;
      m.execution = b.u32("execution");
      m.scheduled_id = b.u64("scheduled_id");
      m.output = b.payload("output");
      m.failure = read_optional_failure(b, "failure");
      return m;
    }
    case MessageKind::kPause: {
      message::Pause m;
      m.reason = b.str("reason");
      return m;
    }
    case MessageKind::kResume:
      return message::Resume{};
  }
  b.fail_field("kind", "unknown message kind " + std::to_string(static_cast<int>(kind)));
}

bool known_event_kind(std::uint8_t k) {
  return k >= static_cast<std::uint8_t>(EventKind::kExecutionStarted) &&
         k <= static_cast<std::uint8_t>(EventKind::kTopicPublished);
}

bool known_message_kind(std::uint8_t k) {
  return k >= static_cast<std::uint8_t>(MessageKind::kStart) &&
         k <= static_cast<std::uint8_t>(MessageKind::kResume);
}

InstanceStatus read_status(FieldReader& r, std::string_view field) {
  auto s = r.u8(field);
  if (s >= kInstanceStatusCount) {
    r.fail_field(field, "unknown instance status " + std::to_string(s));
  }
  return static_cast<InstanceStatus>(s);
}

}  // namespace

std::string encode_event(const HistoryEvent& event) {
  RecordWriter w(4);
  w.u64(static_cast<std::uint8_t>(event.kind())).u64(event.id);
  write_time(w, event.timestamp);
  std::visit(BodyWriter{w}, event.body);
  return std::move(w).finish();
}

Result<HistoryEvent> decode_event(std::string_view bytes) {
  return detail::decode_record<HistoryEvent>(bytes, "history event", [](FieldReader& r) {
    auto kind = r.u8("kind");
    if (!known_event_kind(kind)) {
      r.fail_field("kind", "unknown event kind " + std::to_string(kind));
    }
    HistoryEvent e;
    e.id = r.u64("id");
    e.timestamp = read_time(r, "timestamp");
    auto body = r.array(to_string(static_cast<EventKind>(kind)));
    e.body = read_body(static_cast<EventKind>(kind), body);
    return e;
  });
}

std::string encode_message(const InboxEntry& entry) {
  RecordWriter w(4);
  w.u64(static_cast<std::uint8_t>(kind_of(entry.message))).u64(entry.seq);
  write_time(w, entry.enqueued_at);
  std::visit(MessageWriter{w}, entry.message);
  return std::move(w).finish();
}

Result<InboxEntry> decode_message(std::string_view bytes) {
  return detail::decode_record<InboxEntry>(bytes, "inbox message", [](FieldReader& r) {
    auto kind = r.u8("kind");
    if (!known_message_kind(kind)) {
      r.fail_field("kind", "unknown message kind " + std::to_string(kind));
    }
    InboxEntry e;
    e.seq = r.u64("seq");
    e.enqueued_at = read_time(r, "enqueued_at");
    auto body = r.array(to_string(static_cast<MessageKind>(kind)));
    e.message = read_message_body(static_cast<MessageKind>(kind), body);
    return e;
  });
}

// Layout: [id, name, version, status, execution, created_at, updated_at, completed_at|nil,
//          input, output, failure|nil, custom_status, parent|nil, forked_from|nil]
// (forked_from came later: records without it read as not forked.)
std::string encode_instance(const InstanceInfo& i) {
  RecordWriter w(14);
  w.str(i.id).str(i.name).u64(i.version).u64(static_cast<std::uint8_t>(i.status)).u64(i.execution);
  write_time(w, i.created_at);
  write_time(w, i.updated_at);
  write_optional_time(w, i.completed_at);
  w.bin(i.input).bin(i.output);
  write_optional_failure(w, i.failure);
  w.str(i.custom_status);
  write_parent(w, i.parent);
  if (i.forked_from) {
    w.array(3).str(i.forked_from->instance).u64(i.forked_from->execution).u64(i.forked_from->step);
  } else {
    w.nil();
  }
  return std::move(w).finish();
}

Result<InstanceInfo> decode_instance(std::string_view bytes) {
  return detail::decode_record<InstanceInfo>(bytes, "instance", [](FieldReader& r) {
    InstanceInfo i;
    i.id = r.str("id");
    i.name = r.str("name");
    i.version = r.u32("version");
    i.status = read_status(r, "status");
    i.execution = r.u32("execution");
    i.created_at = read_time(r, "created_at");
    i.updated_at = read_time(r, "updated_at");
    i.completed_at = read_optional_time(r, "completed_at");
    i.input = r.payload("input");
    i.output = r.payload("output");
    // A terminated instance's failure recorded before kinds existed names the type of a
    // cancellation; its status says which it was.
    i.failure = read_optional_failure(r, "failure");
    if (i.failure && i.status == InstanceStatus::kTerminated &&
        i.failure->kind == FailureKind::kCancelled) {
      i.failure->kind = FailureKind::kTerminated;
    }
    i.custom_status = r.str("custom_status");
    i.parent = read_parent(r, "parent");
    if (r.has_more()) {
      if (r.next_is_nil()) {
        r.nil("forked_from");
      } else {
        auto a = r.array("forked_from");
        ForkOrigin origin;
        origin.instance = a.str("instance");
        origin.execution = a.u32("execution");
        origin.step = a.u64("step");
        i.forked_from = std::move(origin);
      }
    }
    return i;
  });
}

// Layout: [execution, version, status, started_at, completed_at|nil, event_count,
//          continued_as_new]
std::string encode_execution(const ExecutionInfo& e) {
  RecordWriter w(7);
  w.u64(e.execution).u64(e.version).u64(static_cast<std::uint8_t>(e.status));
  write_time(w, e.started_at);
  write_optional_time(w, e.completed_at);
  w.u64(e.event_count).boolean(e.continued_as_new);
  return std::move(w).finish();
}

Result<ExecutionInfo> decode_execution(std::string_view bytes) {
  return detail::decode_record<ExecutionInfo>(bytes, "execution", [](FieldReader& r) {
    ExecutionInfo e;
    e.execution = r.u32("execution");
    e.version = r.u32("version");
    e.status = read_status(r, "status");
    e.started_at = read_time(r, "started_at");
    e.completed_at = read_optional_time(r, "completed_at");
    e.event_count = r.u64("event_count");
    e.continued_as_new = r.boolean("continued_as_new");
    return e;
  });
}

}  // namespace duractor
