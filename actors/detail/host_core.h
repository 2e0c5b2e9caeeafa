#pragma once
// What the host's actors share: the registry, the store, options, the activity pool, the
// completion hub and the handles of the long-lived actors. Internal to actors/.

#include <algorithm>
#include <atomic>
#include <deque>
#include <memory>
#include <mutex>
#include <shared_mutex>

#include <caf/actor.hpp>
#include <caf/send.hpp>

#include "duractor/actors/client_protocol.h"
#include "duractor/actors/detail/activity_pool.h"
#include "duractor/actors/detail/completion_hub.h"
#include "duractor/actors/detail/suspect_gate.h"
#include "duractor/actors/host.h"
#include "duractor/pubsub/broker.h"
#include "duractor/runtime/log.h"
#include "duractor/runtime/metrics.h"
#include "duractor/store/store.h"

namespace duractor::detail {

struct HostCore {
  HostCore(const Registry& r, HostOptions o, Store& s, const Clock& c)
      : registry(r), options(std::move(o)), store(s), clock(c), metrics(options.metrics.get()) {}

  const Registry& registry;
  HostOptions options;
  Store& store;
  const Clock& clock;
  MetricsSink* const metrics;  // options.metrics; null: none
  std::shared_ptr<spdlog::logger> logger;
  // The store's sequence marks when the host started: inbox messages, work items and timers
  // at or below them were left by a previous process, which may have died processing them
  // (poison detection, instance_actor.cc). Set before the actors start.
  SequenceMarks inherited;
  // Suspect turns and suspect activities pass it one at a time (suspect_gate.h); declared
  // before the pool, which uses it, so that it outlives it.
  SuspectGate suspect_gate;
  CompletionHub hub;
  std::unique_ptr<ActivityPool> pool;
  std::unique_ptr<Broker> broker;
  BrokerActor broker_actor;
  caf::actor directory;
  caf::actor timers;
  ClientActor client_actor;
  caf::actor watcher;
  std::atomic<bool> accepting{true};
  // Clients may outlive the host. Each client call that touches the store or the broker
  // holds this shared and checks `open`; Host::stop takes it exclusively before it closes
  // them, so a call either finishes first or gets kShutdown.
  std::shared_mutex open_mutex;
  bool open = true;

  ContextLogger log(std::string context) const { return ContextLogger(logger, std::move(context)); }
};

// Checks a start request (accepting, registered, payload size) and gives the store request,
// with a generated id if `id` is empty. Shared by Client::start and the client actor.
Result<NewInstance> start_request(const HostCore& core, std::string_view name, InstanceId id,
                                  Bytes input, std::uint32_t version);

}  // namespace duractor::detail
