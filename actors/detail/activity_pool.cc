#include "duractor/actors/detail/activity_pool.h"

#include "duractor/runtime/exceptions.h"

namespace duractor {

ActivityPool::ActivityPool(const Registry& registry, Store& store, ActivityPoolOptions options,
                           std::shared_ptr<spdlog::logger> logger, Deliver deliver)
    : registry_(registry),
      store_(store),
      options_(options),
      logger_(std::move(logger)),
      deliver_(std::move(deliver)) {
  for (std::size_t i = 0; i < std::max<std::size_t>(options_.threads, 1); ++i) {
    threads_.emplace_back([this] {
      ::pthread_setname_np(::pthread_self(), "duractor-work");
      work();
    });
  }
  watchdog_ = std::thread([this] { watchdog(); });
}

ActivityPool::~ActivityPool() { stop(); }

std::string ActivityPool::key(const InstanceId& instance, ExecutionId execution, EventId id) {
  return instance + '\0' + std::to_string(execution) + '\0' + std::to_string(id);
}

void ActivityPool::submit(WorkItem item, WorkLease lease) {
  std::lock_guard lock(mutex_);
  if (stopping_ || !items_.insert(item.id).second) return;
  auto task = std::make_shared<Task>();
  auto k = key(item.instance, item.execution, item.scheduled_id);
  task->item = std::move(item);
  task->lease = lease;
  tasks_[k] = task;
  queue_.push_back(std::move(task));
  cv_.notify_one();
}

void ActivityPool::cancel(const InstanceId& instance, ExecutionId execution, EventId scheduled_id,
                          const std::string& reason) {
  std::shared_ptr<Task> task;
  {
    std::lock_guard lock(mutex_);
    auto it = tasks_.find(key(instance, execution, scheduled_id));
    if (it == tasks_.end()) return;
    task = it->second;
  }
  task->token.cancel(reason);
}

void ActivityPool::cancel_instance(const InstanceId& instance, const std::string& reason) {
  std::vector<std::shared_ptr<Task>> hit;
  {
    std::lock_guard lock(mutex_);
    auto prefix = instance + '\0';
    for (auto it = tasks_.lower_bound(prefix);
         it != tasks_.end() && it->first.compare(0, prefix.size(), prefix) == 0; ++it) {
      hit.push_back(it->second);
    }
  }
  for (auto& task : hit) task->token.cancel(reason);
}

std::vector<InstanceId> ActivityPool::instances() const {
  std::vector<InstanceId> out;
  std::lock_guard lock(mutex_);
  for (const auto& [k, task] : tasks_) {  // keyed by instance first: in id order
    if (out.empty() || out.back() != task->item.instance) out.push_back(task->item.instance);
  }
  return out;
}

void ActivityPool::stop() {
  std::vector<std::shared_ptr<Task>> running;
  {
    std::lock_guard lock(mutex_);
    if (stopping_ && threads_.empty()) return;
    stopping_ = true;
    for (auto& [k, task] : tasks_) running.push_back(task);
    queue_.clear();
  }
  for (auto& t : running) t->token.cancel("the runtime is shutting down");
  cv_.notify_all();
  watchdog_cv_.notify_all();
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
  if (watchdog_.joinable()) watchdog_.join();
  std::lock_guard lock(mutex_);
  threads_.clear();
}

std::size_t ActivityPool::queued() const {
  std::lock_guard lock(mutex_);
  return queue_.size();
}

std::size_t ActivityPool::running() const {
  std::lock_guard lock(mutex_);
  return running_;
}

void ActivityPool::work() {
  for (;;) {
    std::shared_ptr<Task> task;
    {
      std::unique_lock lock(mutex_);
      cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (stopping_) return;
      task = std::move(queue_.front());
      queue_.pop_front();
      ++running_;
      task->deadline = SystemClock::instance().now() + options_.timeout;
    }
    run(task);
    std::lock_guard lock(mutex_);
    --running_;
    tasks_.erase(key(task->item.instance, task->item.execution, task->item.scheduled_id));
    items_.erase(task->item.id);
  }
}

void ActivityPool::run(const std::shared_ptr<Task>& task) {
  const auto& item = task->item;
  message::ActivityResult result;
  result.execution = item.execution;
  result.scheduled_id = item.scheduled_id;
  ActivityInfo info{item.instance, item.execution, item.scheduled_id, item.activity, item.attempt};
  ContextLogger log(logger_, item.instance + "/" + std::to_string(item.execution) + " " +
                                 item.activity + "#" + std::to_string(item.scheduled_id) +
                                 (item.attempt > 1 ? " attempt " + std::to_string(item.attempt) : ""));
  if (task->token.cancelled()) {
    result.failure = FailureDetails{ErrorCategory::kApplication, "duractor::Cancelled",
                                    task->token.reason()};
    return report(task, std::move(result));
  }
  const ActivityFunction* fn = registry_.activity(item.activity);
  if (fn == nullptr) {
    log.error("activity '{}' is not registered", item.activity);
    result.failure = FailureDetails{ErrorCategory::kConfiguration, "duractor::NotRegistered",
                                    "activity '" + item.activity + "' is not registered"};
    return report(task, std::move(result));
  }
  ActivityContext ctx(info, task->token, log);
  try {
    result.output = (*fn)(ctx, item.input);
    if (result.output.size() > options_.max_payload_bytes) {
      result.output.clear();
      result.failure = FailureDetails{
          ErrorCategory::kConfiguration, "duractor::LimitExceeded",
          "the output of activity '" + item.activity + "' is larger than the payload limit of " +
              std::to_string(options_.max_payload_bytes) + " bytes"};
    }
  } catch (...) {
    result.output.clear();
    result.failure = failure_of(std::current_exception());
    log.debug("failed: {}", result.failure->message);
  }
  report(task, std::move(result));
}

void ActivityPool::report(const std::shared_ptr<Task>& task, message::ActivityResult result) {
  {
    std::lock_guard lock(mutex_);
    if (task->reported || stopping_) return;  // timed out already, or shutting down
    task->reported = true;
  }
  deliver_(ActivityOutcome{task->item, task->lease, std::move(result)});
}

void ActivityPool::watchdog() {
  ::pthread_setname_np(::pthread_self(), "duractor-watch");
  for (;;) {
    std::vector<std::shared_ptr<Task>> late, renew;
    {
      std::unique_lock lock(mutex_);
      watchdog_cv_.wait_for(lock, std::chrono::milliseconds(100), [&] { return stopping_; });
      if (stopping_) return;
      auto now = SystemClock::instance().now();
      const Clock& lease_clock =
          options_.lease_clock != nullptr ? *options_.lease_clock : SystemClock::instance();
      auto lease_now = lease_clock.now();
      for (auto& [k, task] : tasks_) {
        bool started = task->deadline != TimePoint{};
        if (started && !task->reported && now >= task->deadline) late.push_back(task);
        // Renew a running activity's lease when a third of it is left.
        if (started && task->lease.expires_at - options_.lease / 3 <= lease_now) {
          renew.push_back(task);
        }
      }
    }
    for (auto& task : late) {
      task->token.cancel("timed out");
      message::ActivityResult result;
      result.execution = task->item.execution;
      result.scheduled_id = task->item.scheduled_id;
      result.failure = FailureDetails{
          ErrorCategory::kApplication, "duractor::ActivityTimedOut",
          "activity '" + task->item.activity + "' ran longer than " +
              std::to_string(options_.timeout.count()) + " ms and was cancelled"};
      report(task, std::move(result));
    }
    for (auto& task : renew) {
      auto renewed = store_.renew_lease(task->lease, options_.lease);
      std::lock_guard lock(mutex_);
      if (renewed) task->lease = *renewed;
    }
  }
}

}  // namespace duractor
