#pragma once
// Task<T>: the coroutine type of orchestrations and of the helper coroutines they call.
//
//   duractor::Task<int> total(duractor::OrchestrationContext& ctx) {
//     int a = co_await ctx.call(Count, std::string("a"));
//     co_return a + co_await helper(ctx);       // helpers are Tasks too
//   }
//
// A Task is lazy: it starts when awaited (or, for an orchestration, when the replay engine
// starts it) and resumes its awaiter when it finishes, by symmetric transfer, so chains of
// helpers cost no stack. An exception that escapes a Task is rethrown at its co_await.
// Tasks are single-threaded: the replay engine runs all of an instance's coroutines on one
// thread at a time.

#include <coroutine>
#include <exception>
#include <optional>
#include <type_traits>
#include <utility>

namespace duractor {

template <class T = void>
class Task;

namespace detail {

struct TaskPromiseBase {
  std::coroutine_handle<> continuation = std::noop_coroutine();
  std::exception_ptr error;

  struct FinalAwaiter {
    bool await_ready() noexcept { return false; }
    template <class Promise>
    std::coroutine_handle<> await_suspend(std::coroutine_handle<Promise> h) noexcept {
      return h.promise().continuation;
    }
    void await_resume() noexcept {}
  };

  std::suspend_always initial_suspend() noexcept { return {}; }
  FinalAwaiter final_suspend() noexcept { return {}; }
  void unhandled_exception() noexcept { error = std::current_exception(); }
};

template <class T>
struct TaskPromise : TaskPromiseBase {
  std::optional<T> value;
  Task<T> get_return_object() noexcept;
  template <class U>
  void return_value(U&& v) {
    value.emplace(std::forward<U>(v));
  }
};

template <>
struct TaskPromise<void> : TaskPromiseBase {
  Task<void> get_return_object() noexcept;
  void return_void() noexcept {}
};

}  // namespace detail

template <class T>
class [[nodiscard]] Task {
 public:
  using promise_type = detail::TaskPromise<T>;
  using Handle = std::coroutine_handle<promise_type>;

  Task() = default;
  Task(Task&& other) noexcept : handle_(std::exchange(other.handle_, {})) {}
  Task& operator=(Task&& other) noexcept {
    if (this != &other) {
      if (handle_) handle_.destroy();
      handle_ = std::exchange(other.handle_, {});
    }
    return *this;
  }
  Task(const Task&) = delete;
  Task& operator=(const Task&) = delete;
  ~Task() {
    if (handle_) handle_.destroy();
  }

  struct Awaiter {
    Handle handle;
    bool await_ready() const noexcept { return !handle || handle.done(); }
    std::coroutine_handle<> await_suspend(std::coroutine_handle<> awaiting) noexcept {
      handle.promise().continuation = awaiting;
      return handle;
    }
    T await_resume() {
      auto& p = handle.promise();
      if (p.error) std::rethrow_exception(p.error);
      if constexpr (!std::is_void_v<T>) return std::move(*p.value);
    }
  };

  // Starts the task; the awaiting coroutine resumes with its result when it finishes.
  Awaiter operator co_await() && noexcept { return Awaiter{handle_}; }
  Awaiter operator co_await() & noexcept { return Awaiter{handle_}; }

  // For the replay engine, which starts top-level tasks itself.
  Handle handle() const noexcept { return handle_; }
  bool done() const noexcept { return !handle_ || handle_.done(); }

 private:
  friend struct detail::TaskPromise<T>;
  explicit Task(Handle h) noexcept : handle_(h) {}
  Handle handle_;
};

namespace detail {

template <class T>
Task<T> TaskPromise<T>::get_return_object() noexcept {
  return Task<T>(std::coroutine_handle<TaskPromise<T>>::from_promise(*this));
}

inline Task<void> TaskPromise<void>::get_return_object() noexcept {
  return Task<void>(std::coroutine_handle<TaskPromise<void>>::from_promise(*this));
}

}  // namespace detail

}  // namespace duractor
