// Crash safety of the LMDB store: a child process commits turns in a loop from several
// threads and reports each acknowledged commit; it is killed with SIGKILL at random moments.
// After every kill the store must open, hold every acknowledged commit, and show no partial
// turn: each turn writes events, a work item, a timer, an inbox message to another instance
// and metadata, and either all of them are there or none.

#include <doctest/doctest.h>

#include <chrono>
#include <map>
#include <random>
#include <sstream>
#include <thread>

#include "duractor/store/lmdb_store.h"
#include "tests/support/child_process.h"
#include "tests/support/temp_dir.h"

namespace duractor {
namespace {

using namespace std::chrono_literals;
using testing::ChildProcess;
using testing::LinePipe;
using testing::TempDir;

constexpr int kWriters = 4;

std::string writer_id(int w) { return "writer-" + std::to_string(w); }

Result<std::unique_ptr<LmdbStore>> open_durable(const std::string& path) {
  LmdbOptions o;
  o.path = path;
  o.sync = true;
  o.initial_map_size = 1 << 20;  // grows during the test: growth must be crash-safe too
  return LmdbStore::open(std::move(o));
}

// Turn k of a writer (k >= 1) appends events 2k and 2k+1.
TurnCommit turn_for(const InstanceLock& lock, int writer, std::uint64_t k) {
  TurnCommit t;
  t.lock = lock;
  t.execution = 1;
  EventId first = 2 * k;
  t.events = {HistoryEvent{first, TimePoint{}, event::ActivityScheduled{"Step", encode(k), 1}},
              HistoryEvent{first + 1, TimePoint{}, event::TimerCreated{from_unix_ms(static_cast<std::int64_t>(k))}}};
  t.work = {NewWorkItem{first, "Step", encode(k), 1}};
  t.timers = {NewTimer{first + 1, from_unix_ms(static_cast<std::int64_t>(k))}};
  t.outbound = {OutboundMessage{"sink", message::Event{"Tick", encode(std::to_string(writer) + ":" + std::to_string(k))}}};
  t.update.custom_status = std::to_string(k);
  return t;
}

// The child: (re)opens the store, finds where each writer stopped, and commits turns until
// killed, reporting "writer k" after each acknowledged commit.
int run_child(const std::string& path, const LinePipe& acks) {
  auto store = open_durable(path);
  if (!store) {
    acks.write_line("open-failed " + store.error().to_string());
    return 1;
  }
  acks.write_line("opened");
  auto& s = **store;
  if (!s.read_instance("sink")) {
    NewInstance sink;
    sink.id = "sink";
    sink.name = "Sink";
    if (!s.create_instance(sink)) return 2;
  }
  std::vector<std::thread> threads;
  for (int w = 0; w < kWriters; ++w) {
    threads.emplace_back([&s, &acks, w] {
      auto id = writer_id(w);
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
        first.events = {HistoryEvent{1, TimePoint{}, event::ExecutionStarted{"Writer", 1, {}, {}, {}}}};
        first.consumed = {inbox->front().seq};
        first.update.status = InstanceStatus::kRunning;
        if (!s.commit_turn(first)) return;
      }
      auto history = s.read_history(id, 1);
      std::uint64_t k = (history->size() - 1) / 2 + 1;
      for (;; ++k) {
        auto r = s.commit_turn(turn_for(*lock, w, k));
        if (!r) {
          acks.write_line("error " + r.error().to_string());
          return;
        }
        acks.write_line(std::to_string(w) + " " + std::to_string(k));
      }
    });
  }
  for (auto& t : threads) t.join();
  return 3;
}

struct Verified {
  std::map<int, std::uint64_t> turns;  // committed turns per writer
};

// Checks the store after a crash; returns the committed turn count per writer.
Verified verify(const std::string& path, const std::map<int, std::uint64_t>& acked) {
  Verified v;
  auto store = open_durable(path);
  REQUIRE_MESSAGE(store, (store ? "" : store.error().to_string()));
  auto& s = **store;
  std::map<int, std::uint64_t> sink_ticks;
  if (s.read_instance("sink")) {
    auto inbox = s.read_inbox("sink");
    REQUIRE(inbox);
    for (const auto& m : *inbox) {
      if (auto* e = std::get_if<message::Event>(&m.message)) {
        auto text = *decode<std::string>(e->payload);
        auto colon = text.find(':');
        int w = std::stoi(text.substr(0, colon));
        auto k = std::stoull(text.substr(colon + 1));
        CHECK(k == sink_ticks[w] + 1);  // in order, no gaps, no duplicates
        sink_ticks[w] = k;
      }
    }
  }
  std::map<InstanceId, std::size_t> work_per_writer, timers_per_writer;
  auto work = s.list_work(0, 0);
  auto timers = s.due_timers(TimePoint::max(), 0);
  REQUIRE(work);
  REQUIRE(timers);
  for (const auto& item : *work) ++work_per_writer[item.instance];
  for (const auto& t : *timers) ++timers_per_writer[t.instance];

  for (int w = 0; w < kWriters; ++w) {
    auto id = writer_id(w);
    auto info = s.read_instance(id);
    std::uint64_t turns = 0;
    if (info && info->execution == 1) {
      auto h = s.read_history(id, 1);
      REQUIRE(h);
      REQUIRE(h->size() % 2 == 1);  // ExecutionStarted + two events per turn: no half turn
      turns = (h->size() - 1) / 2;
      for (std::size_t i = 0; i < h->size(); ++i) REQUIRE((*h)[i].id == i + 1);
      CHECK(work_per_writer[id] == turns);
      CHECK(timers_per_writer[id] == turns);
      CHECK(sink_ticks[w] == turns);
      CHECK(info->custom_status == (turns == 0 ? "" : std::to_string(turns)));
      CHECK(s.read_executions(id)->front().event_count == h->size());
    }
    auto a = acked.find(w);
    if (a != acked.end()) CHECK(turns >= a->second);  // nothing acknowledged was lost
    v.turns[w] = turns;
  }
  return v;
}

}  // namespace

