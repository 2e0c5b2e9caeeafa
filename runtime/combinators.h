#pragma once
// The combinators over durable futures: when_all (every future, results in the order
// given) and when_any (the first to settle; the others are abandoned), and the result
// types of when_any. They resolve in history order, never in wall-clock order, since the
// futures they combine settle only as the replay engine applies history events. Inside an
// orchestration call them through the context (ctx.when_all / ctx.when_any), which also
// handles when_all over no futures. Combinators nest: when_any(when_all(...), timer).

#include <algorithm>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "duractor/runtime/detail/future_core.h"
#include "duractor/runtime/exceptions.h"
#include "duractor/runtime/future.h"

namespace duractor {

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
  // when_all: once every child is done, settles with the failure that came first (in
  // history order), else with what `values` computes from the children's results.
  template <class F>
  void settle_all(F&& values) {
    if (!all_done()) return;
    detach();
    if (const auto* failed = first_failure()) return settle_failure(*failed);
    settle_with(std::forward<F>(values));
  }
  // when_any: the child that settled first wins, the others are abandoned, and the value is
  // `result(winner)`. Fails if every child was abandoned: nothing can win then.
  template <class F>
  void settle_first(F&& result) {
    auto winner = first_settled();
    if (!winner) {
      if (all_done()) {
        detach();
        settle_failure(*children_.front());
      }
      return;
    }
    abandon_others(*winner);
    this->settle_value(result(*winner));
  }
  void settle_failure(const FutureCore& failed) {
    if (failed.error()) {
      this->settle_error(failed.error());
    } else {
      this->settle_error(
          std::make_exception_ptr(Cancelled(failed.what() + " was given up: it lost a when_any")));
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
    this->settle_all([&] {
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
    this->settle_all([&] {
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
    this->settle_first([&](std::size_t winner) { return AnyOf<T>(winner, futures_[winner]); });
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
    this->settle_first([&](std::size_t winner) { return WhenAny<T...>(winner, futures_); });
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
