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
#include "duractor/actors/host.h"
#include "duractor/pubsub/broker.h"
#include "duractor/runtime/log.h"
#include "duractor/store/store.h"

namespace duractor::detail {

// Suspect turns — counted by a previous process that then died before they committed — run
// one at a time, so that when one kills the process no other instance's turn was counted
// with it (instance_actor.cc). An actor enters before it counts such a turn and leaves when
// the turn committed, failed, or the actor ends; an actor that has to wait is sent `go`
// when it may enter. Thread-safe.
class RecoveryGate {
 public:
  // True if `who` holds the gate now (it did, or it was free); false: queued.
  template <class Go>
  bool enter(const caf::actor& who, Go go) {
    std::lock_guard lock(mutex_);
    if (!holder_ || holder_ == who) {
      holder_ = who;
      return true;
    }
    if (std::find(waiting_.begin(), waiting_.end(), who) == waiting_.end()) {
      waiting_.push_back(who);
      go_ = std::move(go);
    }
    return false;
  }
  // `who` leaves: the gate passes to the next waiting actor; a waiting `who` is forgotten.
  void leave(const caf::actor& who) {
    std::lock_guard lock(mutex_);
    waiting_.erase(std::remove(waiting_.begin(), waiting_.end(), who), waiting_.end());
    if (holder_ != who) return;
    holder_ = caf::actor();
    if (waiting_.empty()) return;
    holder_ = waiting_.front();
    waiting_.pop_front();
    if (go_) go_(holder_);
  }

 private:
  std::mutex mutex_;
  caf::actor holder_;
  std::deque<caf::actor> waiting_;
  std::function<void(const caf::actor&)> go_;  // tells an actor it holds the gate
};

struct HostCore {
  HostCore(const Registry& r, HostOptions o, Store& s, const Clock& c)
      : registry(r), options(std::move(o)), store(s), clock(c) {}

  const Registry& registry;
  HostOptions options;
  Store& store;
  const Clock& clock;
  std::shared_ptr<spdlog::logger> logger;
  // The store's sequence marks when the host started: inbox messages, work items and timers
  // at or below them were left by a previous process, which may have died processing them
  // (poison detection, instance_actor.cc). Set before the actors start.
  SequenceMarks inherited;
  RecoveryGate recovery_gate;
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
