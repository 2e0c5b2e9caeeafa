#pragma once
// Client: start orchestrations, raise events, cancel, pause and resume, rewind and fork, wait,
// query and delete instances.
// Usable from any thread; each call that writes returns once the write is durable. For
// actors there is the same as messages (Host::client_actor, actors/messages.h).
//
//   auto client = host->client();
//   client.start(Hello, "hello-1", std::string("ada"));
//   client.raise_event("hello-1", "Approval", true);
//   auto info = client.wait("hello-1", 30s);          // final InstanceInfo, or kTimeout
//
// The typed handles offer the same, typed: Hello.start(client, id, input), Hello.wait(...),
// Hello.run(...) (start and wait), Hello.status(...), Hello.cancel(...).

#include <memory>
#include <string>
#include <string_view>

#include "duractor/runtime/handles.h"
#include "duractor/runtime/instance.h"
#include "duractor/store/store.h"

namespace duractor {

namespace detail {
struct HostCore;
}

// How Client::wait waits.
struct WaitOptions {
  // Also wait for an instance that does not exist yet, until it is created and finishes
  // (or the timeout): a detached child whose parent's turn has not committed yet, an
  // instance another process is about to start. Unset (the default): such a wait fails with
  // kNotFound at once. Either way, an instance deleted after the wait saw it ends the wait
  // with kNotFound.
  bool until_created = false;
};

class Client {
 public:
  explicit Client(std::shared_ptr<detail::HostCore> core) : core_(std::move(core)) {}

  // Starts orchestration `name` (version 0: the latest registered) as instance `id` (empty:
  // a generated id), and returns the id. Starting an id that exists with the same name
  // and input returns the id again (idempotent); with a different name or input it fails
  // with kAlreadyExists. Errors: kInvalidArgument (a malformed id), kNotRegistered (no
  // such orchestration in this host's registry, an empty name included), kLimitExceeded
  // (input too large),
  // kShutdown, store errors.
  Result<InstanceId> start(std::string_view name, InstanceId id, Bytes input,
                           std::uint32_t version = 0);
  // By name with a value to encode (a std::string is a value, as everywhere: only Bytes are
  // taken as they are).
  template <class In>
  Result<InstanceId> start(std::string_view name, InstanceId id, const In& input,
                           std::uint32_t version = 0) {
    return start(name, std::move(id), encode(input), version);
  }
  template <class In, class Out>
  Result<InstanceId> start(const Orchestration<In, Out>& orchestration, InstanceId id,
                           const std::type_identity_t<In>& input) {
    return start(orchestration.name, std::move(id), encode(input), orchestration.version);
  }

  // Payloads: every call that takes one has an overload for any T, which encodes it (a
  // std::string or a string literal included), and one for Bytes, already encoded, which
  // are taken as they are. A std::string never converts to Bytes.

  // Raises event `name` at instance `id`; durable when this returns. Errors: kNotFound (no
  // such instance), kFailedPrecondition (it has finished), kLimitExceeded, kInvalidArgument.
  Status raise_event(const InstanceId& id, std::string_view name, Bytes payload);
  template <class T>
  Status raise(const InstanceId& id, std::string_view name, const T& payload) {
    return raise_event(id, name, encode(payload));
  }
  // The same, idempotent by a message id the caller gives (a webhook's delivery id, a
  // broker's message id): the first call with `message_id` raises the event, a repeat with
  // the same request raises nothing and succeeds again (Store::enqueue_once). Errors: as
  // above, and kAlreadyExists (the id was used for a different event or instance).
  Status raise_event(const InstanceId& id, std::string_view name, Bytes payload,
                     const MessageId& message_id);
  template <class T>
  Status raise(const InstanceId& id, std::string_view name, const T& payload,
               const MessageId& message_id) {
    return raise_event(id, name, encode(payload), message_id);
  }

  // Publishes on `topic` to every instance subscribed to it now (each gets it once, in
  // publish order); durable when this returns. With no subscriber, nobody gets it: the
  // receipt is empty. Errors: kInvalidArgument, kLimitExceeded, kShutdown.
  Result<PublishReceipt> publish(std::string topic, Bytes payload);
  template <class T>
  Result<PublishReceipt> publish(std::string topic, const T& payload) {
    return publish(std::move(topic), encode(payload));
  }
  // The same, idempotent by a message id (Store::publish_once): a repeat reaches nobody
  // again and answers the first receipt. Errors: as above, and kAlreadyExists (the id was
  // used for a different publication).
  Result<PublishReceipt> publish(std::string topic, Bytes payload, const MessageId& message_id);
  template <class T>
  Result<PublishReceipt> publish(std::string topic, const T& payload, const MessageId& message_id) {
    return publish(std::move(topic), encode(payload), message_id);
  }

