#pragma once
// The core behind ctx.spawn: a helper coroutine (a Task) run as a durable future. The
// helper starts at once and runs until its first co_await, as every durable future's
// operation is started when the future is made; it resumes only when the futures it awaits
// settle, which happens only as the replay engine applies history events, so it finishes
// (and the core settles) at the same point of history on every replay. Nothing of its own
// is recorded: what the helper does is recorded as the orchestration's operations.
//
// Giving it up (it lost a when_any, or its last future went unawaited) destroys the
// helper's frames, which gives up whatever they were waiting on, as dropping those futures
// would. Internal; single-threaded, like the engine.

#include <coroutine>
#include <exception>
#include <optional>
#include <string>
#include <utility>

#include "duractor/runtime/detail/future_core.h"
#include "duractor/runtime/handles.h"
#include "duractor/runtime/task.h"

namespace duractor::detail {

// What a finished helper hands its outcome to.
class SpawnTarget {
 public:
  virtual void helper_finished() = 0;

 protected:
  ~SpawnTarget() = default;
};

// The coroutine that awaits the helper and keeps its outcome for the core. It suspends at
// its end and settles the core from there: the core's waiters may then destroy the core,
// and with it this frame, which is allowed only while the frame is suspended.
struct SpawnDriver {
  struct promise_type {
    SpawnTarget* target = nullptr;

    SpawnDriver get_return_object() noexcept {
      return SpawnDriver{std::coroutine_handle<promise_type>::from_promise(*this)};
    }
    std::suspend_always initial_suspend() noexcept { return {}; }
    struct Finished {
      bool await_ready() noexcept { return false; }
      void await_suspend(std::coroutine_handle<promise_type> h) noexcept {
        h.promise().target->helper_finished();  // may destroy this frame: nothing after
      }
      void await_resume() noexcept {}
    };
    Finished final_suspend() noexcept { return {}; }
    void return_void() noexcept {}
    void unhandled_exception() noexcept { std::terminate(); }  // the driver catches all
  };
  std::coroutine_handle<promise_type> handle;
};

template <class T>
class SpawnCore final : public ValueCore<ValueOf<T>>, public SpawnTarget {
 public:
  SpawnCore(AwaitRegistry& registry, std::string what)
      : ValueCore<ValueOf<T>>(registry, CoreKind::kCombinator, std::move(what)) {}
  ~SpawnCore() override { stop(); }

  // Runs `task` until its first suspension (or its end). The core must be owned by a
  // shared_ptr already: settling keeps it alive through its waiters.
  void start(Task<T> task) {
    driver_ = drive(std::move(task), *this).handle;
    driver_.promise().target = this;
    driver_.resume();
  }

  void abandon() override { stop_because(this->what() + " lost a when_any"); }

 private:
  static SpawnDriver drive(Task<T> task, SpawnCore& core) {
    try {
      if constexpr (std::is_void_v<T>) {
        co_await std::move(task);
        core.result_.emplace(Unit{});
      } else {
        core.result_.emplace(co_await std::move(task));
      }
    } catch (...) {
      core.error_ = std::current_exception();
    }
  }
  void helper_finished() override {
    if (error_) {
      this->settle_error(std::move(error_));
    } else {
      this->settle_value(std::move(*result_));
    }
  }
  // Nobody holds a future of it any more: nothing can await the helper, which stops.
  void released() override {
    stop_because("the future of " + this->what() + " was destroyed before it was awaited");
  }
  // Gives the helper up: its frames are destroyed, and the operations they wait on are
  // given up with `reason`.
  void stop_because(std::string reason) {
    if (this->settled() || this->abandoned()) return;
    FutureCore::abandon();
    auto& stopping = this->registry().stopping;
    auto outer = std::exchange(stopping, std::move(reason));
    stop();
    stopping = std::move(outer);
  }
  void stop() {
    if (driver_) std::exchange(driver_, {}).destroy();
  }

  std::coroutine_handle<SpawnDriver::promise_type> driver_;
  std::optional<ValueOf<T>> result_;
  std::exception_ptr error_;
};

}  // namespace duractor::detail
