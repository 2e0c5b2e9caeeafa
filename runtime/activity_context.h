#pragma once
// What an activity function gets besides its input: which instance and attempt it serves,
// a cancellation token, and a logger whose lines name the instance and activity.
//
//   std::string greet(duractor::ActivityContext& ctx, std::string name) {
//     ctx.log().info("greeting {}", name);
//     if (ctx.cancelled()) throw std::runtime_error("gave up");
//     return "Hello, " + name;
//   }
//
// Activities are ordinary C++ functions; they may block. Any exception they throw becomes an
// ActivityFailed at the orchestration's co_await, with the exception's type and message. To
// fail for good — a retry policy must not try again — throw duractor::NonRetryableError
// (runtime/exceptions.h) or a subclass of it.

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "duractor/runtime/ids.h"
#include "duractor/runtime/log.h"

namespace duractor {

// Shared, thread-safe cancellation flag. Copies observe the same state.
class CancellationToken {
 public:
  CancellationToken();
  bool cancelled() const;
  std::string reason() const;
  // Throws duractor::Cancelled if cancellation was requested.
  void throw_if_cancelled() const;
  // Runs `callback` once when cancellation is requested (at once, if it already was), on
  // the thread that requests it. For waking a blocking operation.
  void on_cancel(std::function<void()> callback) const;

  // Requests cancellation; idempotent (the first reason is kept).
  void cancel(const std::string& reason) const;

 private:
  struct State {
    std::atomic<bool> cancelled{false};
    mutable std::mutex mutex;
    std::string reason;
    std::vector<std::function<void()>> callbacks;
  };
  std::shared_ptr<State> state_;
};

struct ActivityInfo {
  InstanceId instance;
  ExecutionId execution = 0;
  EventId scheduled_id = 0;
  std::string name;
  std::uint32_t attempt = 1;  // the retry policy's attempt number, from 1
};

class ActivityContext {
 public:
  ActivityContext(ActivityInfo info, CancellationToken token, ContextLogger logger)
      : info_(std::move(info)), token_(std::move(token)), logger_(std::move(logger)) {}
  explicit ActivityContext(ActivityInfo info)
      : ActivityContext(
            info, CancellationToken(),
            ContextLogger(nullptr, info.instance + "/" + std::to_string(info.execution) + " " +
                                       info.name + "#" + std::to_string(info.scheduled_id))) {}

  const InstanceId& instance_id() const { return info_.instance; }
  ExecutionId execution_id() const { return info_.execution; }
  EventId scheduled_id() const { return info_.scheduled_id; }
  const std::string& name() const { return info_.name; }
  std::uint32_t attempt() const { return info_.attempt; }
  const ActivityInfo& info() const { return info_; }

  const CancellationToken& cancellation() const { return token_; }
  bool cancelled() const { return token_.cancelled(); }
  const ContextLogger& log() const { return logger_; }

 private:
  ActivityInfo info_;
  CancellationToken token_;
  ContextLogger logger_;
};

}  // namespace duractor
