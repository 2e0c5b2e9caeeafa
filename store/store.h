#pragma once
// The Store: everything duractor keeps durably, behind one interface. Instances and their
// executions' histories, each instance's inbox, activity work items, durable timers, and the
// links between parents and children. The LMDB implementation (store/lmdb_store.h) is the
// first; a multi-process store (PostgreSQL) fits behind the same calls: turns are committed
// under an instance lock token, and work is handed out under leases that expire.
//
// Thread-safety: every method may be called from any thread at any time. Writes from
// concurrent callers may be batched into one transaction (group commit); each caller is
// answered only after its write is durable (synced), or with the error that prevented it.
// Reads see the state of the latest completed commit.
//
// Atomicity: every write operation is all-or-nothing. A failed write leaves no trace, and
// never disturbs other callers' writes batched with it.
//
// Errors: the calls return Result/Status values, never throw. The codes each call returns
// are listed with it; any call may also return kIo (the operating system failed a read,
// write or sync; retryable), kCorrupt (a stored record does not decode; the message names
// the key), kStoreFull (the store reached its maximum size) and kShutdown (the store is
// closing).

#include <array>
#include <cstdint>
#include <functional>
#include <future>
#include <optional>
#include <string>
#include <vector>

#include "duractor/runtime/error.h"
#include "duractor/runtime/history.h"
#include "duractor/runtime/inbox_message.h"
#include "duractor/runtime/instance.h"
#include "duractor/runtime/time.h"

