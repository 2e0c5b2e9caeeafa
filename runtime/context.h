#pragma once
// OrchestrationContext: everything an orchestration may do. Orchestration code must be
// deterministic — the replay engine runs it again from the start whenever an instance is
// reactivated, and checks that it does the same things in the same order — so it gets
// time, ids and randomness only from the context, waits only on context futures, and
// combines them only with when_all / when_any (docs/orchestration-guide.md has the rules).
//
//   duractor::Task<std::string> hello(duractor::OrchestrationContext& ctx, std::string name) {
//     auto greeting = co_await ctx.call(Greet, name);       // an activity
//     co_await ctx.sleep(std::chrono::seconds(5));           // a durable timer
//     auto r = co_await ctx.when_any(ctx.wait_event<bool>("Approval"),
//                                    ctx.timer(std::chrono::hours(24)));
//     co_return r.index() == 0 && r.get<0>() ? greeting : "timed out";
//   }
//
// Failures surface as exceptions at the co_await (runtime/exceptions.h). A context belongs
// to one execution of one instance and is used from one thread at a time.

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <vector>

#include "duractor/runtime/combinators.h"
#include "duractor/runtime/detail/spawn_core.h"
#include "duractor/runtime/future.h"
#include "duractor/runtime/handles.h"
#include "duractor/runtime/history.h"
#include "duractor/runtime/inbox_message.h"
#include "duractor/runtime/log.h"
#include "duractor/runtime/retry.h"
#include "duractor/runtime/task.h"

namespace duractor {

class ReplayEngine;

namespace detail {
class OperationCore;
class EventCore;
class RetryCore;
}  // namespace detail

// How a sub-orchestration is started:
//   ctx.call(Child, input, {"child-7"})               // an explicit instance id
//   ctx.call(Child, input, {"child-7", 2})            // and version 2
//   ctx.call(Child, input, SubOrchestrationOptions::version_only(2))
// (Constructors rather than an aggregate: g++ 12 destroys braced aggregate temporaries
// wrongly when they span a co_await.)
struct SubOrchestrationOptions {
  SubOrchestrationOptions() = default;
  SubOrchestrationOptions(InstanceId id, std::uint32_t v = 0)  // NOLINT: implicit on purpose
      : instance(std::move(id)), version(v) {}
  SubOrchestrationOptions(const char* id, std::uint32_t v = 0)  // NOLINT
      : instance(InstanceId(id)), version(v) {}
  static SubOrchestrationOptions version_only(std::uint32_t v) {
    SubOrchestrationOptions o;
    o.version = v;
    return o;
  }

  // The child's instance id; by default "<parent id>:<execution>:<n>" for the n-th child
  // the execution starts, which is deterministic.
  std::optional<InstanceId> instance;
  std::uint32_t version = 0;  // 0: the latest version registered when the child starts
};

class OrchestrationContext {
 public:
  OrchestrationContext(const OrchestrationContext&) = delete;
  OrchestrationContext& operator=(const OrchestrationContext&) = delete;
  ~OrchestrationContext();

  // ---- identity and determinism --------------------------------------------------------

  const InstanceId& instance_id() const { return instance_; }
  ExecutionId execution_id() const { return execution_; }
  const std::string& name() const { return name_; }
  std::uint32_t version() const { return version_; }
  // True while the engine replays recorded history (the code already ran this far once).
  bool is_replaying() const { return replaying_; }
  // The time of the history event being processed: deterministic, unlike the clock.
  TimePoint now() const { return now_; }
  // A deterministic, unique id (the same on every replay).
  std::string new_guid();
  // A logger that writes only when not replaying; lines name the instance.
  const ContextLogger& log() const { return logger_; }

  // ---- activities ------------------------------------------------------------------------

