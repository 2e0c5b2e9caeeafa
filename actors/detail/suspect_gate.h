#pragma once
// The gate suspects pass one at a time. A suspect is work that a previous process was
// running when it died: an activity whose last delivery after a restart never returned
// (activity_pool.cc), or a turn counted by a process that then died before it committed
// (instance_actor.cc). Poison detection counts deliveries, and a death counts against
// everything in flight at that moment; so that a poison item does not use up the counts of
// other work with it, a suspect activity and a suspect turn never run at the same time,
// nor two of either. Work that is not suspect runs as usual. Plain C++, thread-safe.

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <utility>

namespace duractor::detail {

class SuspectGate {
 public:
  using Key = const void*;  // who enters: an instance actor, an activity's task

  // True if `who` holds the gate now (it did, or it was free). Otherwise `who` is queued,
  // and `go` is called when the gate passes to it (on the thread of the leave() that
  // passes it on, with the gate's lock held: `go` must only send or notify).
  bool enter(Key who, std::function<void()> go) {
    std::lock_guard lock(mutex_);
    if (holder_ == nullptr || holder_ == who) {
      holder_ = who;
      return true;
    }
    auto queued = std::find_if(waiting_.begin(), waiting_.end(),
                               [&](const Waiter& w) { return w.who == who; });
    if (queued == waiting_.end()) waiting_.push_back(Waiter{who, std::move(go)});
    return false;
  }

  // Blocks until `who` holds the gate (true), or until `give_up()` turns true (false, and
  // `who` no longer waits). `give_up` is asked every `poll`.
  bool enter_and_wait(Key who, const std::function<bool()>& give_up,
                      std::chrono::milliseconds poll = std::chrono::milliseconds(100)) {
    struct Signal {
      std::mutex mutex;
      std::condition_variable cv;
      bool held = false;
    };
    auto signal = std::make_shared<Signal>();
    if (enter(who, [signal] {
          std::lock_guard lock(signal->mutex);
          signal->held = true;
          signal->cv.notify_all();
        })) {
      return true;
    }
    std::unique_lock lock(signal->mutex);
    while (!signal->held) {
      if (give_up()) {
        lock.unlock();
        leave(who);  // withdraws; passes the gate on if it reached `who` meanwhile
        return false;
      }
      signal->cv.wait_for(lock, poll);
    }
    return true;
  }

  // `who` leaves: if it holds the gate, the gate passes to the next in line; if it waits,
  // it no longer does.
  void leave(Key who) {
    std::lock_guard lock(mutex_);
    waiting_.erase(std::remove_if(waiting_.begin(), waiting_.end(),
                                  [&](const Waiter& w) { return w.who == who; }),
                   waiting_.end());
    if (holder_ != who) return;
    holder_ = nullptr;
    if (waiting_.empty()) return;
    auto next = std::move(waiting_.front());
    waiting_.pop_front();
    holder_ = next.who;
    if (next.go) next.go();
  }

 private:
  struct Waiter {
    Key who;
    std::function<void()> go;
  };
  std::mutex mutex_;
  Key holder_ = nullptr;
  std::deque<Waiter> waiting_;
};

}  // namespace duractor::detail