namespace duractor {

template <class T>
using Callback = std::function<void(Result<T>)>;
using StatusCallback = std::function<void(Status)>;

// Calls `start(done)` with a callback `done` and blocks until it is called; returns what it
// was given. The blocking form of any *_async operation.
template <class T, class Start>
Result<T> wait_for_callback(Start&& start) {
  std::promise<Result<T>> promise;
  auto future = promise.get_future();
  start([&promise](Result<T> r) { promise.set_value(std::move(r)); });
  return future.get();
}

// ---- requests and records --------------------------------------------------------------

// A request to create an instance (client start).
struct NewInstance {
  InstanceId id;
  std::string name;           // orchestration name
  std::uint32_t version = 0;  // 0: the latest registered version
  Bytes input;
  // If an instance with this id exists with the same name and input, succeed without
  // creating anything (kAlreadyExisted) instead of failing with kAlreadyExists.
  bool idempotent = false;
};

enum class CreateOutcome : std::uint8_t { kCreated, kAlreadyExisted };

// Exclusive right to run turns of one instance, until `expires_at`.
struct InstanceLock {
  InstanceId instance;
  std::uint64_t token = 0;
  TimePoint expires_at;
};

// Activity work, as created by a turn.
struct NewWorkItem {
  EventId scheduled_id = 0;  // the ActivityScheduled event this work answers
  std::string activity;
  Bytes input;
  std::uint32_t attempt = 1;
};

struct WorkItem {
  std::uint64_t id = 0;  // store-wide, increasing in creation order
  InstanceId instance;
  ExecutionId execution = 0;
  EventId scheduled_id = 0;
  std::string activity;
  Bytes input;
  std::uint32_t attempt = 1;
  TimePoint created_at;
  // How many times the item was handed out to run, counted durably before each run so
  // that a run the process does not survive still counts (poison detection, see
  // Store::record_delivery). An item created by commit_turn starts at 1: that commit
  // counts the in-process dispatch that follows it (lease_work).
  std::uint32_t deliveries = 0;
  bool operator==(const WorkItem&) const = default;
};

// The right to complete one work item, until `expires_at`.
struct WorkLease {
  std::uint64_t item = 0;
  std::uint64_t token = 0;
  TimePoint expires_at;
};

struct LeasedWork {
  WorkItem item;
  WorkLease lease;
};

// A durable timer, as created by a turn.
struct NewTimer {
  EventId scheduled_id = 0;  // the TimerCreated event
  TimePoint fire_at;
};

// Identifies a stored timer; timers are kept and read in (fire_at, seq) order.
struct TimerKey {
  TimePoint fire_at;
  std::uint64_t seq = 0;
  bool operator==(const TimerKey&) const = default;
};

struct TimerEntry {
  TimerKey key;
  InstanceId instance;
  ExecutionId execution = 0;
  EventId scheduled_id = 0;
  bool operator==(const TimerEntry&) const = default;
};

// A message from a turn to another instance's inbox. A message::Start creates the target
// instance (a sub-orchestration); see Store::commit_turn.
struct OutboundMessage {
  InstanceId target;
  InboxMessage message;
};

// Instance metadata changes committed with a turn. Unset fields are left as they are.
struct InstanceUpdate {
  std::optional<InstanceStatus> status;
  std::optional<std::string> name;        // set when an execution starts
  std::optional<std::uint32_t> version;   // set when an execution starts
  std::optional<Bytes> output;            // set on completion
  std::optional<FailureDetails> failure;  // set on failure or cancellation
  std::optional<std::string> custom_status;
};

// Everything one turn of one instance changes, committed atomically by Store::commit_turn.
// A publication a turn makes (ctx.publish): delivered by the turn's commit, as
// Store::publish delivers one, in the same transaction.
struct TopicPublication {
  std::string topic;
  Bytes payload;
  bool operator==(const TopicPublication&) const = default;
};

struct TurnCommit {
  InstanceLock lock;
  // The execution the events belong to. Either the instance's current execution, or the
  // next one (current + 1) when `events` starts with ExecutionStarted (id 1). Before the
  // first execution, 0 with no events: a turn that only consumes messages (a pause).
  ExecutionId execution = 0;
  std::vector<HistoryEvent> events;     // appended; ids must continue the execution's history
  std::vector<std::uint64_t> consumed;  // inbox seqs this turn consumed
  std::vector<NewWorkItem> work;
  std::vector<NewTimer> timers;
  std::vector<OutboundMessage> outbound;
  // Work items and timers whose results the turn appended directly (delivered in memory
  // rather than through the inbox); they are deleted. Unknown ids are ignored: a crash may
  // already have re-delivered them.
  std::vector<std::uint64_t> finished_work;
  std::vector<TimerKey> fired_timers;
  // Durable topic subscriptions of the instance, taken and dropped (in this order).
  std::vector<std::string> subscribe;
  std::vector<std::string> unsubscribe;
  // Publications on topics, in order: each reaches the instances subscribed once this
  // turn's own subscriptions are taken and dropped (and, if it finishes the instance,
  // without it).
  std::vector<TopicPublication> publications;
  InstanceUpdate update;
};

// A caller-given id that makes a write from outside idempotent: a webhook retried by its
// sender, a message a broker delivers again. See Store::enqueue_once and publish_once.
// 1..256 bytes, no control characters. Empty: no id (the write is not idempotent).
struct MessageId {
  std::string value;
  bool empty() const { return value.empty(); }
  bool operator==(const MessageId&) const = default;
};

// What a publication reached.
struct PublishReceipt {
  std::vector<InstanceId> delivered;  // the subscribers whose inboxes got the publication
};

struct TurnCommitted {
  std::vector<WorkItem> work;      // the created work items, with their ids
  std::vector<TimerEntry> timers;  // the created timers, with their keys
  std::vector<InstanceId> woken;   // instances that received an outbound message
  // Outbound messages nobody could take, each described ("event 'E' to 'x': no such
  // instance"); a detached start whose id is taken is one. Sub-orchestration starts that
  // fail are not here: their parent gets the failure.
  std::vector<std::string> undelivered;
  // One receipt per TurnCommit::publications, in order; the subscribers reached are also
  // in `woken`.
  std::vector<PublishReceipt> published;
};

// Filters for list_instances. Empty / unset fields match everything.
struct InstanceQuery {
  std::vector<InstanceStatus> statuses;
  std::optional<std::string> name;
  std::optional<TimePoint> created_after;   // inclusive
  std::optional<TimePoint> created_before;  // exclusive
  std::optional<InstanceId> parent;
  std::string after;        // page token: only ids ordered after this one
  std::size_t limit = 100;  // at most this many per page (0: no limit)
};

struct InstancePage {
  std::vector<InstanceInfo> instances;  // ordered by id
  std::optional<std::string> next;      // pass as `after` for the next page; unset at the end
};

struct DeleteOptions {
  bool cascade = true;  // also delete sub-orchestrations (recursively)
  bool force = false;   // also delete instances that have not finished
};

struct DeleteSummary {
  std::vector<InstanceId> deleted;  // the instance and, with cascade, its descendants
  std::uint64_t events = 0;         // history events removed
};

// What Store::prune_executions removed: executions first_pruned..oldest_kept - 1.
struct PruneSummary {
  std::uint64_t executions = 0;  // how many executions were removed (0: none)
  ExecutionId first_pruned = 0;  // the first one removed (0: none)
  std::uint64_t events = 0;      // history events removed
  ExecutionId oldest_kept = 0;   // the oldest execution left (0: none started yet)
};

// What Store::rewind_instance did: the current execution of the instance (and of each failed
// sub-orchestration rewound with it) was cut back to `kept` events and set running again.
struct RewindSummary {
  ExecutionId execution = 0;        // the execution rewound (the instance's current one)
  EventId kept = 0;                 // events kept: 1..kept
  std::uint64_t dropped = 0;        // events removed from its end (the ExecutionFailed among them)
  std::vector<WorkItem> work;       // activity work items created, to run (every instance rewound)
  std::vector<TimerEntry> timers;   // durable timers created
  std::vector<InstanceId> rewound;  // failed children before their parents; the instance last
  std::vector<InstanceId> woken;    // instances that got an inbox message (to wake)
  bool operator==(const RewindSummary&) const = default;
};

// A request to fork instance `source` into the new instance `target` (Store::fork_instance).
struct ForkRequest {
  InstanceId source;
  ExecutionId execution = 0;  // of the source; 0: its current execution
  EventId at = 0;             // the fork replays events 1..at of that execution
  InstanceId target;
};

struct ForkSummary {
  InstanceId instance;         // the new instance
  ForkOrigin origin;           // what it was forked from (InstanceInfo::forked_from)
  std::vector<WorkItem> work;  // activity work items created, to run
  std::vector<TimerEntry> timers;
  bool operator==(const ForkSummary&) const = default;
};

struct ExecutionHistory {
  ExecutionId execution = 0;
  std::vector<HistoryEvent> events;
};

// The last inbox seq, work item id and timer seq the store has given (0: none yet). Each
// increases store-wide, so a runtime that notes them when it starts can tell the messages,
// work and timers a previous process left (at or below the marks) from its own.
struct SequenceMarks {
  std::uint64_t inbox = 0;
  std::uint64_t work = 0;
  std::uint64_t timer = 0;
  bool operator==(const SequenceMarks&) const = default;
};

struct StoreStats {
  std::string path;
  std::uint64_t file_bytes = 0;   // size of the store's file(s) on disk
  std::uint64_t map_size = 0;     // bytes reserved for the store file
  std::uint64_t used_bytes = 0;   // bytes of it in use
  std::uint64_t page_size = 0;    // store-specific (LMDB): bytes per page
  std::uint64_t readers = 0;      // store-specific (LMDB): reader slots in use, all processes
  std::uint64_t max_readers = 0;  // store-specific (LMDB): reader slots available
  std::uint64_t instances = 0;
  // Instances per status, indexed by InstanceStatus (pending, running, completed, ...).
  std::array<std::uint64_t, kInstanceStatusCount> instances_by_status{};
  std::uint64_t executions = 0;
  std::uint64_t history_events = 0;
  std::uint64_t journal_records = 0;  // store-specific: turns not yet compacted (LMDB)
  std::uint64_t inbox_messages = 0;
  std::uint64_t work_items = 0;
  std::uint64_t timers = 0;
  std::uint64_t subscriptions = 0;  // (topic, instance) pairs
  std::uint64_t message_ids = 0;    // remembered for idempotent writes (enqueue_once, ...)
  std::uint64_t last_commit = 0;    // increases with every committed write
};

// One instance's waiting inbox messages (Store::inbox_depths).
struct InboxDepth {
  InstanceId instance;
  std::uint64_t messages = 0;
  TimePoint oldest;  // when the oldest waiting message was enqueued
  bool operator==(const InboxDepth&) const = default;
};

// One execution of an instance with its whole history.
struct ExecutionImage {
  ExecutionInfo info;
  std::vector<HistoryEvent> events;
  bool operator==(const ExecutionImage&) const = default;
};

// Everything a store keeps about one instance, read in one snapshot by
// Store::export_instance and written in one transaction by Store::import_instance (the
// CLI's export and import, to move an instance to another store for replay debugging or
// to resume it there). Sub-orchestrations are separate instances: not included.
struct InstanceImage {
  InstanceInfo info;
  // The executions the store keeps, in order, ending with info.execution: 1..info.execution,
  // or k..info.execution when executions before k were pruned (Store::prune_executions).
  // Executions that continued as new are described by their ExecutionInfo; the last one by
  // `info` (its ExecutionInfo is derived).
  std::vector<ExecutionImage> executions;
  std::vector<InboxEntry> inbox;  // waiting messages, in seq order
  // Pending activity work and durable timers of the current execution. Their ids and seqs
  // are the exporting store's; the importing store gives them new ones.
  std::vector<WorkItem> work;
  std::vector<TimerEntry> timers;
  std::vector<std::string> topics;  // durable topic subscriptions
  bool operator==(const InstanceImage&) const = default;
};

// ---- the interface ---------------------------------------------------------------------

class Store {
 public:
  virtual ~Store() = default;
  Store() = default;
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // == Writes ==
  // Each write exists in two forms: `x_async(..., done)` and the blocking `x(...)`. `done` is
  // called exactly once, on a store thread, after the write is durable or has failed. It
  // must return quickly and must not call a blocking write of this store (that would wait
  // for the thread it runs on).