  template <class In, class Out>
  DurableFuture<Out> call(const Activity<In, Out>& activity,
                          const std::type_identity_t<In>& input) {
    return DurableFuture<Out>(schedule_activity(activity.name, encode(input), nullptr));
  }
  // With retries: failed attempts are retried after the policy's durable waits; the future
  // fails with the last attempt's failure (ActivityFailed, or ActivityTimedOut).
  template <class In, class Out>
  DurableFuture<Out> call(const Activity<In, Out>& activity, const std::type_identity_t<In>& input,
                          const RetryPolicy& retry) {
    return DurableFuture<Out>(schedule_activity(activity.name, encode(input), &retry));
  }
  // By name, for activities without a typed handle.
  template <class Out, class In>
  DurableFuture<Out> call_activity(std::string_view name, const In& input) {
    return DurableFuture<Out>(schedule_activity(name, encode(input), nullptr));
  }
  template <class Out, class In>
  DurableFuture<Out> call_activity(std::string_view name, const In& input,
                                   const RetryPolicy& retry) {
    return DurableFuture<Out>(schedule_activity(name, encode(input), &retry));
  }

  // ---- timers ----------------------------------------------------------------------------

  // A durable timer: survives restarts; fires at now() + delay (never earlier).
  DurableFuture<void> timer(Milliseconds delay) { return timer_until(now_ + delay); }
  DurableFuture<void> timer_until(TimePoint at) { return DurableFuture<void>(create_timer(at)); }
  DurableFuture<void> sleep(Milliseconds delay) { return timer(delay); }

  // ---- external events -------------------------------------------------------------------

  // The next event of this name, in arrival order. Events that arrived before anyone waited
  // are kept and given to waits in order; several waits on one name are served in order.
  template <class T>
  DurableFuture<T> wait_event(std::string_view name) {
    return DurableFuture<T>(wait_for_event(name));
  }
  // Sends an event to another instance (fire and forget; recorded in history).
  template <class T>
  void send_event(const InstanceId& instance, std::string_view name, const T& payload) {
    record_send_event(instance, name, encode(payload));
  }

  // ---- topics ----------------------------------------------------------------------------

  // Subscribes this instance durably to `topic`: from the commit of this turn on, every
  // publication on the topic reaches it, once, in publish order, until it unsubscribes or
  // finishes (the subscription outlives continue-as-new). Recorded in history.
  void subscribe(std::string_view topic);
  void unsubscribe(std::string_view topic);
  // The next publication on `topic` (in publish order; publications that arrived before
  // the wait are kept, like events).
  template <class T>
  DurableFuture<T> next_message(std::string_view topic) {
    return DurableFuture<T>(wait_for_event(topic_event_name(topic)));
  }
  // Publishes `message` on `topic`, as Client::publish does, from orchestration code:
  // recorded in history (TopicPublished), and delivered by this turn's commit — in the same
  // store transaction, so a crash keeps both or neither — to every instance subscribed to
  // the topic when the turn commits (this turn's own subscribe and unsubscribe included),
  // each once, in commit order. However often the turn replays, it is published once:
  // replay matches the recorded event (another topic or message there, or none, is a
  // nondeterminism error) and delivers nothing. Fire and forget, like send_event: there is
  // nothing to await, and who was reached is not told (it depends on other instances'
  // subscriptions, which deterministic code must not read). A bad topic name throws
  // ConfigurationError (kInvalidArgument) here; a message over
  // HostOptions::max_payload_bytes fails the instance when the turn ends
  // (duractor::LimitExceeded). Like every payload, a std::string is a value to encode.
  template <class T>
  void publish(std::string_view topic, const T& message) {
    record_publish(topic, encode(message));
  }
  // The same with bytes already encoded (the counterpart of Client::publish with Bytes);
  // subscribers decode them as next_message<T> does any publication.
  void publish_bytes(std::string_view topic, Bytes encoded) {
    record_publish(topic, std::move(encoded));
  }

  // ---- sub-orchestrations ----------------------------------------------------------------
  // Through a typed handle the child runs the handle's version (options.version, if set,
  // overrides it), as Client::start does; by name, version 0 means the latest registered.
  // The future throws SubOrchestrationFailed if the child fails or is cancelled, or cannot
  // start: its id is taken (type duractor::InstanceAlreadyExists) or its input is over
  // HostOptions::max_payload_bytes (type duractor::LimitExceeded). A detached child with
  // too large an input fails the calling instance instead.

