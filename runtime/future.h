#pragma once
// DurableFuture<T>: what ctx.call, ctx.timer, ctx.wait_event and the other context calls
// return. A durable future is hot: the operation is scheduled when the future is created
// (so fan-out is just creating futures), and co_await gives its result or throws its
// failure. Futures settle only when the replay engine applies history events, one event
// at a time, so every combinator resolves in history order, never in wall-clock order.
//
// Combinators (see OrchestrationContext::when_all / when_any) are built from the same
// pieces. A future that loses a when_any is abandoned: a timer or event wait stops
// listening, an activity or sub-orchestration is asked to cancel (recorded in history);
// awaiting an abandoned future throws Cancelled. Destroying the last copy of a future
// before it settled abandons it the same way (it went out of scope unawaited): what
// nobody can await any more does not keep running. Fire and forget is start_detached.

#include <algorithm>
#include <coroutine>
#include <cstdint>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "duractor/runtime/exceptions.h"
#include "duractor/runtime/handles.h"
#include "duractor/runtime/payload.h"

namespace duractor {

template <class T>
class AnyOf;
template <class... T>
class WhenAny;

namespace detail {

// Something that waits for a future core to settle: a suspended coroutine or a combinator.
class Waiter {
 public:
  virtual void wake() = 0;

 protected:
  ~Waiter() = default;
};

// A coroutine suspended at a co_await; cooperative cancellation interrupts it.
class SuspendedAwait : public Waiter {
 public:
  virtual void interrupt(std::string reason) = 0;

 protected:
  ~SuspendedAwait() = default;
};

// Shared by all futures of one execution: the settle counter that orders them, and the
// coroutine awaits currently suspended (for cooperative cancellation).
struct AwaitRegistry {
  std::uint64_t settled = 0;
  std::vector<SuspendedAwait*> suspended;

  void track(SuspendedAwait* a) { suspended.push_back(a); }
  void untrack(SuspendedAwait* a) {
    suspended.erase(std::remove(suspended.begin(), suspended.end(), a), suspended.end());
  }
};

enum class CoreKind : std::uint8_t { kActivity, kTimer, kEvent, kChild, kRetry, kCombinator };

// The state behind a DurableFuture: settled once, with a payload (operations), a typed
// value (combinators) or an error. Single-threaded, like the engine that drives it.
class FutureCore : public std::enable_shared_from_this<FutureCore> {
 public:
  FutureCore(AwaitRegistry& registry, CoreKind kind, std::string what)
      : registry_(registry), kind_(kind), what_(std::move(what)) {}
  virtual ~FutureCore() = default;
  FutureCore(const FutureCore&) = delete;
  FutureCore& operator=(const FutureCore&) = delete;

  CoreKind kind() const { return kind_; }
  // What the operation is, for messages: "activity 'Charge' (#5)".
  const std::string& what() const { return what_; }
  AwaitRegistry& registry() const { return registry_; }

  bool settled() const { return order_ != 0; }
  // When it settled among all futures of the execution (0: not yet).
  std::uint64_t settle_order() const { return order_; }
  const std::exception_ptr& error() const { return error_; }
  const Bytes& payload() const { return payload_; }
  bool abandoned() const { return abandoned_; }

  void settle_payload(Bytes payload) {
    payload_ = std::move(payload);
    finish();
  }
  void settle_error(std::exception_ptr error) {
    error_ = std::move(error);
    finish();
  }

  void add_waiter(Waiter* w) { waiters_.push_back(w); }
  void remove_waiter(Waiter* w) {
    waiters_.erase(std::remove(waiters_.begin(), waiters_.end(), w), waiters_.end());
  }

  // Gives up on the result (the future lost a when_any). Subclasses also tell the outside
  // world where that applies. No effect once settled.
  virtual void abandon() {
    if (!settled()) abandoned_ = true;
  }

  // DurableFuture handles that refer to this core. When the last one goes while the core is
  // unsettled, nobody can ever await it: released() tells the core so.
  void retain() { ++handles_; }
  void release() {
    if (--handles_ == 0) released();
  }

 protected:
  // The last DurableFuture of this core is gone. Cores of operations that run outside
  // (activities, timers, sub-orchestrations, retried calls) give them up; others need not.
  virtual void released() {}

