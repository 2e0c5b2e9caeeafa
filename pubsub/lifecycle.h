#pragma once
// Lifecycle notifications: user code and user actors subscribe to what happens to instances
// — started, completed (with output), failed, cancelled, terminated, paused, resumed, custom
// status changed, published on a topic from its code — filtered by
// orchestration name or instance id. The runtime publishes each notification after the
// commit that made it true.
//
// A slow subscriber never blocks the runtime: each subscription has a bounded buffer
// (LifecycleOptions::buffer) drained by a thread of its own; when it is full, newer
// notifications for that subscriber are dropped and counted (dropped()), and a warning is
// logged once per run of drops. Delivery to one subscriber is in publish order. Actors get
// each notification as a request, (lifecycle_atom, LifecycleEvent), and the next one only
// after their handler returned (or 30 seconds passed): backpressure up to the buffer, then
// drops.
//
// Not for exactly-once processing: a subscriber that must not miss a completion waits on it
// (Client::wait) or reads the store. Thread-safe.

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <thread>
#include <vector>

#include <caf/actor.hpp>
#include <caf/fwd.hpp>

#include "duractor/runtime/instance.h"
#include "duractor/runtime/log.h"

namespace duractor {

enum class LifecycleKind : std::uint8_t {
  kStarted,
  kCompleted,
  kFailed,
  kCancelled,
  kCustomStatus,
  kTerminated,  // ended by a terminate (Client::cancel with terminate)
  kPaused,      // Client::pause took effect (LifecycleEvent::reason says why)
  kResumed,     // Client::resume took effect
  kRewound,     // Client::rewind made a failed instance run again (each instance it rewound)
  kForked,      // Client::fork made the instance (LifecycleEvent::forked_from says from what)
  kPublished,   // its code published (ctx.publish): LifecycleEvent::topic and ::payload, once
                // per publication, after the turn that made it committed
};

std::string_view to_string(LifecycleKind kind);

struct LifecycleEvent {
  LifecycleKind kind = LifecycleKind::kStarted;
  InstanceId instance;
  std::string orchestration;
  ExecutionId execution = 0;
  Bytes output;                           // kCompleted
  std::optional<FailureDetails> failure;  // kFailed, kCancelled, kTerminated
  std::string custom_status;              // kCustomStatus
  std::string reason;                     // kPaused: the reason given to Client::pause
  std::optional<ForkOrigin> forked_from;  // kForked
  std::string topic;                      // kPublished
  Bytes payload;                          // kPublished
  EventId event = 0;                      // kPublished: its TopicPublished event in history
  // When the commit happened; for kPublished, when the turn that published ran (the
  // TopicPublished event's time, the same however often the turn replays).
  TimePoint at;
};

// Which notifications a subscription gets. Empty fields match everything, except that
// empty `kinds` leaves out kPublished: publications carry payloads and can be many, so a
// subscriber gets them only by asking for that kind.
struct LifecycleFilter {
  std::vector<LifecycleKind> kinds;
  std::optional<std::string> orchestration;
  std::optional<InstanceId> instance;
  bool matches(const LifecycleEvent& event) const;
};

struct LifecycleOptions {
  std::size_t buffer = 10'000;  // notifications held for a subscriber that is behind
};

class LifecycleHub;

// A subscription; it ends when unsubscribed or when this handle is destroyed.
class LifecycleSubscription {
 public:
  std::uint64_t id() const { return id_; }
  // Notifications dropped because the subscriber was behind by a full buffer.
  std::uint64_t dropped() const { return dropped_; }
  std::uint64_t delivered() const { return delivered_; }
  void unsubscribe();
  ~LifecycleSubscription();
  LifecycleSubscription(const LifecycleSubscription&) = delete;
  LifecycleSubscription& operator=(const LifecycleSubscription&) = delete;

 private:
  friend class LifecycleHub;
  LifecycleSubscription(LifecycleHub* hub, std::uint64_t id, LifecycleFilter filter,
                        LifecycleOptions options,
                        std::function<void(const LifecycleEvent&)> deliver);
  void offer(const LifecycleEvent& event, ContextLogger& log);
  void run();
  void stop();

  LifecycleHub* hub_;
  std::uint64_t id_;
  LifecycleFilter filter_;
  LifecycleOptions options_;
  std::function<void(const LifecycleEvent&)> deliver_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<LifecycleEvent> queue_;
  bool stopping_ = false;
  bool dropping_ = false;
  std::atomic<std::uint64_t> dropped_{0};
  std::atomic<std::uint64_t> delivered_{0};
  std::thread thread_;
};

class LifecycleHub {
 public:
  // `system` delivers to actor subscribers; `logger` reports drops.
  LifecycleHub(caf::actor_system& system, std::shared_ptr<spdlog::logger> logger);
  ~LifecycleHub();
  LifecycleHub(const LifecycleHub&) = delete;
  LifecycleHub& operator=(const LifecycleHub&) = delete;

  // Calls `callback` for each matching notification, in order, on the subscription's own
  // thread (it may block: only this subscriber waits).
  std::shared_ptr<LifecycleSubscription> subscribe(
      LifecycleFilter filter, std::function<void(const LifecycleEvent&)> callback,
      LifecycleOptions options = {});
  // Sends each matching notification to `actor` (see above).
  std::shared_ptr<LifecycleSubscription> subscribe(LifecycleFilter filter, caf::actor actor,
                                                   LifecycleOptions options = {});
  // Ends subscription `id` (no effect if it already ended).
  void unsubscribe(std::uint64_t id);

  // Offers `event` to every matching subscription. Never blocks on a subscriber.
  void publish(const LifecycleEvent& event);

  std::size_t subscriptions() const;

 private:
  std::shared_ptr<LifecycleSubscription> add(LifecycleFilter filter, LifecycleOptions options,
                                             std::function<void(const LifecycleEvent&)> deliver);

  caf::actor_system& system_;
  ContextLogger log_;
  mutable std::shared_mutex mutex_;
  std::uint64_t next_ = 1;
  std::map<std::uint64_t, std::weak_ptr<LifecycleSubscription>> subscriptions_;
};

}  // namespace duractor
