#include "duractor/pubsub/lifecycle.h"

#include <algorithm>

#include <caf/actor_system.hpp>
#include <caf/scoped_actor.hpp>

#include "duractor/pubsub/broker_protocol.h"

namespace duractor {

std::string_view to_string(LifecycleKind kind) {
  switch (kind) {
    case LifecycleKind::kStarted:
      return "started";
    case LifecycleKind::kCompleted:
      return "completed";
    case LifecycleKind::kFailed:
      return "failed";
    case LifecycleKind::kCancelled:
      return "cancelled";
    case LifecycleKind::kCustomStatus:
      return "custom status";
    case LifecycleKind::kTerminated:
      return "terminated";
    case LifecycleKind::kPaused:
      return "paused";
    case LifecycleKind::kResumed:
      return "resumed";
    case LifecycleKind::kRewound:
      return "rewound";
    case LifecycleKind::kForked:
      return "forked";
    case LifecycleKind::kPublished:
      return "published";
  }
  return "unknown";
}

bool LifecycleFilter::matches(const LifecycleEvent& e) const {
  if (kinds.empty() ? e.kind == LifecycleKind::kPublished
                    : std::find(kinds.begin(), kinds.end(), e.kind) == kinds.end()) {
    return false;
  }
  if (orchestration && *orchestration != e.orchestration) return false;
  if (instance && *instance != e.instance) return false;
  return true;
}

LifecycleSubscription::LifecycleSubscription(LifecycleHub* hub, std::uint64_t id,
                                             LifecycleFilter filter, LifecycleOptions options,
                                             std::function<void(const LifecycleEvent&)> deliver)
    : hub_(hub),
      id_(id),
      filter_(std::move(filter)),
      options_(options),
      deliver_(std::move(deliver)) {}

LifecycleSubscription::~LifecycleSubscription() {
  unsubscribe();
}

void LifecycleSubscription::unsubscribe() {
  if (hub_ != nullptr) {
    hub_->unsubscribe(id_);
    hub_ = nullptr;
  }
  stop();
}

void LifecycleSubscription::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (!thread_.joinable()) return;
  if (thread_.get_id() == std::this_thread::get_id()) {
    thread_.detach();  // ended from its own callback: the thread returns by itself
  } else {
    thread_.join();
  }
}

void LifecycleSubscription::offer(const LifecycleEvent& event, ContextLogger& log) {
  if (!filter_.matches(event)) return;
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return;
    if (queue_.size() >= std::max<std::size_t>(options_.buffer, 1)) {
      ++dropped_;
      if (!dropping_) {
        dropping_ = true;
        log.warn("lifecycle subscriber {} is {} notifications behind; dropping newer ones", id_,
                 queue_.size());
      }
      return;
    }
    dropping_ = false;
    queue_.push_back(event);
  }
  cv_.notify_one();
}

void LifecycleSubscription::run() {
  for (;;) {
    LifecycleEvent event;
    {
      std::unique_lock lock(mutex_);
      cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (stopping_) return;
      event = std::move(queue_.front());
      queue_.pop_front();
    }
    try {
      deliver_(event);
    } catch (...) {
      // A subscriber's exception must not end its delivery thread.
    }
    ++delivered_;
  }
}

LifecycleHub::LifecycleHub(caf::actor_system& system, std::shared_ptr<spdlog::logger> logger)
    : system_(system), log_(std::move(logger), "lifecycle") {}

LifecycleHub::~LifecycleHub() {
  std::vector<std::shared_ptr<LifecycleSubscription>> live;
  {
    std::unique_lock lock(mutex_);
    for (auto& [id, weak] : subscriptions_) {
      if (auto s = weak.lock()) live.push_back(std::move(s));
    }
    subscriptions_.clear();
  }
  for (auto& s : live) {
    s->hub_ = nullptr;
    s->stop();
  }
}

std::shared_ptr<LifecycleSubscription> LifecycleHub::add(
    LifecycleFilter filter, LifecycleOptions options,
    std::function<void(const LifecycleEvent&)> deliver) {
  std::unique_lock lock(mutex_);
  auto id = next_++;
  std::shared_ptr<LifecycleSubscription> s(
      new LifecycleSubscription(this, id, std::move(filter), options, std::move(deliver)));
  s->thread_ = std::thread([raw = s.get()] {
    ::pthread_setname_np(::pthread_self(), "duractor-notify");
    raw->run();
  });
  subscriptions_[id] = s;
  return s;
}

std::shared_ptr<LifecycleSubscription> LifecycleHub::subscribe(
    LifecycleFilter filter, std::function<void(const LifecycleEvent&)> callback,
    LifecycleOptions options) {
  return add(std::move(filter), options, std::move(callback));
}

std::shared_ptr<LifecycleSubscription> LifecycleHub::subscribe(LifecycleFilter filter,
                                                               caf::actor actor,
                                                               LifecycleOptions options) {
  auto* system = &system_;
  return add(std::move(filter), options, [system, actor](const LifecycleEvent& event) {
    // One at a time: the next notification goes out when the actor has handled this one
    // (or is gone).
    caf::scoped_actor self{*system};
    self->request(actor, std::chrono::seconds(30), lifecycle_atom::value, event)
        .receive([] {}, [](caf::error&) {});
  });
}

void LifecycleHub::unsubscribe(std::uint64_t id) {
  std::shared_ptr<LifecycleSubscription> s;
  {
    std::unique_lock lock(mutex_);
    auto it = subscriptions_.find(id);
    if (it == subscriptions_.end()) return;
    s = it->second.lock();
    subscriptions_.erase(it);
  }
  if (s) {
    s->hub_ = nullptr;
    s->stop();
  }
}

void LifecycleHub::publish(const LifecycleEvent& event) {
  // Offer outside the lock: releasing the last reference to a subscription runs its
  // destructor, which takes the lock to unsubscribe.
  std::vector<std::shared_ptr<LifecycleSubscription>> live;
  {
    std::shared_lock lock(mutex_);
    live.reserve(subscriptions_.size());
    for (auto& [id, weak] : subscriptions_) {
      if (auto s = weak.lock()) live.push_back(std::move(s));
    }
  }
  for (auto& s : live) s->offer(event, log_);
}

std::size_t LifecycleHub::subscriptions() const {
  std::shared_lock lock(mutex_);
  return subscriptions_.size();
}

}  // namespace duractor