 protected:
  void set_what(std::string what) { what_ = std::move(what); }
  // Stamps the settle order and wakes every waiter (in the order they started waiting).
  // A waking waiter may run code that destroys other waiters (they unregister themselves)
  // or drops the last reference to this core, hence one at a time and a keep-alive.
  void finish() {
    order_ = ++registry_.settled;
    auto keep_alive = weak_from_this().lock();
    while (!waiters_.empty()) {
      Waiter* w = waiters_.front();
      waiters_.erase(waiters_.begin());
      w->wake();
    }
  }

 private:
  AwaitRegistry& registry_;
  CoreKind kind_;
  std::string what_;
  std::uint64_t order_ = 0;
  std::exception_ptr error_;
  Bytes payload_;
  bool abandoned_ = false;
  std::uint32_t handles_ = 0;
  std::vector<Waiter*> waiters_;
};

// A core whose result is a typed value (combinators).
template <class T>
class ValueCore : public FutureCore {
 public:
  using FutureCore::FutureCore;
  const T& value() const { return *value_; }
  void settle_value(T value) {
    value_.emplace(std::move(value));
    finish();
  }

 private:
  std::optional<T> value_;
};

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
    bool await_ready() const { return core_->settled() || core_->abandoned(); }
    void await_suspend(std::coroutine_handle<> h) {
      handle_ = h;
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
      core_->registry().untrack(this);
      handle_.resume();  // may destroy this awaiter: nothing after
    }
    void interrupt(std::string reason) override {
      interrupted_ = std::move(reason);
      core_->remove_waiter(this);
      core_->registry().untrack(this);
      handle_.resume();
    }

   private:
    std::shared_ptr<detail::FutureCore> core_;
    std::coroutine_handle<> handle_;
    std::optional<std::string> interrupted_;
  };

  Awaiter operator co_await() const { return Awaiter(core_); }

 private:
  std::shared_ptr<detail::FutureCore> core_;
};

// The result of when_any over futures of one type: which settled first, and its value.
template <class T>
class AnyOf {
 public:
  AnyOf(std::size_t index, DurableFuture<T> winner) : index_(index), winner_(std::move(winner)) {}
  // Position of the winner in the list given to when_any.
  std::size_t index() const { return index_; }
  // The winner's result; rethrows its failure.
  ValueOf<T> value() const { return winner_.get(); }

 private:
  std::size_t index_;
  DurableFuture<T> winner_;
};

// The result of when_any over futures of different types.
template <class... T>
class WhenAny {
 public:
  WhenAny(std::size_t index, std::tuple<DurableFuture<T>...> futures)
      : index_(index), futures_(std::move(futures)) {}
  std::size_t index() const { return index_; }
  // The result of future I (the winner's, normally); rethrows its failure; Cancelled for a
  // loser.
  template <std::size_t I>
  auto get() const {
    return std::get<I>(futures_).get();
  }

 private:
  std::size_t index_;
  std::tuple<DurableFuture<T>...> futures_;
};

namespace detail {

// The cores behind `futures`, which a combinator listens to.
template <class T>
std::vector<std::shared_ptr<FutureCore>> cores_of(const std::vector<DurableFuture<T>>& futures) {
  std::vector<std::shared_ptr<FutureCore>> cores;
  cores.reserve(futures.size());
  for (const auto& f : futures) cores.push_back(f.core());
  return cores;
}
template <class... T>
std::vector<std::shared_ptr<FutureCore>> cores_of(const std::tuple<DurableFuture<T>...>& futures) {
  return std::apply(
      [](const auto&... f) { return std::vector<std::shared_ptr<FutureCore>>{f.core()...}; },
      futures);
}

// A core that settles from other cores.
template <class R>
class CombinatorCore : public ValueCore<R>, public Waiter {
 public:
  CombinatorCore(std::vector<std::shared_ptr<FutureCore>> children, std::string what)
      : ValueCore<R>(children.front()->registry(), CoreKind::kCombinator, std::move(what)),
        children_(std::move(children)) {}
  ~CombinatorCore() override { detach(); }

  // Starts listening; may settle at once if the children already decide it.
  void start() {
    for (auto& c : children_) {
      if (!c->settled() && !c->abandoned()) c->add_waiter(this);
    }
    evaluate();
  }
  void wake() override {
    if (!this->settled()) evaluate();
  }
  void abandon() override {
    if (this->settled()) return;
    FutureCore::abandon();
    detach();
    for (auto& c : children_) c->abandon();
  }