  // Creates instance `id` in status kPending with a Start message (execution 1) in its
  // inbox. Returns kCreated. Errors: kInvalidArgument (bad id or name), kAlreadyExists (the
  // id is taken and the request is not an idempotent repeat of the same name and input; the
  // message says which differs).
  virtual void create_instance_async(NewInstance request, Callback<CreateOutcome> done) = 0;
  Result<CreateOutcome> create_instance(NewInstance request);

  // Appends `message` to the inbox of `instance` and returns its seq. Errors: kNotFound (no
  // such instance), kFailedPrecondition (an Event or Cancel for an instance that has
  // finished; results, timers and child results for a finished instance are accepted and
  // dropped by its next turn; a Pause for an instance that has finished or would be paused
  // already when its turn takes the message — its status, then the Pause and Resume messages
  // waiting before it decide —, a Resume for one that has finished or would not be paused),
  // kLimitExceeded (the reason of a Cancel or Pause is over kMaxReasonBytes).
  virtual void enqueue_async(InstanceId instance, InboxMessage message,
                             Callback<std::uint64_t> done) = 0;
  Result<std::uint64_t> enqueue(InstanceId instance, InboxMessage message);

  // Commits one turn: appends the events to the execution's history, deletes the consumed
  // inbox messages, finished work and fired timers, creates work items and timers, delivers
  // outbound messages and updates the instance metadata, all in one transaction.
  //
  // An outbound message::Start creates its target instance (kPending, with the Start in its
  // inbox and a parent/child link); if the id is taken, the parent named in the Start gets a
  // ChildResult failure in its inbox instead. Other outbound messages to instances that do
  // not exist are dropped (the caller's history already records them as sent).
  //
  // When the turn ends its execution (the update makes the status terminal, or the next
  // execution starts), the remaining timers and work items of the ended execution are
  // deleted: they can no longer be delivered. When the instance finishes (a terminal
  // status), its topic subscriptions end too; they outlive continue-as-new.
  //
  // Publications are delivered after the subscriptions change, as publish does: to every
  // instance then subscribed to the topic, each once (the turn's own instance too, if it
  // is subscribed and does not finish in this turn).
  //
  // Errors: kConflict (the lock is not held — expired and taken by someone else, or never
  // taken; the first event id does not continue the history; a consumed message is gone),
  // kNotFound (the instance was deleted), kInvalidArgument (malformed turn: empty ids,
  // execution not current or next, a bad topic name); nothing is written.
  //
  // The commit also resets the instance's turn-delivery count to 0 (count_turn_delivery),
  // and creates its work items with deliveries = 1 (WorkItem::deliveries).
  virtual void commit_turn_async(TurnCommit turn, Callback<TurnCommitted> done) = 0;
  Result<TurnCommitted> commit_turn(TurnCommit turn);

