#include "tests/support/turn_writers.h"

#include <chrono>
#include <thread>
#include <vector>

namespace duractor::testing {

using namespace std::chrono_literals;

std::string turn_writer_id(int writer) {
  return "writer-" + std::to_string(writer);
}

Result<std::unique_ptr<LmdbStore>> open_turn_store(const std::string& path, bool sync) {
  LmdbOptions o;
  o.path = path;
  o.sync = sync;
  o.initial_map_size = 1 << 20;
  return LmdbStore::open(std::move(o));
}

TurnCommit turn_for(const InstanceLock& lock, int writer, std::uint64_t k) {
  TurnCommit t;
  t.lock = lock;
  t.execution = 1;
  EventId first = 2 * k;
  auto fire_at = from_unix_ms(static_cast<std::int64_t>(k));
  t.events = {HistoryEvent{first, TimePoint{}, event::ActivityScheduled{"Step", encode(k), 1}},
              HistoryEvent{first + 1, TimePoint{}, event::TimerCreated{fire_at}}};
  t.work = {NewWorkItem{first, "Step", encode(k), 1}};
  t.timers = {NewTimer{first + 1, fire_at}};
  t.outbound = {OutboundMessage{
      "sink", message::Event{"Tick", encode(std::to_string(writer) + ":" + std::to_string(k))}}};
  t.update.custom_status = std::to_string(k);
  return t;
}

int run_turn_writers(LmdbStore& s, const std::function<void(const std::string&)>& ack) {
  if (!s.read_instance("sink")) {
    NewInstance sink;
    sink.id = "sink";
    sink.name = "Sink";
    if (!s.create_instance(sink)) return 2;
  }
  std::vector<std::thread> threads;
  for (int w = 0; w < kTurnWriters; ++w) {
    threads.emplace_back([&s, &ack, w] {
      auto id = turn_writer_id(w);
      if (!s.read_instance(id)) {
        NewInstance r;
        r.id = id;
        r.name = "Writer";
        if (!s.create_instance(r)) return;
      }
      auto lock = s.lock_instance(id, 1h);
      if (!lock) return;
      auto info = s.read_instance(id);
      if (info->execution == 0) {
        auto inbox = s.read_inbox(id);
        TurnCommit first;
        first.lock = *lock;
        first.execution = 1;
        first.events = {
            HistoryEvent{1, TimePoint{}, event::ExecutionStarted{"Writer", 1, {}, {}, {}}}};
        first.consumed = {inbox->front().seq};
        first.update.status = InstanceStatus::kRunning;
        if (!s.commit_turn(first)) return;
      }
      auto history = s.read_history(id, 1);
      std::uint64_t k = (history->size() - 1) / 2 + 1;
      for (;; ++k) {
        auto r = s.commit_turn(turn_for(*lock, w, k));
        if (!r) {
          ack("error " + r.error().to_string());
          return;
        }
        ack(std::to_string(w) + " " + std::to_string(k));
      }
    });
  }
  for (auto& t : threads) t.join();
  return 3;
}

}  // namespace duractor::testing