 protected:
  virtual void evaluate() = 0;
  void detach() {
    for (auto& c : children_) c->remove_waiter(this);
  }
  bool all_done() const {
    return std::all_of(children_.begin(), children_.end(),
                       [](const auto& c) { return c->settled() || c->abandoned(); });
  }
  // The child whose failure settled first; else an abandoned child (it can never settle).
  const FutureCore* first_failure() const {
    const FutureCore* first = nullptr;
    for (const auto& c : children_) {
      if (c->settled() && c->error() &&
          (first == nullptr || c->settle_order() < first->settle_order())) {
        first = c.get();
      }
    }
    if (first != nullptr) return first;
    for (const auto& c : children_) {
      if (!c->settled()) return c.get();
    }
    return nullptr;
  }
  // The child that settled first, if any did.
  std::optional<std::size_t> first_settled() const {
    std::optional<std::size_t> best;
    for (std::size_t i = 0; i < children_.size(); ++i) {
      if (!children_[i]->settled()) continue;
      if (!best || children_[i]->settle_order() < children_[*best]->settle_order()) best = i;
    }
    return best;
  }
  void abandon_others(std::size_t winner) {
    detach();
    for (std::size_t i = 0; i < children_.size(); ++i) {
      if (i != winner) children_[i]->abandon();
    }
  }
  // Settles with the result of `compute`, or with the exception it throws.
  template <class F>
  void settle_with(F&& compute) {
    std::optional<R> result;
    try {
      result.emplace(compute());
    } catch (...) {
      this->settle_error(std::current_exception());
      return;
    }
    this->settle_value(std::move(*result));
  }
  void settle_failure(const FutureCore& failed) {
    if (failed.error()) {
      this->settle_error(failed.error());
    } else {
      this->settle_error(std::make_exception_ptr(
          Cancelled(failed.what() + " was given up: it lost a when_any")));
    }
  }

  std::vector<std::shared_ptr<FutureCore>> children_;
};

template <class T>
class AllVectorCore final : public CombinatorCore<std::vector<ValueOf<T>>> {
 public:
  explicit AllVectorCore(std::vector<DurableFuture<T>> futures)
      : CombinatorCore<std::vector<ValueOf<T>>>(cores_of(futures), "when_all"),
        futures_(std::move(futures)) {}

 private:
  void evaluate() override {
    if (!this->all_done()) return;
    this->detach();
    if (const auto* failed = this->first_failure()) return this->settle_failure(*failed);
    this->settle_with([&] {
      std::vector<ValueOf<T>> values;
      values.reserve(futures_.size());
      for (const auto& f : futures_) values.push_back(f.get());
      return values;
    });
  }
  std::vector<DurableFuture<T>> futures_;
};

template <class... T>
class AllTupleCore final : public CombinatorCore<std::tuple<ValueOf<T>...>> {
 public:
  explicit AllTupleCore(std::tuple<DurableFuture<T>...> futures)
      : CombinatorCore<std::tuple<ValueOf<T>...>>(cores_of(futures), "when_all"),
        futures_(std::move(futures)) {}

 private:
  void evaluate() override {
    if (!this->all_done()) return;
    this->detach();
    if (const auto* failed = this->first_failure()) return this->settle_failure(*failed);
    this->settle_with([&] {
      return std::apply([](const auto&... f) { return std::tuple<ValueOf<T>...>(f.get()...); },
                        futures_);
    });
  }
  std::tuple<DurableFuture<T>...> futures_;
};

template <class T>
class AnyVectorCore final : public CombinatorCore<AnyOf<T>> {
 public:
  explicit AnyVectorCore(std::vector<DurableFuture<T>> futures)
      : CombinatorCore<AnyOf<T>>(cores_of(futures), "when_any"), futures_(std::move(futures)) {}

 private:
  void evaluate() override {
    auto winner = this->first_settled();
    if (!winner) {
      if (this->all_done()) {  // every child was abandoned: nothing can win
        this->detach();
        this->settle_failure(*this->children_.front());
      }
      return;
    }
    this->abandon_others(*winner);
    this->settle_value(AnyOf<T>(*winner, futures_[*winner]));
  }
  std::vector<DurableFuture<T>> futures_;
};

template <class... T>
class AnyTupleCore final : public CombinatorCore<WhenAny<T...>> {
 public:
  explicit AnyTupleCore(std::tuple<DurableFuture<T>...> futures)
      : CombinatorCore<WhenAny<T...>>(cores_of(futures), "when_any"),
        futures_(std::move(futures)) {}

