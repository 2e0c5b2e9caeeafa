#include "duractor/actors/detail/activity_pool.h"

#include "duractor/runtime/exceptions.h"

namespace duractor {

ActivityPool::ActivityPool(const Registry& registry, Store& store, ActivityPoolOptions options,
                           std::shared_ptr<spdlog::logger> logger, Deliver deliver)
    : registry_(registry),
      store_(store),
      options_(options),
      logger_(std::move(logger)),
      deliver_(std::move(deliver)),
      gate_(options_.suspect_gate != nullptr ? *options_.suspect_gate : own_gate_) {
  for (std::size_t i = 0; i < std::max<std::size_t>(options_.threads, 1); ++i) {
    threads_.emplace_back([this] {
      ::pthread_setname_np(::pthread_self(), "duractor-work");
      work();
    });
  }
  watchdog_ = std::thread([this] { watchdog(); });
}

ActivityPool::~ActivityPool() {
  stop();
}

std::string ActivityPool::key(const InstanceId& instance, ExecutionId execution, EventId id) {
  return instance + '\0' + std::to_string(execution) + '\0' + std::to_string(id);
}

void ActivityPool::submit(WorkItem item, WorkLease lease, Delivery delivery) {
  std::lock_guard lock(mutex_);
  if (stopping_ || !items_.insert(item.id).second) return;
  auto task = std::make_shared<Task>();
  auto k = key(item.instance, item.execution, item.scheduled_id);
  task->delivery = delivery;
  if (delivery == Delivery::kCounted) {
    task->counted = true;
    task->uncounted = item.deliveries > 0 ? item.deliveries - 1 : 0;
  }
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
  give_back(running);
  std::lock_guard lock(mutex_);
  threads_.clear();
}

void ActivityPool::give_back(const std::vector<std::shared_ptr<Task>>& tasks) {
  // The runs this stop interrupted (or never started) did not crash the process: their
  // deliveries must not count towards poison. One batch of writes, waited for together.
  std::vector<std::shared_ptr<Task>> owed;
  {
    std::lock_guard lock(mutex_);
    for (const auto& t : tasks) {
      if (t->counted && !t->reported) owed.push_back(t);
    }
  }
  if (owed.empty()) return;
  std::mutex done_mutex;
  std::condition_variable done_cv;
  std::size_t left = owed.size();
  for (const auto& t : owed) {
    store_.record_delivery_async(t->lease, t->uncounted, [&](Status) {
      std::lock_guard lock(done_mutex);
      if (--left == 0) done_cv.notify_all();
    });
  }
  std::unique_lock lock(done_mutex);
  done_cv.wait(lock, [&] { return left == 0; });
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
  ContextLogger log(
      logger_, item.instance + "/" + std::to_string(item.execution) + " " + item.activity + "#" +
                   std::to_string(item.scheduled_id) +
                   (item.attempt > 1 ? " attempt " + std::to_string(item.attempt) : ""));
  // A suspect — an item whose last delivery after a restart never returned — runs alone,
  // with no other suspect activity or turn (suspect_gate.h), so that if it kills the
  // process again, no other suspect's delivery is counted with it.
  struct LeaveGate {
    ActivityPool* pool;
    const std::shared_ptr<Task>& task;
    ~LeaveGate() { pool->leave_gate(task); }
  } leave_gate_at_exit{this, task};
  if (task->delivery == Delivery::kAgain && item.deliveries >= 2) {
    bool held = gate_.enter_and_wait(task.get(), [&] {
      std::lock_guard lock(mutex_);
      return stopping_;
    });
    if (!held) return;  // stopping: the item stays for the next start, its count untouched
    std::lock_guard lock(mutex_);
    task->gate_held = true;
    task->gate_since = TimePoint::max();  // suspect_solo counts from the run, set below
  }
  if (task->token.cancelled()) {
    result.failure = FailureDetails{.category = ErrorCategory::kApplication,
                                    .type = std::string(kCancelledType),
                                    .message = task->token.reason(),
                                    .kind = FailureKind::kCancelled};
    return report(task, std::move(result));
  }
  if (!count_delivery(task)) return;
  const ActivityFunction* fn = registry_.activity(item.activity);
  if (fn == nullptr) {
    log.error("activity '{}' is not registered", item.activity);
    result.failure = FailureDetails{.category = ErrorCategory::kConfiguration,
                                    .type = "duractor::NotRegistered",
                                    .message = "activity '" + item.activity + "' is not registered",
                                    .kind = FailureKind::kUnregistered};
    return report(task, std::move(result));
  }
  ActivityContext ctx(info, task->token, log);
  {
    std::lock_guard lock(mutex_);
    if (task->gate_held) task->gate_since = SystemClock::instance().now();
  }
  auto* metrics = options_.metrics;
  std::chrono::steady_clock::time_point began;
  if (metrics != nullptr) {
    const Clock& clock =
        options_.lease_clock != nullptr ? *options_.lease_clock : SystemClock::instance();
    metrics->activity_started(item.activity, item.attempt, clock.now() - item.created_at);
    began = std::chrono::steady_clock::now();
  }
  struct Ran {  // also when the function throws
    MetricsSink* metrics;
    const std::string& name;
    std::chrono::steady_clock::time_point began;
    ~Ran() {
      if (metrics != nullptr) metrics->activity_ran(name, std::chrono::steady_clock::now() - began);
    }
  };
  try {
    Ran ran{metrics, item.activity, began};
    result.output = (*fn)(ctx, item.input);
    if (result.output.size() > options_.max_payload_bytes) {
      result.output = Bytes();
      result.failure =
          FailureDetails{.category = ErrorCategory::kConfiguration,
                         .type = "duractor::LimitExceeded",
                         .message = "the output of activity '" + item.activity +
                                    "' is larger than the payload limit of " +
                                    std::to_string(options_.max_payload_bytes) + " bytes",
                         .kind = FailureKind::kLimitExceeded};
    }
  } catch (...) {
    result.output = Bytes();
    result.failure = failure_of(std::current_exception());
    // The activity's own exception: duractor's (Cancelled, a payload that does not decode)
    // keep their kind.
    if (result.failure->kind == FailureKind::kApplication) {
      result.failure->kind = FailureKind::kActivityFailed;
    }
    log.debug("failed ({}): {}", to_string(result.failure->kind), result.failure->message);
  }
  if (task->delivery == Delivery::kAgain) {
    // It returned: this delivery did not kill the process, so it is given back. (Only for
    // deliveries after a restart, which paid a write to count; a result lost with the
    // process before its turn commits must not count towards poison again and again.)
    (void)store_.record_delivery(task->lease, task->uncounted);
  }
  report(task, std::move(result));
}

bool ActivityPool::count_delivery(const std::shared_ptr<Task>& task) {
  if (task->delivery == Delivery::kCounted) return true;
  const auto& item = task->item;
  std::uint32_t delivery = item.deliveries + 1;
  ContextLogger log(logger_, item.instance + "/" + std::to_string(item.execution) + " " +
                                 item.activity + "#" + std::to_string(item.scheduled_id));
  if (delivery > options_.max_deliveries) {
    // Poison: every earlier delivery ended without a result, the process gone with it. The
    // failure goes to the durable inbox, so that a turn that dies on it is counted too.
    message::ActivityResult result;
    result.execution = item.execution;
    result.scheduled_id = item.scheduled_id;
    result.failure = FailureDetails{
        .category = ErrorCategory::kApplication,
        .type = "duractor::ActivityPoisoned",
        .message = "activity '" + item.activity + "' was delivered " +
                   std::to_string(item.deliveries) +
                   " times and never finished (the process running it died); it is not run "
                   "again (HostOptions::max_activity_deliveries = " +
                   std::to_string(options_.max_deliveries) + ")",
        .retryable = false,
        .kind = FailureKind::kPoison};
    log.error("{}", result.failure->message);
    auto completed = store_.complete_work(task->lease, result);
    if (completed) {
      report(task, std::move(result), true);
    } else if (completed.error().code != ErrorCode::kConflict) {
      log.error("could not record the poison failure, will try again: {}",
                completed.error().to_string());
      store_.abandon_work(task->lease);
    }
    return false;
  }
  auto recorded = store_.record_delivery(task->lease, delivery);
  if (!recorded) {
    if (recorded.error().code != ErrorCode::kConflict) {  // a conflict: another owner has it
      log.warn("could not count the delivery, not running it now: {}",
               recorded.error().to_string());
      store_.abandon_work(task->lease);
    }
    return false;
  }
  std::lock_guard lock(mutex_);
  task->counted = true;
  task->uncounted = item.deliveries;
  task->item.deliveries = delivery;
  return true;
}

void ActivityPool::leave_gate(const std::shared_ptr<Task>& task) {
  {
    std::lock_guard lock(mutex_);
    if (!task->gate_held) return;
    task->gate_held = false;
  }
  gate_.leave(task.get());
}

void ActivityPool::report(const std::shared_ptr<Task>& task, message::ActivityResult result,
                          bool in_inbox) {
  {
    std::lock_guard lock(mutex_);
    if (task->reported || stopping_) return;  // timed out already, or shutting down
    task->reported = true;
  }
  if (options_.metrics != nullptr) {
    std::optional<FailureKind> failure;
    if (result.failure) failure = result.failure->kind;
    options_.metrics->activity_ended(task->item.activity, failure);
  }
  deliver_(ActivityOutcome{task->item, task->lease, std::move(result), in_inbox});
}

void ActivityPool::watchdog() {
  ::pthread_setname_np(::pthread_self(), "duractor-watch");
  for (;;) {
    std::vector<std::shared_ptr<Task>> late, renew, solo_over;
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
        if (task->gate_held && task->gate_since != TimePoint::max() &&
            now - task->gate_since >= options_.suspect_solo) {
          solo_over.push_back(task);
        }
        // Renew a running activity's lease when a third of it is left.
        if (started && task->lease.expires_at - options_.lease / 3 <= lease_now) {
          renew.push_back(task);
        }
      }
    }
    for (auto& task : solo_over) leave_gate(task);
    for (auto& task : late) {
      task->token.cancel("timed out");
      message::ActivityResult result;
      result.execution = task->item.execution;
      result.scheduled_id = task->item.scheduled_id;
      result.failure = FailureDetails{
          .category = ErrorCategory::kApplication,
          .type = "duractor::ActivityTimedOut",
          .message = "activity '" + task->item.activity + "' ran longer than " +
                     std::to_string(options_.timeout.count()) + " ms and was cancelled",
          .kind = FailureKind::kTimedOut};
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