TEST_SUITE("lmdb store: crash safety") {
  TEST_CASE("SIGKILL at random moments never loses an acknowledged commit nor shows half a turn") {
    TempDir dir("duractor-crash");
    auto path = dir.sub("store");
    std::mt19937 rng(std::random_device{}());
    std::map<int, std::uint64_t> acked;
    constexpr int kKills = 24;
    int kills_after_open = 0, kills_with_progress = 0;
    for (int round = 0; round < kKills; ++round) {
      LinePipe acks;
      ChildProcess child([&] { return run_child(path, acks); });
      acks.close_write_end();
      // Odd rounds count the delay from the moment the store is open, so that a slow
      // machine (a sanitizer build) still kills them while they commit; even rounds count it
      // from the start of the process, so some kills land while the store opens.
      bool after_open = round % 2 == 1;
      std::vector<std::string> lines;
      if (after_open) {
        lines.push_back(acks.read_line());
        REQUIRE_MESSAGE(lines.back() == "opened", lines.back());
      }
      auto delay = std::chrono::milliseconds(30 + rng() % 250);
      std::this_thread::sleep_for(delay);
      child.kill();
      for (auto& line : acks.read_all_lines()) lines.push_back(std::move(line));
      CAPTURE(round);
      std::size_t new_acks = 0;
      for (const auto& line : lines) {
        if (line == "opened") continue;
        REQUIRE_MESSAGE(line.rfind("error", 0) != 0, line);
        REQUIRE_MESSAGE(line.rfind("open-failed", 0) != 0, line);
        std::istringstream in(line);
        int w = 0;
        std::uint64_t k = 0;
        in >> w >> k;
        acked[w] = std::max(acked[w], k);
        ++new_acks;
      }
      if (after_open) ++kills_after_open;
      if (after_open && new_acks > 0) ++kills_with_progress;
      auto v = verify(path, acked);
      for (auto [w, turns] : v.turns) CHECK(turns >= acked[w]);
    }
    std::uint64_t total = 0;
    for (auto [w, k] : acked) total += k;
    MESSAGE(kKills << " kills, " << total << " acknowledged turns");
    CHECK(kills_with_progress >= kills_after_open / 2);  // the kills hit real work
  }
}

}  // namespace duractor