 private:
  void evaluate() override {
    auto winner = this->first_settled();
    if (!winner) {
      if (this->all_done()) {
        this->detach();
        this->settle_failure(*this->children_.front());
      }
      return;
    }
    this->abandon_others(*winner);
    this->settle_value(WhenAny<T...>(*winner, futures_));
  }
  std::tuple<DurableFuture<T>...> futures_;
};

// A future settled at once with `value`, in `registry`'s order (when_all of nothing).
template <class R>
std::shared_ptr<FutureCore> settled_core(AwaitRegistry& registry, std::string what, R value) {
  auto core = std::make_shared<ValueCore<R>>(registry, CoreKind::kCombinator, std::move(what));
  core->settle_value(std::move(value));
  return core;
}

}  // namespace detail

// A vector of futures of one type, for when_all / when_any over a list:
//   co_await ctx.when_all(futures(ctx.call(A, 1), ctx.call(A, 2)));
// Inside a coroutine prefer it to a braced std::vector{...}: g++ 12 miscompiles
// initializer lists in coroutines ("array used as initializer").
template <class T, class... Rest>
std::vector<DurableFuture<T>> futures(DurableFuture<T> first, Rest... rest) {
  std::vector<DurableFuture<T>> out;
  out.reserve(1 + sizeof...(rest));
  out.push_back(std::move(first));
  (out.push_back(std::move(rest)), ...);
  return out;
}

// Waits for every future; gives their results in the order given. If any failed, throws
// the failure that happened first (in history order) once all have settled. Over no
// futures use ctx.when_all, which completes at once with an empty vector: this free
// function has no context to order that completion in, and throws ConfigurationError
// (kInvalidArgument).
template <class T>
DurableFuture<std::vector<ValueOf<T>>> when_all(std::vector<DurableFuture<T>> futures);
// Waits for the first future to settle (in history order); the others are abandoned.
// Throws ConfigurationError (kInvalidArgument) for no futures: nothing could ever win.
template <class T>
DurableFuture<AnyOf<T>> when_any(std::vector<DurableFuture<T>> futures);

template <class T>
DurableFuture<std::vector<ValueOf<T>>> when_all(std::vector<DurableFuture<T>> futures) {
  using R = std::vector<ValueOf<T>>;
  if (futures.empty()) {
    throw ConfigurationError(ErrorCode::kInvalidArgument,
                             "duractor::when_all of no futures has no context to complete in; "
                             "call ctx.when_all, which completes at once with an empty vector");
  }
  auto core = std::make_shared<detail::AllVectorCore<T>>(std::move(futures));
  core->start();
  return DurableFuture<R>(core);
}

template <class... T>
DurableFuture<std::tuple<ValueOf<T>...>> when_all(DurableFuture<T>... futures) {
  static_assert(sizeof...(T) > 0, "when_all needs at least one future");
  auto core = std::make_shared<detail::AllTupleCore<T...>>(std::make_tuple(std::move(futures)...));
  core->start();
  return DurableFuture<std::tuple<ValueOf<T>...>>(core);
}

template <class T>
DurableFuture<AnyOf<T>> when_any(std::vector<DurableFuture<T>> futures) {
  if (futures.empty()) {
    throw ConfigurationError(ErrorCode::kInvalidArgument,
                             "when_any of no futures: nothing could ever win (when_any needs at "
                             "least one future)");
  }
  auto core = std::make_shared<detail::AnyVectorCore<T>>(std::move(futures));
  core->start();
  return DurableFuture<AnyOf<T>>(core);
}

template <class... T>
DurableFuture<WhenAny<T...>> when_any(DurableFuture<T>... futures) {
  static_assert(sizeof...(T) > 0, "when_any needs at least one future");
  auto core = std::make_shared<detail::AnyTupleCore<T...>>(std::make_tuple(std::move(futures)...));
  core->start();
  return DurableFuture<WhenAny<T...>>(core);
}

}  // namespace duractor
