#pragma once
// The cores of the futures the replay engine settles: OperationCore (an activity attempt,
// a timer or a sub-orchestration, settled by the completion event that names its id),
// EventCore (a wait for an external event or a topic message, settled by the next matching
// EventRaised) and RetryCore (a call with a retry policy, settled from its attempts).
// The context (runtime/context.cc) creates them; the engine (replay_engine.cc) settles
// them. Internal, single-threaded like the engine.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "duractor/runtime/context.h"
#include "duractor/runtime/detail/future_core.h"
#include "duractor/runtime/exceptions.h"
#include "duractor/runtime/inbox_message.h"
#include "duractor/runtime/retry.h"

namespace duractor::detail {

// An operation recorded by a scheduling event (activity attempt, timer, sub-orchestration):
// settled when the engine applies its completion.
class OperationCore : public FutureCore {
 public:
  OperationCore(OrchestrationContext& ctx, CoreKind kind, std::string what)
      : FutureCore(ctx.awaits_, kind, std::move(what)), ctx_(ctx) {}

  EventId id = 0;    // of the scheduling event, once recorded
  std::string name;  // activity or orchestration name
  InstanceId child;  // sub-orchestrations: the child's id
  bool detached = false;

  void bind(EventId event) {
    id = event;
    set_what(what() + " (#" + std::to_string(event) + ")");
  }

  void abandon() override { give_up("lost a when_any"); }

  // The code no longer wants the result: asks the operation to stop (request_cancel) and
  // leaves it out of the open operations, so that its result is not recorded.
  void give_up(const std::string& reason) {
    if (settled() || abandoned()) return;
    FutureCore::abandon();
    request_cancel(reason, false);
    ctx_.give_up(*this);
  }

  // Asks an activity or an attached sub-orchestration to stop, recording the request (its
  // id is filled in from this core when the request is recorded); timers and detached
  // children have nobody to ask. Under rules 2 an operation is asked once.
  void request_cancel(const std::string& reason, bool terminate) {
    if (cancel_requested_ && ctx_.rules() >= 2) return;
    cancel_requested_ = true;
    if (kind() == CoreKind::kActivity) {
      ctx_.emit(event::ActivityCancelRequested{0, reason}, nullptr, self());
    } else if (kind() == CoreKind::kChild && !detached) {
      ctx_.emit(event::SubOrchestrationCancelRequested{0, reason, terminate}, nullptr, self());
    }
  }

 protected:
  void released() override {
    if (ctx_.rules() < 2 || ctx_.closing_) return;
    give_up(registry().stopping.empty() ? "its future was destroyed before it was awaited"
                                        : registry().stopping);
  }

 private:
  bool cancel_requested_ = false;
  std::shared_ptr<OperationCore> self() {
    return std::static_pointer_cast<OperationCore>(shared_from_this());
  }
  OrchestrationContext& ctx_;
};

// A wait for an external event: settled by the next matching EventRaised.
class EventCore : public FutureCore {
 public:
  EventCore(OrchestrationContext& ctx, std::string name)
      : FutureCore(ctx.awaits_, CoreKind::kEvent, describe(name)),
        ctx_(ctx),
        name_(std::move(name)) {}
  ~EventCore() override {
    if (waiting_) ctx_.remove_event_waiter(this);
  }
  const std::string& name() const { return name_; }
  static std::string describe(const std::string& name) {
    if (name.starts_with(kTopicEventPrefix)) {
      return "message on topic '" + name.substr(kTopicEventPrefix.size()) + "'";
    }
    return "event '" + name + "'";
  }
  void start_waiting() { waiting_ = true; }
  void deliver(Bytes payload) {
    waiting_ = false;
    settle_payload(std::move(payload));
  }
  void abandon() override {
    if (settled() || abandoned()) return;
    FutureCore::abandon();
    if (waiting_) ctx_.remove_event_waiter(this);
    waiting_ = false;
  }