  // Asks instance `id` to stop: cooperatively (it sees Cancelled at its next await and may
  // compensate) or, with `terminate`, at once. Cascades to its sub-orchestrations and
  // activities. Errors: kNotFound, kFailedPrecondition (it has finished), kLimitExceeded
  // (a reason over kMaxReasonBytes).
  // A cooperative cancel ends the instance as kCancelled (the code may catch Cancelled and
  // compensate); a terminate ends it as kTerminated, and its sub-orchestrations too.
  Status cancel(const InstanceId& id, std::string reason, bool terminate = false);

  // Pauses instance `id`: once its next turn takes the pause (status kPaused), it takes no
  // turns; events, activity results and due timers wait, and are taken in their order by
  // resume. A terminate is still taken while paused; a cooperative cancel waits (it runs the
  // code). An instance that has not started yet does not start until resumed. Durable when
  // this returns; the pause survives restarts. Errors: kNotFound, kFailedPrecondition (it
  // has finished, or is paused already or about to be: nothing is changed), kLimitExceeded
  // (a reason over kMaxReasonBytes).
  Status pause(const InstanceId& id, std::string reason = {});
  // Resumes a paused instance (or one whose pause waits in its inbox). Errors: kNotFound,
  // kFailedPrecondition (it has finished, or is not paused: nothing is changed).
  Status resume(const InstanceId& id);

  // The instance's status, output or failure, and custom status. Errors: kNotFound.
  Result<InstanceInfo> status(const InstanceId& id);
  // Waits until the instance has finished (completed, failed, cancelled or terminated) and
  // returns its final information. Errors: kTimeout (still running after `timeout`, or with
  // options.until_created not created yet: the message says which), kNotFound (no such
  // instance: answered at once unless options.until_created; or it was deleted while this
  // waited).
  Result<InstanceInfo> wait(const InstanceId& id, Milliseconds timeout, WaitOptions options = {});
  // Waits, then gives the output decoded as Out. Errors: as wait, and kApplicationFailure
  // (the instance failed: the message gives its failure), kCancelled (it was cancelled or
  // terminated), kPayloadMismatch.
  template <class Out>
  Result<ValueOf<Out>> wait_output(const InstanceId& id, Milliseconds timeout,
                                   WaitOptions options = {}) {
    auto info = wait(id, timeout, options);
    if (!info) return fail(info.error());
    if (auto bad = outcome_error(*info)) return fail(*bad);
    if constexpr (std::is_void_v<Out>) {
      return Unit{};
    } else {
      return decode<Out>(info->output);
    }
  }

  Result<InstancePage> list(const InstanceQuery& query);
  // The history of one execution (0: the latest).
  Result<std::vector<HistoryEvent>> history(const InstanceId& id, ExecutionId execution = 0);
  Result<std::vector<ExecutionInfo>> executions(const InstanceId& id);
  // Deletes an instance with all its executions and, recursively, its sub-orchestrations.
  // A running one only with `force` (its actor stops). Errors: kNotFound,
  // kFailedPrecondition (running, without force).
  Result<DeleteSummary> remove(const InstanceId& id, bool force = false);
  // Prunes the old executions of an instance that continues as new, keeping the last
  // `keep_last` (the current one among them; see Store::prune_executions for what the reads
  // say afterwards). Safe while the instance runs: its turns only touch the current
  // execution. Errors: kInvalidArgument (keep_last 0), kNotFound, kShutdown.
  Result<PruneSummary> prune(const InstanceId& id, std::uint32_t keep_last);
  // Rewinds a failed instance: it continues from the point of failure, the activities and
  // children that failed it run again, what succeeded is kept (Store::rewind_instance and
  // docs/operations.md, "Rewind"). The work it needs runs at once and the instance (with its
  // rewound children) is woken; wait for it as for any instance. Errors: kNotFound,
  // kFailedPrecondition (it has not failed, or failed from nondeterminism, poison or an
  // unregistered orchestration, or a child cannot be re-run: nothing is changed), kShutdown.
  Result<RewindSummary> rewind(const InstanceId& id);
  // Forks events 1..at of execution `execution` (0: the current one) of instance `source`
  // into the new instance `target`, which replays them and runs on from there
  // (Store::fork_instance); the source is not changed. Errors: kInvalidArgument (a malformed
  // target id, `at` out of range or inside a step, a sub-orchestration left outstanding),
  // kNotFound, kAlreadyExists (the target exists), kShutdown.
  Result<ForkSummary> fork(const InstanceId& source, EventId at, InstanceId target,
                           ExecutionId execution = 0);

 private:
  static std::optional<Error> outcome_error(const InstanceInfo& info);
  // Puts a Pause or Resume in the instance's inbox and wakes its actor.
  Status enqueue_control(const InstanceId& id, InboxMessage message);
  // Runs the work and timers a rewind or fork created and wakes `instances`.
  void dispatch_created(const std::vector<WorkItem>& work, const std::vector<TimerEntry>& timers,
                        const std::vector<InstanceId>& instances);
  Result<InstanceId> start_open(std::string_view name, InstanceId id, Bytes input,
                                std::uint32_t version);

  std::shared_ptr<detail::HostCore> core_;
};

}  // namespace duractor
