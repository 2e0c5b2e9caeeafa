#pragma once
// ActivityPool: runs activity functions on threads of their own, off the actor scheduler
// (activities are ordinary C++ functions and may block). Each activity gets an
// ActivityContext with a cancellation token and a logger naming the instance. Whatever the
// activity throws becomes a failure result. A watchdog cancels activities that exceed the
// timeout (reporting ActivityTimedOut at once; a late result is dropped) and renews the
// leases of long-running ones.
//
// Poison: an item handed out again (after a restart, or a lapsed lease) has its delivery
// counted durably (Store::record_delivery) before it runs, and given back when the run
// returns; one delivered more than max_deliveries times is not run but fails with type
// duractor::ActivityPoisoned, written to its instance's inbox. So the count is of runs the
// process did not survive. Suspects (an earlier such delivery never returned) run one at a
// time, so that a poison item does not take other items' counts up with it. A graceful
// stop gives back the deliveries of the runs it interrupted, so that deploys do not count
// as crashes.
//
// Thread-safety: all methods may be called from any thread.

#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "duractor/actors/detail/suspect_gate.h"
#include "duractor/runtime/limits.h"
#include "duractor/runtime/metrics.h"
#include "duractor/runtime/registry.h"
#include "duractor/store/store.h"

namespace duractor {

struct ActivityPoolOptions {
  std::size_t threads = 8;              // activities that may run at once
  Milliseconds timeout{5 * 60 * 1000};  // an attempt running longer is cancelled
  std::size_t max_payload_bytes = kDefaultMaxPayloadBytes;  // a larger output becomes a failure
  Milliseconds lease{10 * 60 * 1000};  // work item leases, renewed while running
  const Clock* lease_clock = nullptr;  // the store's clock (leases); default: system
  std::uint32_t max_deliveries = 5;    // past it an item fails as poison, unrun
  // Suspect items pass this gate one at a time, with suspect turns when the host shares its
  // gate (null: the pool's own). A suspect still running after `suspect_solo` leaves it, so
  // that a long activity does not hold up every other suspect: it has outlived the moment
  // a process-killing item usually strikes.
  detail::SuspectGate* suspect_gate = nullptr;
  Milliseconds suspect_solo{10 * 1000};
  MetricsSink* metrics = nullptr;  // told of runs and outcomes; not owned
};

// Whether an item's delivery to the pool is already counted in the store.
enum class Delivery : std::uint8_t {
  kCounted,  // a turn just created it: its commit counted this delivery (deliveries = 1)
  kAgain,    // taken again (take_work): the pool counts it durably before running it
};

// What a finished (or abandoned) activity reports.
struct ActivityOutcome {
  WorkItem item;
  WorkLease lease;
  message::ActivityResult result;
  // The result is already in the instance's durable inbox (a poison failure): only wake
  // the instance.
  bool in_inbox = false;
};

class ActivityPool {
 public:
  using Deliver = std::function<void(ActivityOutcome)>;

  ActivityPool(const Registry& registry, Store& store, ActivityPoolOptions options,
               std::shared_ptr<spdlog::logger> logger, Deliver deliver);
  // Stops (see stop()).
  ~ActivityPool();
  ActivityPool(const ActivityPool&) = delete;
  ActivityPool& operator=(const ActivityPool&) = delete;

  // Queues a leased work item. An item already queued or running is ignored.
  void submit(WorkItem item, WorkLease lease, Delivery delivery);
  // Cancels the activity for (instance, execution, scheduled id): a queued one is dropped
  // (reported as cancelled), a running one sees its token.
  void cancel(const InstanceId& instance, ExecutionId execution, EventId scheduled_id,
              const std::string& reason);
  // Cancels every queued and running activity of `instance` (it was deleted).
  void cancel_instance(const InstanceId& instance, const std::string& reason);
  // The instances that have activities queued or running, each once, in id order.
  std::vector<InstanceId> instances() const;
  // Stops taking work, cancels the tokens of running activities, and waits for them to
  // return. Queued items are left (their leases lapse; the next start runs them). Results
  // that arrive after stop() began are not delivered. The deliveries counted for items that
  // did not finish are given back (Store::record_delivery). Idempotent.
  void stop();

  std::size_t queued() const;
  std::size_t running() const;

 private:
  struct Task {
    WorkItem item;
    WorkLease lease;
    CancellationToken token;
    TimePoint deadline;
    bool reported = false;  // a timeout or cancellation was already delivered
    Delivery delivery = Delivery::kCounted;
    // Set once this delivery is counted in the store; `uncounted` is the count before it,
    // given back if the pool stops the run.
    bool counted = false;
    std::uint32_t uncounted = 0;
    // A suspect holds the gate while it runs, for at most suspect_solo from `gate_since`.
    bool gate_held = false;
    TimePoint gate_since;
  };
  static std::string key(const InstanceId& instance, ExecutionId execution, EventId id);
  void work();
  void watchdog();
  void run(const std::shared_ptr<Task>& task);
  // Counts the delivery of a task taken again; false if it must not run (poison, or the
  // count could not be written).
  bool count_delivery(const std::shared_ptr<Task>& task);
  void report(const std::shared_ptr<Task>& task, message::ActivityResult result,
              bool in_inbox = false);
  void give_back(const std::vector<std::shared_ptr<Task>>& tasks);
  // Leaves the suspect gate if `task` holds it.
  void leave_gate(const std::shared_ptr<Task>& task);

  const Registry& registry_;
  Store& store_;
  ActivityPoolOptions options_;
  std::shared_ptr<spdlog::logger> logger_;
  Deliver deliver_;

  mutable std::mutex mutex_;
  std::condition_variable cv_;           // workers: a task was queued, or stop
  std::condition_variable watchdog_cv_;  // the watchdog: stop (its own, so that it never
                                         // swallows a wake-up meant for a worker)
  std::deque<std::shared_ptr<Task>> queue_;
  std::map<std::string, std::shared_ptr<Task>> tasks_;  // queued and running, by key
  std::set<std::uint64_t> items_;                       // work ids queued or running
  std::size_t running_ = 0;
  detail::SuspectGate own_gate_;  // when options_.suspect_gate is null
  detail::SuspectGate& gate_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
  std::thread watchdog_;
};

}  // namespace duractor