  // Completes leased work: deletes the item and appends `result` to its instance's inbox.
  // Errors: kConflict (the lease was lost: the item is gone or leased to someone else; the
  // result is dropped, since another attempt owns the item).
  virtual void complete_work_async(WorkLease lease, message::ActivityResult result,
                                   Callback<InstanceId> done) = 0;
  Result<InstanceId> complete_work(WorkLease lease, message::ActivityResult result);

  // Fires timers: each timer that still exists is deleted and becomes a TimerFired message
  // in its instance's inbox. Keys that no longer exist are skipped. Returns the instances
  // that received a message.
  virtual void fire_timers_async(std::vector<TimerKey> keys,
                                 Callback<std::vector<InstanceId>> done) = 0;
  Result<std::vector<InstanceId>> fire_timers(std::vector<TimerKey> keys);

  // Publishes `payload` on `topic`: appends it, as an Event named topic_event_name(topic),
  // to the inbox of every instance subscribed to the topic, in one transaction (every
  // subscriber gets it, or none). Publications on a topic reach each subscriber in the
  // order they commit. A publication with no subscriber reaches nobody (topics are not
  // queues): the receipt is empty. Errors: kInvalidArgument (a bad topic name).
  virtual void publish_async(std::string topic, Bytes payload, Callback<PublishReceipt> done) = 0;
  Result<PublishReceipt> publish(std::string topic, Bytes payload);