  template <class In, class Out>
  DurableFuture<Out> call(const Orchestration<In, Out>& orchestration,
                          const std::type_identity_t<In>& input,
                          SubOrchestrationOptions options = {}) {
    auto version = options.version ? options.version : orchestration.version;
    return DurableFuture<Out>(
        schedule_child(orchestration.name, version, encode(input), options, false).first);
  }
  template <class Out, class In>
  DurableFuture<Out> call_orchestration(std::string_view name, const In& input,
                                        SubOrchestrationOptions options = {}) {
    return DurableFuture<Out>(
        schedule_child(name, options.version, encode(input), options, false).first);
  }
  // Starts an orchestration that runs on its own (fire and forget); returns its id.
  template <class In, class Out>
  InstanceId start_detached(const Orchestration<In, Out>& orchestration,
                            const std::type_identity_t<In>& input,
                            SubOrchestrationOptions options = {}) {
    auto version = options.version ? options.version : orchestration.version;
    return schedule_child(orchestration.name, version, encode(input), options, true).second;
  }

  // ---- continue as new -------------------------------------------------------------------

  class [[nodiscard]] ContinueAsNewAwaiter {
   public:
    bool await_ready() const noexcept { return false; }
    void await_suspend(std::coroutine_handle<>) {
      ctx_.request_continue_as_new(std::move(input_), version_);
    }
    void await_resume() const noexcept {}  // never resumed: the execution ends here

   private:
    friend class OrchestrationContext;
    ContinueAsNewAwaiter(OrchestrationContext& ctx, Bytes input, std::uint32_t version)
        : ctx_(ctx), input_(std::move(input)), version_(version) {}
    OrchestrationContext& ctx_;
    Bytes input_;
    std::uint32_t version_;
  };
  // `co_await ctx.continue_as_new(input)` ends this execution and starts the next with
  // `input` (and `version`, 0: the latest registered), keeping the instance id. Events that
  // arrived but were not consumed carry over. The co_await never returns.
  template <class In>
  ContinueAsNewAwaiter continue_as_new(const In& input, std::uint32_t version = 0) {
    return ContinueAsNewAwaiter(*this, encode(input), version);
  }

  // ---- combinators -----------------------------------------------------------------------

  // when_all over an empty vector completes at once with an empty vector (fan-out over an
  // empty list needs no special case). when_any over an empty vector throws
  // ConfigurationError (kInvalidArgument): there is nothing that could win.
  template <class T>
  DurableFuture<std::vector<ValueOf<T>>> when_all(std::vector<DurableFuture<T>> futures) {
    if (futures.empty()) {
      return DurableFuture<std::vector<ValueOf<T>>>(
          detail::settled_core(awaits_, "when_all of no futures", std::vector<ValueOf<T>>()));
    }
    return duractor::when_all(std::move(futures));
  }
  template <class... T>
  DurableFuture<std::tuple<ValueOf<T>...>> when_all(DurableFuture<T>... futures) {
    return duractor::when_all(std::move(futures)...);
  }
  template <class T>
  DurableFuture<AnyOf<T>> when_any(std::vector<DurableFuture<T>> futures) {
    return duractor::when_any(std::move(futures));
  }
  template <class... T>
  DurableFuture<WhenAny<T...>> when_any(DurableFuture<T>... futures) {
    return duractor::when_any(std::move(futures)...);
  }

  // ---- helpers as futures ----------------------------------------------------------------

  // Runs a helper coroutine as a durable future, so that inline sub-flows run side by side
  // and combine with when_all / when_any:
  //   auto vm = [&](std::string name) -> Task<std::string> {...};   // create, then poll
  //   co_await ctx.when_all(futures(ctx.spawn(vm("a")), ctx.spawn(vm("b"))));
  // The helper starts at once and runs until its first co_await; it resumes only as the
  // futures it awaits settle, in history order, so it finishes at the same point of history
  // on every replay, and the future settles then with its result (or its exception). What
  // it does is recorded as this orchestration's operations: no sub-orchestration, no
  // history of its own. Given up (it lost a when_any, or its last future went unawaited),
  // the helper is stopped where it waits: its frames are destroyed, and what it was
  // waiting on is given up as when a future is dropped (activities and children get a
  // recorded cancellation request). A cooperative cancel reaches every helper that waits,
  // as it reaches the orchestration. Pass what the helper needs by value or by a reference
  // that outlives it (the context does): a lambda coroutine must not capture locals that
  // end first. Throws ConfigurationError (kInvalidArgument) for a task that has already
  // started or has no coroutine.
  template <class T>
  DurableFuture<T> spawn(Task<T> helper) {
    if (helper.handle() == nullptr || helper.handle().done() ||
        helper.handle().promise().continuation != std::noop_coroutine()) {
      throw_spawn_refused();
    }
    auto core = std::make_shared<detail::SpawnCore<T>>(
        awaits_, "spawned helper #" + std::to_string(++spawned_));
    core->start(std::move(helper));
    return DurableFuture<T>(std::move(core));
  }

