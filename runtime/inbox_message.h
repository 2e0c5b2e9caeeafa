#pragma once
// Inbox messages: everything that can wake an instance. They are written durably into the
// instance's inbox (by clients, the broker, other instances, activity workers and the timer
// service) and consumed by the instance's next turn, which turns each into history events.

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "duractor/runtime/history.h"

namespace duractor {

enum class MessageKind : std::uint8_t {
  kStart = 1,
  kEvent = 2,
  kCancel = 3,
  kActivityResult = 4,
  kTimerFired = 5,
  kChildResult = 6,
  kPause = 7,
  kResume = 8,
};

namespace message {

// Starts execution `execution` (1 for a new instance, n+1 after continue-as-new).
struct Start {
  static constexpr MessageKind kKind = MessageKind::kStart;
  ExecutionId execution = 1;
  std::string name;
  std::uint32_t version = 0;  // 0: the latest registered version
  Bytes input;
  std::optional<ParentLink> parent;
  std::vector<CarriedEvent> carried_events;
  std::string custom_status;  // after continue-as-new: the previous execution's last one
  bool operator==(const Start&) const = default;
};

struct Event {
  static constexpr MessageKind kKind = MessageKind::kEvent;
  std::string name;
  Bytes payload;
  bool operator==(const Event&) const = default;
};

struct Cancel {
  static constexpr MessageKind kKind = MessageKind::kCancel;
  std::string reason;
  bool terminate = false;
  bool operator==(const Cancel&) const = default;
};

// The result of one activity attempt: output, or failure if `failure` is set.
struct ActivityResult {
  static constexpr MessageKind kKind = MessageKind::kActivityResult;
  ExecutionId execution = 0;
  EventId scheduled_id = 0;
  Bytes output;
  std::optional<FailureDetails> failure;
  bool operator==(const ActivityResult&) const = default;
};

struct TimerFired {
  static constexpr MessageKind kKind = MessageKind::kTimerFired;
  ExecutionId execution = 0;
  EventId scheduled_id = 0;
  TimePoint fire_at;
  bool operator==(const TimerFired&) const = default;
};

// A sub-orchestration finished: output, or failure if `failure` is set.
struct ChildResult {
  static constexpr MessageKind kKind = MessageKind::kChildResult;
  ExecutionId execution = 0;  // the parent's execution that scheduled the child
  EventId scheduled_id = 0;
  Bytes output;
  std::optional<FailureDetails> failure;
  bool operator==(const ChildResult&) const = default;
};

// Pauses the instance (Client::pause): until a Resume, it takes no turns, and what arrives
// waits in its inbox. The host takes Pause and Resume, never the orchestration code; they
// are not history events (docs/operations.md, "Pausing an instance").
struct Pause {
  static constexpr MessageKind kKind = MessageKind::kPause;
  std::string reason;
  bool operator==(const Pause&) const = default;
};

// Resumes a paused instance (Client::resume): what waited is taken in its order.
struct Resume {
  static constexpr MessageKind kKind = MessageKind::kResume;
  bool operator==(const Resume&) const = default;
};

}  // namespace message

using InboxMessage =
    std::variant<message::Start, message::Event, message::Cancel, message::ActivityResult,
                 message::TimerFired, message::ChildResult, message::Pause, message::Resume>;

// Publications on a topic reach each subscribed instance as an Event with this name; the
// prefix is reserved (clients cannot raise events named "topic:...").
inline constexpr std::string_view kTopicEventPrefix = "topic:";
inline std::string topic_event_name(std::string_view topic) {
  return std::string(kTopicEventPrefix) + std::string(topic);
}

std::string_view to_string(MessageKind kind);
MessageKind kind_of(const InboxMessage& message);

// A message as it sits in an inbox: `seq` orders it among all inbox messages of the store.
struct InboxEntry {
  std::uint64_t seq = 0;
  TimePoint enqueued_at;
  InboxMessage message;
  bool operator==(const InboxEntry&) const = default;
};

}  // namespace duractor