  // enqueue and publish, idempotent by a caller-given message id. The first write with
  // `id` applies and the store remembers the id with what it answered; a later write with
  // the same id and the same request (the same instance and message, or the same topic and
  // payload) applies nothing and answers the same (the first's seq, or its receipt). A
  // write that fails records nothing, so trying it again is safe. Errors: those of enqueue
  // and publish; kInvalidArgument (a malformed id); kAlreadyExists (the id was used for a
  // different request: the message says when). An id is remembered for the store's
  // retention time after its first use (LmdbOptions::message_id_retention), then forgotten.
  virtual void enqueue_once_async(MessageId id, InstanceId instance, InboxMessage message,
                                  Callback<std::uint64_t> done) = 0;
  Result<std::uint64_t> enqueue_once(MessageId id, InstanceId instance, InboxMessage message);
  virtual void publish_once_async(MessageId id, std::string topic, Bytes payload,
                                  Callback<PublishReceipt> done) = 0;
  Result<PublishReceipt> publish_once(MessageId id, std::string topic, Bytes payload);

  // Deletes an instance with all its executions, history, inbox, work items and timers;
  // with options.cascade, its sub-orchestrations too. Errors: kNotFound,
  // kFailedPrecondition (the instance or a descendant has not finished and force is unset;
  // nothing is deleted).
  virtual void delete_instance_async(InstanceId id, DeleteOptions options,
                                     Callback<DeleteSummary> done) = 0;
  Result<DeleteSummary> delete_instance(InstanceId id, DeleteOptions options = {});

  // Creates instance image.info.id exactly as `image` describes it: the instance record
  // (status, times, input, output, failure and custom status as given), every execution's
  // history, the inbox messages (with their original enqueue times, in order), pending work
  // items and timers (under new ids and seqs), and topic subscriptions, in one
  // transaction. If the image names a parent that exists in this store, the parent/child
  // link is recorded too (so that deleting the parent cascades). Returns the number of
  // history events written. Errors: kAlreadyExists (the id is taken; nothing is written),
  // kInvalidArgument (a malformed image: bad id or names, executions not numbered
  // consecutively up to info.execution (the first may be above 1: older ones were pruned),
  // events not numbered 1..n or not starting with ExecutionStarted, an
  // execution before the last that did not continue as new, work or timers of another
  // execution than the current one; the message says which).
  virtual void import_instance_async(InstanceImage image, Callback<std::uint64_t> done) = 0;
  Result<std::uint64_t> import_instance(InstanceImage image);

  // Prunes the old executions of an instance that continued as new: deletes the execution
  // records and the whole history of every execution but the last `keep_last`, in one
  // transaction, and returns what went. The current execution counts as one of the kept
  // and is never pruned, whatever the instance's status; its pending work, timers, inbox
  // and subscriptions are not touched, nor are sub-orchestrations that pruned executions
  // started. An instance with no more executions than `keep_last` (one that never
  // continued as new, or has not started) is left as it is: the summary is empty and
  // oldest_kept names its oldest execution.
  //
  // Afterwards the pruned executions are gone: read_executions lists only the kept ones
  // (the first may be above 1), read_history of a pruned one fails with kNotFound saying
  // that it was pruned, and export_instance exports only the kept ones (import_instance
  // takes such an image). Errors: kInvalidArgument (keep_last is 0), kNotFound (no such
  // instance).
  virtual void prune_executions_async(InstanceId id, std::uint32_t keep_last,
                                      Callback<PruneSummary> done) = 0;
  Result<PruneSummary> prune_executions(InstanceId id, std::uint32_t keep_last);

