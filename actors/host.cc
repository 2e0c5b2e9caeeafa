#include "duractor/actors/host.h"

#include <mutex>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>

#include "duractor/actors/client.h"
#include "duractor/actors/detail/actor_messages.h"
#include "duractor/actors/detail/actors.h"
#include "duractor/pubsub/broker.h"

namespace duractor {

struct Host::Impl {
  // Set when the host made its own actor system; the system keeps a reference to its
  // config, so the config lives as long.
  std::unique_ptr<caf::actor_system_config> own_config;
  std::unique_ptr<caf::actor_system> own_system;
  caf::actor_system* system = nullptr;
  std::shared_ptr<MetricsSink> metrics;  // outlives the store, which may report to it
  std::unique_ptr<Store> store;
  std::shared_ptr<detail::HostCore> core;
  bool stopped = false;

  void recover() {
    auto& core_ref = *core;
    auto log = core_ref.log("host");
    // Instances with messages waiting: wake them (the directory paces activation).
    auto woken = detail::wake_waiting(core_ref);
    // Unfinished activities: run them again.
    std::size_t resubmitted = 0;
    for (;;) {
      auto work = store->take_work(10'000, core_ref.options.work_lease);
      if (!work || work->empty()) break;
      for (auto& w : *work) core_ref.pool->submit(std::move(w.item), w.lease, Delivery::kAgain);
      resubmitted += work->size();
    }
    if (woken + resubmitted > 0) {
      log.info("resuming: {} instances with messages, {} unfinished activities", woken,
               resubmitted);
    }
  }
};

namespace {

Status validate(const HostOptions& o) {
  if (o.max_live_instances == 0) {
    return fail(ErrorCode::kInvalidArgument, "HostOptions::max_live_instances must be at least 1");
  }
  if (o.activity_workers == 0) {
    return fail(ErrorCode::kInvalidArgument, "HostOptions::activity_workers must be at least 1");
  }
  if (o.watch_interval <= Milliseconds(0)) {
    return fail(ErrorCode::kInvalidArgument, "HostOptions::watch_interval must be positive");
  }
  if (o.max_activity_deliveries == 0 || o.max_turn_deliveries == 0) {
    return fail(ErrorCode::kInvalidArgument,
                "HostOptions::max_activity_deliveries and max_turn_deliveries must be at least 1");
  }
  if (o.suspect_solo < Milliseconds(0)) {
    return fail(ErrorCode::kInvalidArgument, "HostOptions::suspect_solo must not be negative");
  }
  if (o.activity_timeout >= o.work_lease) {
    return fail(ErrorCode::kInvalidArgument,
                "HostOptions::activity_timeout must be shorter than work_lease");
  }
  return {};
}

// The default store: LMDB at options.lmdb, on the host's clock unless it names its own.
Result<std::unique_ptr<Store>> open_default_store(const HostOptions& options) {
  if (auto valid = validate(options); !valid) return fail(valid.error());
  if (options.lmdb.path.empty()) {
    return fail(ErrorCode::kInvalidArgument,
                "HostOptions::lmdb.path is empty (and no Store was given to Host::start)");
  }
  LmdbOptions lmdb = options.lmdb;
  if (lmdb.clock == nullptr) lmdb.clock = options.clock;
  if (lmdb.metrics == nullptr) lmdb.metrics = options.metrics.get();
  auto store = LmdbStore::open(lmdb);
  if (!store) return fail(store.error());
  return std::unique_ptr<Store>(std::move(*store));
}

Result<std::unique_ptr<Host::Impl>> start_impl(caf::actor_system& system,
                                               std::unique_ptr<caf::actor_system_config> own_config,
                                               std::unique_ptr<caf::actor_system> own,
                                               const Registry& registry,
                                               std::unique_ptr<Store> given, HostOptions options) {
  // The sink outlives the store on every return (the store may report to it as it closes).
  auto metrics = options.metrics;
  std::unique_ptr<Store> store = std::move(given);
  if (!store) return fail(ErrorCode::kInvalidArgument, "Host::start was given a null Store");
  if (auto valid = validate(options); !valid) return fail(valid.error());
  const Clock& clock = options.clock != nullptr ? *options.clock : SystemClock::instance();

  auto impl = std::make_unique<Host::Impl>();
  impl->own_config = std::move(own_config);
  impl->own_system = std::move(own);
  impl->system = &system;
  impl->metrics = options.metrics;
  impl->store = std::move(store);
  // What the previous process left: messages, work and timers at or below these marks.
  auto marks = impl->store->sequence_marks();
  if (!marks) return fail(marks.error());
  auto core = std::make_shared<detail::HostCore>(registry, options, *impl->store, clock);
  core->logger = options.logger ? options.logger : spdlog::default_logger();
  core->inherited = *marks;
  auto* raw = core.get();
  ActivityPoolOptions pool;
  pool.threads = options.activity_workers;
  pool.timeout = options.activity_timeout;
  pool.max_payload_bytes = options.max_payload_bytes;
  pool.lease = options.work_lease;
  pool.lease_clock = &clock;
  pool.max_deliveries = options.max_activity_deliveries;
  pool.suspect_gate = &core->suspect_gate;  // one suspect at a time, activity or turn
  pool.suspect_solo = options.suspect_solo;
  pool.metrics = options.metrics.get();
  core->pool = std::make_unique<ActivityPool>(
      registry, *impl->store, pool, core->logger, [raw](ActivityOutcome outcome) {
        if (outcome.in_inbox) {  // already in the instance's durable inbox
          caf::anon_send(raw->directory, wake_atom::value, outcome.item.instance);
          return;
        }
        MemoryMessage m{std::move(outcome.result), outcome.lease, std::nullopt};
        caf::anon_send(raw->directory, deliver_atom::value, outcome.item.instance, std::move(m));
      });
  BrokerOptions broker_options;
  broker_options.max_payload_bytes = options.max_payload_bytes;
  core->broker = std::make_unique<Broker>(
      *impl->store,
      [raw](const InstanceId& id) { caf::anon_send(raw->directory, wake_atom::value, id); }, system,
      core->logger, broker_options);
  core->broker_actor = spawn_broker_actor(system, *core->broker);
  core->directory = detail::spawn_directory(system, core);
  core->timers = detail::spawn_timer_service(system, core);
  core->client_actor = detail::spawn_client_actor(system, core);
  core->watcher = detail::spawn_store_watcher(system, core);
  impl->core = std::move(core);
  impl->recover();
  return impl;
}

}  // namespace

Result<std::unique_ptr<Host>> Host::start(const Registry& registry, HostOptions options) {
  auto store = open_default_store(options);
  if (!store) return fail(store.error());
  return start(registry, std::move(*store), std::move(options));
}

Result<std::unique_ptr<Host>> Host::start(const Registry& registry, std::unique_ptr<Store> store,
                                          HostOptions options) {
  auto config = std::make_unique<caf::actor_system_config>();
  if (options.scheduler_threads > 0) {
    config->set("scheduler.max-threads", options.scheduler_threads);
  }
  auto system = std::make_unique<caf::actor_system>(*config);
  auto& ref = *system;
  auto impl = start_impl(ref, std::move(config), std::move(system), registry, std::move(store),
                         std::move(options));
  if (!impl) return fail(impl.error());
  return std::unique_ptr<Host>(new Host(std::move(*impl)));
}

Result<std::unique_ptr<Host>> Host::start(caf::actor_system& system, const Registry& registry,
                                          HostOptions options) {
  auto store = open_default_store(options);
  if (!store) return fail(store.error());
  return start(system, registry, std::move(*store), std::move(options));
}

Result<std::unique_ptr<Host>> Host::start(caf::actor_system& system, const Registry& registry,
                                          std::unique_ptr<Store> store, HostOptions options) {
  auto impl = start_impl(system, nullptr, nullptr, registry, std::move(store), std::move(options));
  if (!impl) return fail(impl.error());
  return std::unique_ptr<Host>(new Host(std::move(*impl)));
}

Host::Host(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Host::~Host() {
  stop();
}

Client Host::client() const {
  return Client(impl_->core);
}
ClientActor Host::client_actor() const {
  return impl_->core->client_actor;
}
Broker& Host::broker() const {
  return *impl_->core->broker;
}
BrokerActor Host::broker_actor() const {
  return impl_->core->broker_actor;
}
Store& Host::store() const {
  return *impl_->store;
}
const HostOptions& Host::options() const {
  return impl_->core->options;
}

void Host::poke_timers() const {
  caf::anon_send(impl_->core->timers, tick_atom::value);
}

std::size_t Host::live_instances() const {
  caf::scoped_actor self{*impl_->system};
  std::size_t live = 0;
  self->request(impl_->core->directory, std::chrono::seconds(10), status_atom::value)
      .receive([&](std::uint64_t n) { live = n; }, [](caf::error&) {});
  return live;
}

std::size_t Host::queued_activities() const {
  return impl_->core->pool->queued() + impl_->core->pool->running();
}

void Host::stop() {
  if (!impl_ || impl_->stopped) return;
  impl_->stopped = true;
  auto& core = *impl_->core;
  core.accepting = false;
  core.broker->stop_accepting();
  caf::anon_send_exit(core.watcher, caf::exit_reason::user_shutdown);
  {
    // Turns in flight commit; then every instance actor stops.
    caf::scoped_actor self{*impl_->system};
    self->request(core.directory, caf::infinite, stop_atom::value)
        .receive([](stopped_atom) {}, [](caf::error&) {});
  }
  core.pool->stop();
  caf::anon_send_exit(core.timers, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(core.client_actor, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(core.broker_actor, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(core.directory, caf::exit_reason::user_shutdown);
  if (impl_->own_system) {
    impl_->own_system->await_all_actors_done();
  }
  core.directory = caf::actor();
  core.watcher = caf::actor();
  core.timers = caf::actor();
  core.client_actor = ClientActor();
  core.broker_actor = BrokerActor();
  std::unique_lock closing(core.open_mutex);  // client calls in progress finish first
  core.open = false;
  core.broker.reset();  // ends lifecycle subscriptions, before the actor system goes
  impl_->own_system.reset();
  impl_->own_config.reset();
  impl_->store.reset();
}

}  // namespace duractor
