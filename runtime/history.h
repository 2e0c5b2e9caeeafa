#pragma once
// The history model. An instance runs as a sequence of executions (continue-as-new starts
// the next one); each execution has an append-only list of HistoryEvents. Every event has an
// id, its 1-based position in the execution. Scheduling events (ActivityScheduled,
// TimerCreated, SubOrchestrationScheduled, ...) use that id as their correlation id, and
// every completion names the id it completes (`scheduled_id`). Replaying the events in order
// against the orchestration code rebuilds its state; see docs/orchestration-guide.md.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "duractor/runtime/error.h"
#include "duractor/runtime/ids.h"
#include "duractor/runtime/payload.h"
#include "duractor/runtime/time.h"

namespace duractor {

// What kind of failure a FailureDetails records, so that callers branch on `kind` rather
// than on type-name strings. Stable numbers, as written to disk: never renumber, only
// append. docs/errors.md lists which part of duractor records which kind.
enum class FailureKind : std::uint8_t {
  kApplication = 0,              // orchestration code threw (its own exception)
  kActivityFailed = 1,           // an activity threw
  kTimedOut = 2,                 // an activity ran past its timeout (per attempt or the host's)
  kCancelled = 3,                // cancelled: the instance, an activity or a child
  kTerminated = 4,               // the instance was terminated
  kNondeterminism = 5,           // the code diverged from its recorded history
  kUnregistered = 6,             // no orchestration or activity registered under the name
  kPoison = 7,                   // a turn or activity killed the process on every delivery
  kLimitExceeded = 8,            // a payload, custom status or history over its limit
  kDecode = 9,                   // a payload does not decode as the type the code expects
  kAlreadyExists = 10,           // a sub-orchestration's instance id was taken
  kSubOrchestrationFailed = 11,  // a child failed; FailureDetails::causes names it
  kInvalidArgument = 12,         // the code misused the API (a retry policy of 0 attempts, ...)
  kInfrastructure = 13,          // a turn could not commit, a history record does not decode
};

// "application", "activity failed", "timed out", ...: for the CLI and logs.
std::string_view to_string(FailureKind kind);

// The kind of failure an Error of `code` records (kNondeterminism for kNondeterminism,
// kDecode for kPayloadMismatch, kInfrastructure for kIo, ...).
FailureKind failure_kind_of(ErrorCode code);

// One link of a failure's cause chain: a sub-orchestration the failure came from.
struct FailureCause {
  InstanceId instance;                           // the child instance that failed
  std::string name;                              // its orchestration
  FailureKind kind = FailureKind::kApplication;  // how that child failed
  bool operator==(const FailureCause&) const = default;
};

// The most causes a failure keeps. A deeper chain keeps its nearest kMaxFailureCauses - 1
// links and its deepest (where the failure started).
inline constexpr std::size_t kMaxFailureCauses = 16;

// Why something failed, as recorded in history and reported to callers.
struct FailureDetails {
  ErrorCategory category = ErrorCategory::kApplication;
  std::string type;     // e.g. "std::runtime_error", "duractor::ActivityTimedOut"
  std::string message;  // what() of the exception, or duractor's own description
  // False when trying again cannot help and a retry policy must not retry: the activity
  // threw duractor::NonRetryableError.
  bool retryable = true;
  FailureKind kind = FailureKind::kApplication;
  // For a failure that came from sub-orchestrations (kind kSubOrchestrationFailed): the
  // children it came through, nearest first. causes[0] is the child this instance awaited,
  // causes[1] that child's child, ...; the last is where it started, and its kind says how.
  // type and message are those of the last. Empty for every other failure.
  std::vector<FailureCause> causes;