  // Rewinds a failed instance so that it continues from the point of failure: in one
  // transaction, the current execution's history is cut back to before the failure (the
  // failure event of the activity or sub-orchestration that failed it and everything after,
  // the ExecutionFailed among them; see docs/operations.md, "Rewind", for where exactly), the
  // status goes back to running, and the work that the kept history leaves outstanding is
  // created again: a work item for each activity scheduled and not completed, a timer for
  // each timer not fired, the result of each child that completed after the failure (in the
  // inbox), and a rewind of each child that failed. Subscriptions and the custom status are
  // what the kept history says. Results of the failed execution still in the inbox are
  // dropped. Errors (nothing is changed): kNotFound (no such instance), kFailedPrecondition
  // (the instance has not failed — it is running, pending, paused, completed, cancelled or
  // terminated —; it failed from nondeterminism, a removed orchestration or poison, which a
  // rewind would only repeat; or a child it would re-run cannot be: the message says which
  // and why).
  virtual void rewind_instance_async(InstanceId id, Callback<RewindSummary> done) = 0;
  Result<RewindSummary> rewind_instance(InstanceId id);

  // Forks events 1..request.at of an execution of request.source into the new instance
  // request.target, in one transaction: the new instance's first execution is that copy (its
  // ExecutionStarted without a parent: the fork is a top-level instance; the ids of
  // sub-orchestrations and event targets derived from the source's id are derived from the
  // target's instead), its status running, InstanceInfo::forked_from set, and the work that
  // the copied events leave outstanding created: activity work items and timers. The source
  // is not changed. Errors (nothing is changed): kInvalidArgument (a malformed target id; at
  // is 0 or past the execution's length, or cuts inside one step of the code, or includes
  // the end of the execution; the copy would leave a sub-orchestration outstanding, which a
  // fork cannot share with its source: the message names it), kNotFound (no such source or
  // execution, or it was pruned), kAlreadyExists (the target id is taken).
  virtual void fork_instance_async(ForkRequest request, Callback<ForkSummary> done) = 0;
  Result<ForkSummary> fork_instance(ForkRequest request);

  // Poison detection: durable delivery counts, written before the work they count is run,
  // so that a run that kills the process is still counted when the next process starts.

  // Records that leased work has been handed out `deliveries` times in all (the holder of
  // the lease counts a delivery before it runs the item; it may set the count back when
  // it stopped the run itself, at a graceful shutdown). Later reads of the item (take_work,
  // list_work, export_instance) return the count. Errors: kConflict (the lease was lost:
  // the item is gone or leased to someone else; nothing is written).
  virtual void record_delivery_async(WorkLease lease, std::uint32_t deliveries,
                                     StatusCallback done) = 0;
  Status record_delivery(WorkLease lease, std::uint32_t deliveries);

  // Adds one to the turn-delivery count of the locked instance and returns the new count.
  // A runtime counts a turn this way before it processes messages that a previous process
  // may already have tried to process (and died doing so). The count is 0 for a new
  // instance and goes back to 0 with each commit_turn of the instance. Errors: kConflict
  // (the lock is not held), kNotFound (no such instance).
  virtual void count_turn_delivery_async(InstanceLock lock, Callback<std::uint32_t> done) = 0;
  Result<std::uint32_t> count_turn_delivery(InstanceLock lock);

  // == Locks and leases ==
  // Fast, non-durable (for the LMDB store they live in memory and end with the process).

  // Takes the turn lock of `instance` for `duration`. Errors: kBusy (held by someone else
  // and not expired), kNotFound.
  virtual Result<InstanceLock> lock_instance(const InstanceId& instance, Milliseconds duration) = 0;
  // Releases a lock taken by lock_instance. Releasing a lock that is no longer held is a
  // no-op.
  virtual void unlock_instance(const InstanceLock& lock) = 0;

