// store.group_commit: durable commits per second of duractor's LMDB store, one blocking
// writer, and N concurrent writers sharing commits (group commit); raw LMDB syncing every
// commit is the baseline measured in the same run. See bench/README.md for the shapes.

#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <future>
#include <mutex>
#include <stdexcept>
#include <thread>

#include "bench/bench.h"
#include "bench/raw_lmdb.h"
#include "duractor/store/lmdb_store.h"

namespace duractor::bench {
namespace {

using namespace std::chrono_literals;

std::unique_ptr<LmdbStore> open_store(const std::string& path) {
  LmdbOptions o;
  o.path = path;
  o.sync = true;
  o.initial_map_size = std::uint64_t{1} << 30;
  auto s = LmdbStore::open(o);
  if (!s) throw std::runtime_error(s.error().to_string());
  return std::move(*s);
}

// A writer commits the writes of orchestration instances, one at a time, each write as
// soon as the previous one is durable (as an instance actor does). With `turns_per_instance`
// set it runs short instances: create, start turn, then turns that each record an activity
// result (deleting its work item) and schedule the next activity; then the next instance.
// With 0 it keeps one instance forever (its history grows for the whole run).
class Writer {
 public:
  Writer(Store& store, std::string name, int turns_per_instance)
      : store_(store), name_(std::move(name)), turns_per_instance_(turns_per_instance) {}

  // Submits the next write; `done` runs on the store's thread once it is durable.
  void next(std::function<void(bool ok)> done) {
    if (turn_ == 0) {
      NewInstance r;
      r.id = name_ + "-" + std::to_string(++instances_);
      r.name = "Bench";
      r.input = payload_;
      store_.create_instance_async(r, [this, done, id = r.id](Result<CreateOutcome> c) {
        if (c) {
          current_ = id;
          turn_ = 1;
        }
        done(c.has_value());
      });
      return;
    }
    TurnCommit t;
    if (turn_ == 1) {
      auto lock = store_.lock_instance(current_, 24h);
      auto inbox = store_.read_inbox(current_);
      if (!lock || !inbox || inbox->empty()) return done(false);
      lock_ = *lock;
      t.events = {
          HistoryEvent{1, TimePoint{}, event::ExecutionStarted{"Bench", 1, payload_, {}, {}}}};
      t.consumed = {inbox->front().seq};
      t.update.status = InstanceStatus::kRunning;
      next_event_ = 2;
    } else {
      t.events = {HistoryEvent{next_event_, TimePoint{},
                               event::ActivityCompleted{next_event_ - 1, payload_}},
                  HistoryEvent{next_event_ + 1, TimePoint{},
                               event::ActivityScheduled{"Step", payload_, 1}}};
      t.work = {NewWorkItem{next_event_ + 1, "Step", payload_, 1}};
      if (previous_work_ != 0) t.finished_work = {previous_work_};
      next_event_ += 2;
    }
    t.lock = lock_;
    t.execution = 1;
    bool last = turns_per_instance_ != 0 && turn_ == turns_per_instance_;
    if (last) {
      t.events.push_back(
          HistoryEvent{next_event_, TimePoint{}, event::ExecutionCompleted{payload_}});
      t.update.status = InstanceStatus::kCompleted;
      t.update.output = payload_;
    }
    store_.commit_turn_async(std::move(t), [this, done, last](Result<TurnCommitted> r) {
      if (r) {
        previous_work_ = r->work.empty() ? 0 : r->work.front().id;
        if (last) {
          store_.unlock_instance(lock_);
          turn_ = 0;
          previous_work_ = 0;
        } else {
          ++turn_;
        }
      }
      done(r.has_value());
    });
  }