  // ---- status ----------------------------------------------------------------------------

  // Publishes a short progress text, visible in the instance's status (recorded in history).
  // At most HostOptions::max_custom_status_bytes (64 KiB by default): a turn that sets a
  // longer one fails the instance (duractor::LimitExceeded), nothing is truncated.
  void set_custom_status(std::string status);
  // The last status set, in this execution or, after continue-as-new, in the one before.
  const std::string& custom_status() const { return custom_status_; }

 private:
  friend class ReplayEngine;
  friend class detail::OperationCore;
  friend class detail::EventCore;
  friend class detail::RetryCore;

  OrchestrationContext(InstanceId instance, ExecutionId execution, std::string name,
                       std::uint32_t version, std::shared_ptr<spdlog::logger> logger);

  std::shared_ptr<detail::FutureCore> schedule_activity(std::string_view name, Bytes input,
                                                        const RetryPolicy* retry);
  std::shared_ptr<detail::FutureCore> create_timer(TimePoint at);
  std::shared_ptr<detail::FutureCore> wait_for_event(std::string_view name);
  void record_send_event(const InstanceId& instance, std::string_view name, Bytes payload);
  void record_publish(std::string_view topic, Bytes payload);
  std::pair<std::shared_ptr<detail::FutureCore>, InstanceId> schedule_child(
      std::string_view name, std::uint32_t version, Bytes input,
      const SubOrchestrationOptions& options, bool detached);
  void request_continue_as_new(Bytes input, std::uint32_t version);
  [[noreturn]] static void throw_spawn_refused();

  // An action of the code, waiting to be matched against history (replay) or recorded.
  struct PendingAction {
    EventBody body;
    std::shared_ptr<detail::OperationCore> binds;    // gets the recorded event's id
    std::shared_ptr<detail::OperationCore> cancels;  // a cancel request: names this op's id
  };
  void emit(EventBody body, std::shared_ptr<detail::OperationCore> binds = nullptr,
            std::shared_ptr<detail::OperationCore> cancels = nullptr);
  void remove_event_waiter(detail::EventCore* waiter);
  // The code gave up on operation `core` (abandoned): it is no longer open, and a result
  // that still arrives for it is dropped, not recorded.
  void give_up(detail::OperationCore& core);
  // The rules this execution runs under (history.h, kFirstRules..kCurrentRules).
  std::uint32_t rules() const { return rules_; }

  InstanceId instance_;
  ExecutionId execution_;
  std::string name_;
  std::uint32_t version_;
  ContextLogger logger_;
  TimePoint now_{};
  bool replaying_ = false;
  std::uint64_t guids_ = 0;
  std::uint64_t children_ = 0;
  std::uint64_t spawned_ = 0;
  std::string custom_status_;

  detail::AwaitRegistry awaits_;
  std::deque<PendingAction> pending_;
  // Scheduled operations by the id of their scheduling event, until completed.
  std::map<EventId, std::shared_ptr<detail::OperationCore>> open_;
  std::unordered_map<std::string, std::deque<detail::EventCore*>> event_waiters_;
  // Operations given up before their result arrived, by id: their results are dropped
  // live; on replay, a result recorded by an older build is accepted and ignored.
  std::map<EventId, detail::CoreKind> given_up_;
  std::uint32_t rules_ = kCurrentRules;
  // The engine is destroying the coroutine (the execution ended, or is discarded): futures
  // destroyed now give nothing up, since no more events can be recorded.
  bool closing_ = false;
  std::deque<CarriedEvent> buffered_events_;  // arrived, not yet consumed; arrival order
  std::optional<std::pair<Bytes, std::uint32_t>> continue_as_new_;
};

}  // namespace duractor
