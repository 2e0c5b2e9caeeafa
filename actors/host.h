#pragma once
// Host: the duractor runtime in a process. It opens the store, and runs the actors that
// bring orchestrations to life: a directory of instance actors (one per active instance,
// each keeping its orchestration's coroutine alive between turns), activity workers, and
// the timer service. It runs in an actor system of its own, or inside one the caller
// already has (embedding).
//
//   duractor::Registry registry;                 // activities and orchestrations
//   auto host = duractor::Host::start(registry, {.lmdb = {.path = "my-store"}});
//   auto client = (*host)->client();
//   auto id = client.start(Hello, "hello-1", std::string("ada"));
//   auto out = Hello.wait(client, "hello-1", 30s);
//
// On start the host resumes whatever was in flight when the process last stopped (or
// crashed): instances with messages are woken, unfinished activities run again, timers
// fire. Stopping is graceful: new requests are refused, turns in flight commit, running
// activities are told to cancel and waited for; what did not finish runs again on the next
// start. Thread-safe; the registry must outlive the host.
//
// The store is any Store (store/store.h): the LMDB store the host opens from
// HostOptions::lmdb by default, or one the caller opened and hands over.

#include <chrono>
#include <cstdint>
#include <memory>

#include "duractor/actors/client_protocol.h"
#include "duractor/pubsub/broker_protocol.h"
#include "duractor/runtime/limits.h"
#include "duractor/runtime/registry.h"
#include "duractor/store/lmdb_store.h"

namespace caf {
class actor_system;
}  // namespace caf

namespace duractor {

class Broker;
class Client;
class MetricsSink;
namespace detail {
struct HostCore;
}

struct HostOptions {
  // The default store: where the LMDB store is and how to open it (lmdb.path is required
  // unless start() is given a Store). Its clock defaults to `clock` below.
  LmdbOptions lmdb;
  // Threads of the CAF scheduler, when the host makes its own actor system (0: CAF's
  // default, one per core).
  std::size_t scheduler_threads = 0;
  std::size_t activity_workers = 8;                             // activities that may run at once
  Milliseconds activity_timeout{5 * 60 * 1000};                 // per attempt; then cancelled
  Milliseconds work_lease{10 * 60 * 1000};                      // renewed while an activity runs
  Milliseconds passivate_after{60'000};                         // idle instance actors leave memory
  std::size_t max_live_instances = 10'000;                      // cap on instance actors in memory
  std::uint64_t max_history_events = kDefaultMaxHistoryEvents;  // per execution
  // Executions kept of an instance that continues as new: each time one starts, those
  // before the last `keep_executions` (the new one included) are pruned after the commit
  // (Store::prune_executions; a failure is logged, the instance runs on). 0: keep all.
  std::uint32_t keep_executions = 0;
  std::size_t max_payload_bytes = kDefaultMaxPayloadBytes;             // inputs, outputs, events
  std::size_t max_custom_status_bytes = kDefaultMaxCustomStatusBytes;  // ctx.set_custom_status
  std::uint32_t max_turn_attempts = 5;  // then it fails (not for a full store)
  // Poison: work that kills the process. Deliveries are counted durably before the work
  // runs, so that a process that dies running it still counts. An activity delivered more
  // often than this fails with type duractor::ActivityPoisoned instead of running again; a
  // turn delivered more often (a crashing orchestration body, a payload that crashes a
  // decoder) fails the instance with type duractor::TurnPoisoned. See docs/operations.md.
  std::uint32_t max_activity_deliveries = 5;
  std::uint32_t max_turn_deliveries = 5;
  // Suspects — an activity or turn that a previous process was running when it died — run
  // one at a time, so that a poison item's deaths are not counted against other work. A
  // suspect activity still running after this long lets the next suspect in.
  Milliseconds suspect_solo{10'000};
  Milliseconds turn_retry_backoff{100};  // doubled per failed attempt
  Milliseconds timer_horizon{60'000};    // timers kept in memory ahead
  // How often the host looks whether other processes (the duractor CLI) wrote to the store:
  // events, cancellations, deletions, imports. Costs nothing while nobody else writes.
  Milliseconds watch_interval{100};
  // Crash tests: lmdb.fault_injector is also called by the host at "turn.committed", for
  // the instance, after a turn committed and before what it decided (activities, timers,
  // messages) is dispatched; an error it returns there is ignored.
  const Clock* clock = nullptr;            // time for timers, leases and history; default: system
  std::shared_ptr<spdlog::logger> logger;  // default: spdlog's default logger
  // Where the runtime reports turns, replays, activities, activations and store commits
  // (runtime/metrics.h): a RuntimeMetrics, which http::serve then serves on /metrics, or a
  // sink of the caller's. Null: nothing is recorded. The host gives it to the LMDB store it
  // opens (LmdbOptions::metrics, unless set); a store handed to start() reports its commits
  // only if it was opened with one.
  std::shared_ptr<MetricsSink> metrics;
};

class Host {
 public:
  // Opens the LMDB store at options.lmdb and starts the runtime in an actor system of its
  // own. Errors: those of LmdbStore::open (naming the path and cause), kInvalidArgument for
  // bad options.
  static Result<std::unique_ptr<Host>> start(const Registry& registry, HostOptions options);
  // The same on a store the caller opened (any Store implementation); the host owns it from
  // now on and closes it on stop(). options.lmdb is not used. The store's clock should be
  // options.clock (the store's leases and the runtime's timers must agree on the time).
  static Result<std::unique_ptr<Host>> start(const Registry& registry, std::unique_ptr<Store> store,
                                             HostOptions options);
  // Both, inside the caller's actor system, which must outlive the host.
  static Result<std::unique_ptr<Host>> start(caf::actor_system& system, const Registry& registry,
                                             HostOptions options);
  static Result<std::unique_ptr<Host>> start(caf::actor_system& system, const Registry& registry,
                                             std::unique_ptr<Store> store, HostOptions options);

  // Stops the runtime (see stop()).
  ~Host();
  Host(const Host&) = delete;
  Host& operator=(const Host&) = delete;

  // A client for this host, usable from any thread.
  Client client() const;
  // The actor that serves the client protocol (actors/client_protocol.h) to other actors.
  ClientActor client_actor() const;
  // The broker: events, topics, cancellation, lifecycle notifications (pubsub/broker.h).
  Broker& broker() const;
  // The broker's actor (pubsub/broker_protocol.h).
  BrokerActor broker_actor() const;

  Store& store() const;
  const HostOptions& options() const;

  // Checks timers now rather than at the next scheduled check: call after moving a
  // ManualClock forward in tests.
  void poke_timers() const;
  // Instance actors in memory (for tests and monitoring).
  std::size_t live_instances() const;
  // Activities queued and running.
  std::size_t queued_activities() const;

  // Graceful stop: refuse new requests, let turns in flight commit, cancel and wait for
  // running activities, stop the actors and close the store. Idempotent.
  void stop();

  struct Impl;

 private:
  explicit Host(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace duractor