 private:
  OrchestrationContext& ctx_;
  std::string name_;
  bool waiting_ = false;
};

// A call with a retry policy: a state machine over activity attempts, optional timeout
// timers and backoff timers, all ordinary durable operations.
class RetryCore : public FutureCore, public Waiter {
 public:
  RetryCore(OrchestrationContext& ctx, std::string activity, RetryPolicy policy,
            std::function<std::shared_ptr<OperationCore>(std::uint32_t)> schedule,
            std::function<std::shared_ptr<OperationCore>(TimePoint)> timer)
      : FutureCore(ctx.awaits_, CoreKind::kRetry, "activity '" + activity + "' (with retries)"),
        ctx_(ctx),
        activity_(std::move(activity)),
        policy_(policy),
        schedule_(std::move(schedule)),
        timer_(std::move(timer)) {}
  ~RetryCore() override { stop_listening(); }

  void start() { next_attempt(); }

  void wake() override {
    if (settled() || abandoned()) return;
    if (backoff_) {
      if (!backoff_->settled()) return;
      stop_listening();
      backoff_.reset();
      next_attempt();
      return;
    }
    if (attempt_core_->settled()) {
      stop_listening();
      if (timeout_) timeout_->abandon();
      if (!attempt_core_->error()) {
        settle_payload(attempt_core_->payload());
        return;
      }
      FailureDetails failure = failure_of(attempt_core_->error());
      if (!retryable(failure) || attempt_ >= policy_.max_attempts) {
        settle_error(std::make_exception_ptr(ActivityFailed(activity_, failure, attempt_)));
        return;
      }
      wait_before_next();
    } else if (timeout_ && timeout_->settled()) {
      stop_listening();
      attempt_core_->give_up("the attempt timed out");  // records the cancellation request
      if (attempt_ >= policy_.max_attempts) {
        settle_error(std::make_exception_ptr(
            ActivityTimedOut(activity_, *policy_.attempt_timeout, attempt_)));
        return;
      }
      wait_before_next();
    }
  }

  void abandon() override { give_up("lost a when_any"); }

 protected:
  void released() override {
    if (ctx_.rules() < 2 || ctx_.closing_) return;
    give_up(registry().stopping.empty() ? "its future was destroyed before it was awaited"
                                        : registry().stopping);
  }

 private:
  void give_up(const std::string& reason) {
    if (settled() || abandoned()) return;
    FutureCore::abandon();
    stop_listening();
    if (attempt_core_) attempt_core_->give_up(reason);
    if (timeout_) timeout_->abandon();
    if (backoff_) backoff_->abandon();
  }

  static bool retryable(const FailureDetails& f) {
    return f.retryable && f.category == ErrorCategory::kApplication && f.type != kCancelledType;
  }

  void next_attempt() {
    ++attempt_;
    attempt_core_ = schedule_(attempt_);
    attempt_core_->add_waiter(this);
    timeout_.reset();
    if (policy_.attempt_timeout) {
      timeout_ = timer_(ctx_.now() + *policy_.attempt_timeout);
      timeout_->add_waiter(this);
    }
  }

  void wait_before_next() {
    auto delay = policy_.delay_after(attempt_);
    if (delay.count() == 0 && ctx_.rules() >= 2) {  // nothing to wait for: retry in this turn
      next_attempt();
      return;
    }
    backoff_ = timer_(ctx_.now() + delay);
    backoff_->add_waiter(this);
  }

  void stop_listening() {
    for (auto* core : {attempt_core_.get(), timeout_.get(), backoff_.get()}) {
      if (core != nullptr) core->remove_waiter(this);
    }
  }

  OrchestrationContext& ctx_;
  std::string activity_;
  RetryPolicy policy_;
  std::function<std::shared_ptr<OperationCore>(std::uint32_t)> schedule_;
  std::function<std::shared_ptr<OperationCore>(TimePoint)> timer_;
  std::uint32_t attempt_ = 0;
  std::shared_ptr<OperationCore> attempt_core_;
  std::shared_ptr<OperationCore> timeout_;
  std::shared_ptr<OperationCore> backoff_;
};

}  // namespace duractor::detail