 private:
  Store& store_;
  std::string name_;
  int turns_per_instance_;
  int turn_ = 0;  // 0: create next; 1: start turn; 2..: activity turns
  std::uint64_t instances_ = 0;
  InstanceId current_;
  InstanceLock lock_;
  EventId next_event_ = 2;
  std::uint64_t previous_work_ = 0;
  Bytes payload_ = Bytes(std::string(100, 'p'));
};

// Commits per second of one writer waiting for each commit before the next.
double single_commits(Store& s, int turns_per_instance, double seconds) {
  Writer w(s, "single", turns_per_instance);
  std::uint64_t commits = 0;
  auto start = std::chrono::steady_clock::now();
  while (seconds_since(start) < seconds) {
    std::promise<bool> ok;
    w.next([&ok](bool r) { ok.set_value(r); });
    if (!ok.get_future().get()) throw std::runtime_error("a commit failed");
    ++commits;
  }
  return static_cast<double>(commits) / seconds_since(start);
}

// Commits per second of `n` writers running at once. Like instance actors, the writers
// prepare their next write on a thread of their own, not on the store's writer thread.
double concurrent_commits(Store& s, int n, int turns_per_instance, double seconds) {
  std::vector<std::unique_ptr<Writer>> writers;
  for (int i = 0; i < n; ++i) {
    writers.push_back(std::make_unique<Writer>(s, "w" + std::to_string(i), turns_per_instance));
  }
  std::atomic<bool> stop{false}, failed{false};
  std::atomic<std::uint64_t> commits{0};
  std::mutex mutex;
  std::condition_variable cv;
  std::deque<Writer*> ready;
  int active = n;
  auto on_done = [&](Writer* w, bool ok) {
    if (!ok) failed = true;
    ++commits;
    std::lock_guard lock(mutex);
    if (!stop && !failed) {
      ready.push_back(w);
    } else {
      --active;
    }
    cv.notify_all();
  };
  for (auto& w : writers) ready.push_back(w.get());
  auto start = std::chrono::steady_clock::now();
  std::thread driver([&] {
    std::unique_lock lock(mutex);
    for (;;) {
      cv.wait(lock, [&] { return !ready.empty() || active == 0; });
      if (ready.empty()) return;
      Writer* w = ready.front();
      ready.pop_front();
      lock.unlock();
      w->next([&on_done, w](bool ok) { on_done(w, ok); });
      lock.lock();
    }
  });
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  auto counted = commits.load();
  double elapsed = seconds_since(start);
  {
    std::lock_guard lock(mutex);
    stop = true;
    active -= static_cast<int>(ready.size());
    ready.clear();
    cv.notify_all();
  }
  driver.join();
  if (failed) throw std::runtime_error("a commit failed");
  return static_cast<double>(counted) / elapsed;
}

void group_commit(const Options& o, Report& report) {
  const std::string w = "store.group_commit";
  const int kShortInstance = 8;  // turns per instance: a chain of 7 activities
  double seconds = o.quick ? std::min(o.seconds, 1.0) : o.seconds;
  double raw = 0;
  {
    ScratchDir dir(o, "raw");
    raw = raw_lmdb_commits_per_second(dir.path(), 4, 150, seconds);
  }
  report.add({w, "raw LMDB, sync per commit", raw, "commits/s", std::nullopt, ""});
  double single = 0;
  {
    ScratchDir dir(o, "single");
    auto s = open_store(dir.path());
    single = single_commits(*s, kShortInstance, seconds);
  }
  report.add({w, "single commits", single, "commits/s", raw, "raw LMDB"});
  for (int n : {1, 8, 64, 512}) {
    ScratchDir dir(o, "group");
    auto s = open_store(dir.path());
    double rate = concurrent_commits(*s, n, kShortInstance, seconds);
    report.add({w, "group commit, " + std::to_string(n) + " writers", rate, "commits/s", single,
                "single commits"});
  }
  // The worst case for a B-tree: every writer appends to its own ever-growing history, so
  // each commit of a batch touches a different leaf.
  double long_single = 0;
  {
    ScratchDir dir(o, "long-single");
    auto s = open_store(dir.path());
    long_single = single_commits(*s, 0, seconds);
  }
  report.add({w, "single commits, long histories", long_single, "commits/s", raw, "raw LMDB"});
  for (int n : {64, 512}) {
    ScratchDir dir(o, "long");
    auto s = open_store(dir.path());
    double rate = concurrent_commits(*s, n, 0, seconds);
    report.add({w, "group commit, " + std::to_string(n) + " writers, long histories", rate,
                "commits/s", long_single, "single, long histories"});
  }
}

const Register kGroupCommit{"store.group_commit",
                            "durable commits/s: single, and 1/8/64/512 concurrent writers",
                            group_commit};

}  // namespace
}  // namespace duractor::bench
