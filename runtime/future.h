#pragma once
// DurableFuture<T>: what ctx.call, ctx.timer, ctx.wait_event and the other context calls
// return. A durable future is hot: the operation is scheduled when the future is created
// (so fan-out is just creating futures), and co_await gives its result or throws its
// failure. Futures settle only when the replay engine applies history events, one event
// at a time, so every combinator (runtime/combinators.h) resolves in history order, never
// in wall-clock order.
//
// A future that loses a when_any is abandoned: a timer or event wait stops listening, an
// activity or sub-orchestration is asked to cancel (recorded in history); awaiting an
// abandoned future throws Cancelled. Destroying the last copy of a future before it
// settled abandons it the same way (it went out of scope unawaited): what nobody can
// await any more does not keep running. Fire and forget is start_detached.

#include <coroutine>
#include <exception>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>

#include "duractor/runtime/detail/future_core.h"
#include "duractor/runtime/exceptions.h"
#include "duractor/runtime/handles.h"
#include "duractor/runtime/payload.h"

namespace duractor {

// The results of when_any (runtime/combinators.h).
template <class T>
class AnyOf;
template <class... T>
class WhenAny;

namespace detail {

template <class T>
struct IsAnyResult : std::false_type {};
template <class T>
struct IsAnyResult<AnyOf<T>> : std::true_type {};
template <class... T>
struct IsAnyResult<WhenAny<T...>> : std::true_type {};

// The result of a settled core as a T: rethrows its failure; Cancelled if it was abandoned;
// ConfigurationError if its payload does not decode as T.
template <class T>
ValueOf<T> take_result(const FutureCore& core) {
  if (core.error()) std::rethrow_exception(core.error());
  if (!core.settled()) {
    throw Cancelled(core.what() + " was given up: it lost a when_any");
  }
  if (core.kind() == CoreKind::kCombinator) {
    return static_cast<const ValueCore<ValueOf<T>>&>(core).value();
  }
  if constexpr (IsAnyResult<T>::value) {
    throw std::logic_error("a when_any result is only ever a combinator's");
  } else if constexpr (std::is_void_v<T>) {
    return Unit{};
  } else {
    auto value = decode<T>(core.payload());
    if (!value) {
      throw ConfigurationError(ErrorCode::kPayloadMismatch,
                               "the result of " + core.what() + ": " + value.error().message);
    }
    return std::move(*value);
  }
}

}  // namespace detail

template <class T>
class DurableFuture {
 public:
  using value_type = T;

  DurableFuture() = default;
  explicit DurableFuture(std::shared_ptr<detail::FutureCore> core) : core_(std::move(core)) {
    if (core_) core_->retain();
  }
  // Copies share the operation; destroying the last one before it settled cancels it (see
  // the header comment).
  DurableFuture(const DurableFuture& other) : core_(other.core_) {
    if (core_) core_->retain();
  }
  DurableFuture(DurableFuture&& other) noexcept : core_(std::move(other.core_)) {}
  DurableFuture& operator=(DurableFuture other) noexcept {
    std::swap(core_, other.core_);
    return *this;
  }
  ~DurableFuture() {
    if (core_) core_->release();
  }

  bool valid() const { return core_ != nullptr; }
  // Settled (a result or a failure is there).
  bool ready() const { return core_ && core_->settled(); }
  const std::shared_ptr<detail::FutureCore>& core() const { return core_; }

  // The result of a settled future; rethrows its failure. Prefer co_await.
  ValueOf<T> get() const { return detail::take_result<T>(*core_); }

  class Awaiter final : public detail::SuspendedAwait {
   public:
    explicit Awaiter(std::shared_ptr<detail::FutureCore> core) : core_(std::move(core)) {}
    Awaiter(const Awaiter&) = delete;
    Awaiter& operator=(const Awaiter&) = delete;
    // Destroyed while suspended: its coroutine's frame is destroyed (a spawned helper that
    // was given up, an execution that ended); nothing may wake it any more.
    ~Awaiter() {
      if (waiting_) {
        core_->remove_waiter(this);
        core_->registry().untrack(this);
      }
    }
    bool await_ready() const { return core_->settled() || core_->abandoned(); }
    void await_suspend(std::coroutine_handle<> h) {
      handle_ = h;
      waiting_ = true;
      core_->add_waiter(this);
      core_->registry().track(this);
    }
    T await_resume() {
      if (interrupted_) throw Cancelled(*interrupted_);
      if constexpr (std::is_void_v<T>) {
        detail::take_result<void>(*core_);
      } else {
        return detail::take_result<T>(*core_);
      }
    }
    void wake() override {
      waiting_ = false;
      core_->registry().untrack(this);
      handle_.resume();  // may destroy this awaiter: nothing after
    }
    void interrupt(std::string reason) override {
      waiting_ = false;
      interrupted_ = std::move(reason);
      core_->remove_waiter(this);
      core_->registry().untrack(this);
      handle_.resume();
    }

   private:
    std::shared_ptr<detail::FutureCore> core_;
    std::coroutine_handle<> handle_;
    bool waiting_ = false;
    std::optional<std::string> interrupted_;
  };

  Awaiter operator co_await() const { return Awaiter(core_); }

 private:
  std::shared_ptr<detail::FutureCore> core_;
};

}  // namespace duractor