  // Leases up to `max` work items that are not leased (or whose lease expired), oldest
  // first, for `duration`.
  virtual Result<std::vector<LeasedWork>> take_work(std::size_t max, Milliseconds duration) = 0;
  // Leases one specific work item (for in-process dispatch right after a turn created it).
  // Errors: kNotFound (gone), kBusy (leased by someone else).
  virtual Result<WorkLease> lease_work(std::uint64_t item, Milliseconds duration) = 0;
  // Extends a lease. Errors: kConflict (the lease was lost).
  virtual Result<WorkLease> renew_lease(const WorkLease& lease, Milliseconds duration) = 0;
  // Gives a lease back so that the item can be taken again at once.
  virtual void abandon_work(const WorkLease& lease) = 0;

  // == Reads ==

  // Errors: kNotFound.
  virtual Result<InstanceInfo> read_instance(const InstanceId& id) = 0;
  // The executions of an instance in order: all of them, or only those kept when older ones
  // were pruned (prune_executions). Errors: kNotFound.
  virtual Result<std::vector<ExecutionInfo>> read_executions(const InstanceId& id) = 0;
  // The history of one execution, in event order. Errors: kNotFound (no such instance or
  // execution, or the execution was pruned: the message says so and names the oldest kept).
  virtual Result<std::vector<HistoryEvent>> read_history(const InstanceId& id,
                                                         ExecutionId execution) = 0;
  // The current execution's id and history, read in one snapshot. Errors: kNotFound (no
  // such instance); an instance whose first turn has not run has execution 0 and no events.
  virtual Result<ExecutionHistory> read_latest_history(const InstanceId& id) = 0;
  // The instance's messages in seq order, at most `max` (0: all). Errors: kNotFound.
  virtual Result<std::vector<InboxEntry>> read_inbox(const InstanceId& id, std::size_t max = 0) = 0;
  // Ids of instances with at least one inbox message, ordered by id, starting after
  // `after`, at most `max`.
  virtual Result<std::vector<InstanceId>> instances_with_messages(const std::string& after,
                                                                  std::size_t max) = 0;
  // Instances with at least one inbox message and how many each has, ordered by id,
  // starting after `after`, at most `max` (0: all).
  virtual Result<std::vector<InboxDepth>> inbox_depths(const std::string& after,
                                                       std::size_t max) = 0;
  // Timers due at `now` (fire_at <= now), earliest first, at most `max`.
  virtual Result<std::vector<TimerEntry>> due_timers(TimePoint now, std::size_t max) = 0;
  // The earliest timer, if any.
  virtual Result<std::optional<TimerEntry>> next_timer() = 0;
  // Work items in creation order starting after id `after`, at most `max`, leased or not.
  virtual Result<std::vector<WorkItem>> list_work(std::uint64_t after, std::size_t max) = 0;
  virtual Result<InstancePage> list_instances(const InstanceQuery& query) = 0;
  // The instances subscribed to `topic`, ordered by id.
  virtual Result<std::vector<InstanceId>> subscribers(const std::string& topic) = 0;
  // The topics `instance` is subscribed to. Errors: kNotFound.
  virtual Result<std::vector<std::string>> subscriptions(const InstanceId& instance) = 0;
  // Everything the store keeps about one instance, in one snapshot (see InstanceImage).
  // Errors: kNotFound.
  virtual Result<InstanceImage> export_instance(const InstanceId& id) = 0;
  virtual Result<StoreStats> stats() = 0;
  // The sequence marks (above) as of the latest commit. Cheap.
  virtual Result<SequenceMarks> sequence_marks() = 0;
  // The instance's turn-delivery count (count_turn_delivery). Errors: kNotFound.
  virtual Result<std::uint32_t> turn_deliveries(const InstanceId& id) = 0;
  // A number that increases whenever anyone (this process or another) commits a write.
  // Cheap; lets a runtime notice changes made by other processes (the CLI).
  virtual Result<std::uint64_t> change_counter() = 0;
  // A number that increases each time this store notices that other processes (the CLI,
  // another tool) committed writes since it last looked; it never moves for this process's
  // own writes, however many. A runtime compares it with the value it saw last and, when it
  // moved, looks for new inbox messages and for instances that were deleted. How soon a
  // foreign write is noticed is store-specific (LMDB: at this process's next write, or
  // within LmdbOptions::watch_interval when idle). Cheap: no I/O.
  virtual std::uint64_t foreign_writes() const = 0;
};

}  // namespace duractor
