#pragma once
// The state behind every DurableFuture: a FutureCore, settled once (with a payload, a typed
// value or an error) and stamped with its place in the execution's settle order, and the
// waiters it wakes. Internal: the replay engine's operation cores (operation_cores.h) and
// the combinators (runtime/combinators.h) derive from it. Single-threaded, like the engine.

#include <algorithm>
#include <cstdint>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "duractor/runtime/payload.h"

namespace duractor::detail {

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
// coroutine awaits currently suspended (for cooperative cancellation): one per chain of
// coroutines, the orchestration's and each spawned helper's (ctx.spawn).
struct AwaitRegistry {
  std::uint64_t settled = 0;
  std::uint64_t tracked = 0;  // awaits ever suspended: each entry's number, in order
  std::vector<std::pair<std::uint64_t, SuspendedAwait*>> suspended;
  // While a spawned helper is being stopped: why, for the operations it gives up.
  std::string stopping;

  void track(SuspendedAwait* a) { suspended.emplace_back(++tracked, a); }
  void untrack(SuspendedAwait* a) {
    std::erase_if(suspended, [a](const auto& entry) { return entry.second == a; });
  }
  // Interrupts every await suspended now, in the order they suspended. An await that
  // suspends meanwhile (code handling the cancellation) is not interrupted; one that an
  // earlier interruption ended (its helper's frame was destroyed) is skipped.
  void interrupt_all(const std::string& reason) {
    const auto last = tracked;
    for (;;) {
      auto it = std::find_if(suspended.begin(), suspended.end(),
                             [last](const auto& entry) { return entry.first <= last; });
      if (it == suspended.end()) return;
      SuspendedAwait* await = it->second;
      suspended.erase(it);
      await->interrupt(reason);
    }
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

}  // namespace duractor::detail