  // How the failure started: the kind of the deepest cause, or kind when there is none.
  FailureKind root_kind() const { return causes.empty() ? kind : causes.back().kind; }
  bool operator==(const FailureDetails&) const = default;
};

// The chain as one line, nearest first: "child-1 (Child, sub-orchestration failed) <-
// leaf-1 (Leaf, activity failed)".
std::string describe_causes(const std::vector<FailureCause>& causes);

// The failure of a parent that awaited `child` (orchestration `name`), which failed with
// `failure`: kind kSubOrchestrationFailed, the child in front of its causes (capped at
// kMaxFailureCauses), type, message, category and retryable kept.
FailureDetails failure_from_child(FailureDetails failure, const InstanceId& child,
                                  const std::string& name);

// Where a sub-orchestration reports back to: its parent's instance, execution and the id
// of the SubOrchestrationScheduled event.
struct ParentLink {
  InstanceId instance;
  ExecutionId execution = 0;
  EventId scheduled_id = 0;
  bool operator==(const ParentLink&) const = default;
};

// An external event that arrived but was never consumed; continue-as-new carries it into
// the next execution.
struct CarriedEvent {
  std::string name;
  Bytes payload;
  bool operator==(const CarriedEvent&) const = default;
};

// The rules an execution's code runs under, recorded in its ExecutionStarted so that a
// history replays under the rules it was recorded with. Rules that change what the code
// records get a new revision; executions recorded before it keep the old rules for good.
//   1 (records without the field): the first rules.
//   2: a DurableFuture destroyed before it settled cancels its operation (recorded as a
//      cancellation request); a retry with zero delay retries at once, without a timer;
//      an operation's cancellation is requested at most once.
inline constexpr std::uint32_t kFirstRules = 1;
inline constexpr std::uint32_t kCurrentRules = 2;

// Stable numbers of the event kinds, as written to disk. Never renumber; only append.
enum class EventKind : std::uint8_t {
  kExecutionStarted = 1,
  kActivityScheduled = 2,
  kActivityCompleted = 3,
  kActivityFailed = 4,
  kActivityCancelRequested = 5,
  kTimerCreated = 6,
  kTimerFired = 7,
  kEventRaised = 8,
  kEventSent = 9,
  kSubOrchestrationScheduled = 10,
  kSubOrchestrationCompleted = 11,
  kSubOrchestrationFailed = 12,
  kSubOrchestrationCancelRequested = 13,
  kCancelRequested = 14,
  kContinuedAsNew = 15,
  kExecutionCompleted = 16,
  kExecutionFailed = 17,
  kExecutionCancelled = 18,
  kCustomStatusSet = 19,
  kTopicSubscribed = 20,
  kTopicUnsubscribed = 21,
  kTopicPublished = 22,
};

namespace event {

// The first event of every execution.
struct ExecutionStarted {
  static constexpr EventKind kKind = EventKind::kExecutionStarted;
  std::string name;
  std::uint32_t version = 0;
  Bytes input;
  std::optional<ParentLink> parent;          // set for sub-orchestrations awaited by a parent
  std::vector<CarriedEvent> carried_events;  // unconsumed events from the previous execution
  std::uint32_t rules = kFirstRules;         // kFirstRules..kCurrentRules, see above
  std::string custom_status;                 // the previous execution's last custom status
  bool operator==(const ExecutionStarted&) const = default;
};

struct ActivityScheduled {
  static constexpr EventKind kKind = EventKind::kActivityScheduled;
  std::string name;
  Bytes input;
  std::uint32_t attempt = 1;  // retry attempt under a retry policy, from 1
  bool operator==(const ActivityScheduled&) const = default;
};

struct ActivityCompleted {
  static constexpr EventKind kKind = EventKind::kActivityCompleted;
  EventId scheduled_id = 0;
  Bytes output;
  bool operator==(const ActivityCompleted&) const = default;
};

struct ActivityFailed {
  static constexpr EventKind kKind = EventKind::kActivityFailed;
  EventId scheduled_id = 0;
  FailureDetails failure;
  bool operator==(const ActivityFailed&) const = default;
};

// The orchestration gave up on an activity (it lost a when_any, timed out, or its future
// was destroyed unawaited), or the instance is being cancelled; the runtime signals the
// activity's cancellation token. A result that still arrives for an activity given up is
// not recorded (earlier builds recorded it; replay ignores it).
struct ActivityCancelRequested {
  static constexpr EventKind kKind = EventKind::kActivityCancelRequested;
  EventId scheduled_id = 0;
  std::string reason;
  bool operator==(const ActivityCancelRequested&) const = default;
};

struct TimerCreated {
  static constexpr EventKind kKind = EventKind::kTimerCreated;
  TimePoint fire_at;
  bool operator==(const TimerCreated&) const = default;
};

struct TimerFired {
  static constexpr EventKind kKind = EventKind::kTimerFired;
  EventId scheduled_id = 0;
  TimePoint fire_at;
  bool operator==(const TimerFired&) const = default;
};

// An external event reached the instance (from a client, another instance or the broker).
struct EventRaised {
  static constexpr EventKind kKind = EventKind::kEventRaised;
  std::string name;
  Bytes payload;
  bool operator==(const EventRaised&) const = default;
};

// The orchestration sent an event to another instance.
struct EventSent {
  static constexpr EventKind kKind = EventKind::kEventSent;
  InstanceId instance;
  std::string name;
  Bytes payload;
  bool operator==(const EventSent&) const = default;
};

struct SubOrchestrationScheduled {
  static constexpr EventKind kKind = EventKind::kSubOrchestrationScheduled;
  std::string name;
  std::uint32_t version = 0;  // 0: the latest registered version
  InstanceId instance;
  Bytes input;
  bool detached = false;  // fire and forget: no completion will be reported back
  bool operator==(const SubOrchestrationScheduled&) const = default;
};

struct SubOrchestrationCompleted {
  static constexpr EventKind kKind = EventKind::kSubOrchestrationCompleted;
  EventId scheduled_id = 0;
  Bytes output;
  bool operator==(const SubOrchestrationCompleted&) const = default;
};

struct SubOrchestrationFailed {
  static constexpr EventKind kKind = EventKind::kSubOrchestrationFailed;
  EventId scheduled_id = 0;
  FailureDetails failure;
  bool operator==(const SubOrchestrationFailed&) const = default;
};

struct SubOrchestrationCancelRequested {
  static constexpr EventKind kKind = EventKind::kSubOrchestrationCancelRequested;
  EventId scheduled_id = 0;
  std::string reason;
  bool terminate = false;  // the child is terminated rather than cancelled cooperatively
  bool operator==(const SubOrchestrationCancelRequested&) const = default;
};

// What a cancel request did, decided when it was appended and obeyed on replay.
enum class CancelDisposition : std::uint8_t {
  kDelivered = 0,    // the code was interrupted (cooperative) or ended (terminate)
  kBeforeStart = 1,  // it came with the execution's start: the code never ran
  kIgnored = 2,      // a cooperative cancel after one was delivered: no effect
};

// Someone asked the instance to stop. Cooperative cancellation surfaces as duractor::Cancelled
// at the orchestration's awaits, once; `terminate` ends the execution at once.
struct CancelRequested {
  static constexpr EventKind kKind = EventKind::kCancelRequested;
  std::string reason;
  bool terminate = false;
  CancelDisposition disposition = CancelDisposition::kDelivered;
  bool operator==(const CancelRequested&) const = default;
};

// The execution ended by continuing as a new one; the next execution starts with `input`.
struct ContinuedAsNew {
  static constexpr EventKind kKind = EventKind::kContinuedAsNew;
  Bytes input;
  std::uint32_t version = 0;
  bool operator==(const ContinuedAsNew&) const = default;
};

struct ExecutionCompleted {
  static constexpr EventKind kKind = EventKind::kExecutionCompleted;
  Bytes output;
  bool operator==(const ExecutionCompleted&) const = default;
};

struct ExecutionFailed {
  static constexpr EventKind kKind = EventKind::kExecutionFailed;
  FailureDetails failure;
  bool operator==(const ExecutionFailed&) const = default;
};

struct ExecutionCancelled {
  static constexpr EventKind kKind = EventKind::kExecutionCancelled;
  std::string reason;
  bool operator==(const ExecutionCancelled&) const = default;
};

struct CustomStatusSet {
  static constexpr EventKind kKind = EventKind::kCustomStatusSet;
  std::string status;
  bool operator==(const CustomStatusSet&) const = default;
};

// The instance subscribed durably to a topic: every later publication on it reaches the
// instance (as an EventRaised named topic_event_name(topic)) until it unsubscribes or ends.
// The subscription outlives continue-as-new.
struct TopicSubscribed {
  static constexpr EventKind kKind = EventKind::kTopicSubscribed;
  std::string topic;
  bool operator==(const TopicSubscribed&) const = default;
};

struct TopicUnsubscribed {
  static constexpr EventKind kKind = EventKind::kTopicUnsubscribed;
  std::string topic;
  bool operator==(const TopicUnsubscribed&) const = default;
};

// The orchestration published `payload` on `topic` (ctx.publish). The turn that records it
// delivers it, in the same store transaction, to every instance subscribed to the topic
// when the turn commits; replaying the event delivers nothing.
struct TopicPublished {
  static constexpr EventKind kKind = EventKind::kTopicPublished;
  std::string topic;
  Bytes payload;
  bool operator==(const TopicPublished&) const = default;
};

}  // namespace event

using EventBody =
    std::variant<event::ExecutionStarted, event::ActivityScheduled, event::ActivityCompleted,
                 event::ActivityFailed, event::ActivityCancelRequested, event::TimerCreated,
                 event::TimerFired, event::EventRaised, event::EventSent,
                 event::SubOrchestrationScheduled, event::SubOrchestrationCompleted,
                 event::SubOrchestrationFailed, event::SubOrchestrationCancelRequested,
                 event::CancelRequested, event::ContinuedAsNew, event::ExecutionCompleted,
                 event::ExecutionFailed, event::ExecutionCancelled, event::CustomStatusSet,
                 event::TopicSubscribed, event::TopicUnsubscribed, event::TopicPublished>;

struct HistoryEvent {
  EventId id = 0;       // 1-based position in the execution
  TimePoint timestamp;  // when the turn that appended it ran
  EventBody body;
  bool operator==(const HistoryEvent&) const = default;

  EventKind kind() const;
  // The event's kind as a name: "ActivityScheduled".
  std::string_view kind_name() const;
  // For completions: the id of the scheduling event they complete; nullopt otherwise.
  std::optional<EventId> completes() const;
  // True for the events that end an execution (completed, failed, cancelled, continued).
  bool is_terminal() const;
};

std::string_view to_string(EventKind kind);

// A one-line human description: "#3 ActivityScheduled Greet attempt=1 input=\"ada\"".
std::string describe(const HistoryEvent& event);

}  // namespace duractor
