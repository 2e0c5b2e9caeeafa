// Crash safety of the LMDB store: a child process commits turns in a loop from several
// threads and reports each acknowledged commit; it is killed with SIGKILL at random moments,
// and every third round at a fault-injection step inside a write instead (the k-th time a
// step such as "commit_turn.work" or "compact_journal.record" is reached; the journal is
// kept small so that compaction runs too). After every kill the store must open, hold every
// acknowledged commit, and show no partial turn: each turn writes events, a work item, a
// timer, an inbox message to another instance and metadata, and either all of them are
// there or none. Seeded and sized by tests/support/torture.h (scripts/torture runs it long).

#include <doctest/doctest.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <sstream>
#include <thread>

#include "store/lmdb_store.h"
#include "tests/support/child_process.h"
#include "tests/support/temp_dir.h"
#include "tests/support/torture.h"

namespace duractor {
namespace {

using namespace std::chrono_literals;
using testing::ChildProcess;
using testing::LinePipe;
using testing::TempDir;

constexpr int kWriters = 4;

std::string writer_id(int w) { return "writer-" + std::to_string(w); }

// Where a child kills itself: the `hit`-th time it reaches fault step `step`.
struct KillPoint {
  std::string step;
  int hit = 0;
};

// The fault-injection steps a child may die at: every step of a turn's commit, the batch
// commit, and a journal compaction.
const char* const kSteps[] = {
    "commit_turn.history",  "commit_turn.inbox",    "commit_turn.work", "commit_turn.timers",
    "commit_turn.outbound", "commit_turn.metadata", "batch.commit",     "compact_journal.record"};

Result<std::unique_ptr<LmdbStore>> open_durable(const std::string& path,
                                                const std::optional<KillPoint>& kill = {}) {
  LmdbOptions o;
  o.path = path;
  o.sync = true;
  o.initial_map_size = 1 << 20;  // grows during the test: growth must be crash-safe too
  o.journal_limit = 64;          // compacts as it goes: compaction must be crash-safe too
  if (kill) {
    auto hits = std::make_shared<std::atomic<int>>(0);
    o.fault_injector = [kill = *kill, hits](const FaultStep& at) -> Status {
      if (at.name == kill.step && ++*hits == kill.hit) ::raise(SIGKILL);
      return {};
    };
  }
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
int run_child(const std::string& path, const LinePipe& acks, const std::optional<KillPoint>& kill) {
  auto store = open_durable(path, kill);
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
  std::uint64_t duplicated = 0;        // ticks the sink got twice (must stay 0)
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
        if (k <= sink_ticks[w]) ++v.duplicated;
        sink_ticks[w] = std::max<std::uint64_t>(sink_ticks[w], k);
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
    testing::TortureFigures figures;
    figures.suite = "store";
    figures.seed = testing::torture_seed();
    MESSAGE("seed " << figures.seed << " (DURACTOR_TORTURE_SEED repeats this run)");
    std::mt19937 rng(figures.seed);
    std::map<int, std::uint64_t> acked;
    const int kills = testing::torture_kills("STORE", 24);
    int kills_after_open = 0, kills_with_progress = 0;
    for (int round = 0; round < kills; ++round) {
      // Every third round the child dies at a fault step inside a write, the parent's kill
      // (below) being only the fallback if it never gets there.
      std::optional<KillPoint> kill;
      if (round % 3 == 2) {
        kill = KillPoint{kSteps[rng() % std::size(kSteps)], 1 + static_cast<int>(rng() % 40)};
      }
      LinePipe acks;
      ChildProcess child([&] { return run_child(path, acks, kill); });
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
      if (kill) {
        for (auto until = std::chrono::steady_clock::now() + delay;
             child.running() && std::chrono::steady_clock::now() < until;) {
          std::this_thread::sleep_for(2ms);
        }
        if (!child.running()) ++figures.fault_step_kills;
      } else {
        std::this_thread::sleep_for(delay);
      }
      child.kill();
      ++figures.kills;
      for (auto& line : acks.read_all_lines()) lines.push_back(std::move(line));
      CAPTURE(round);
      if (kill) CAPTURE(kill->step);
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
      figures.acknowledged += new_acks;
      if (after_open) ++kills_after_open;
      if (after_open && new_acks > 0) ++kills_with_progress;
      auto v = verify(path, acked);
      figures.duplicated += v.duplicated;
      for (auto [w, turns] : v.turns) {
        CHECK(turns >= acked[w]);
        if (turns < acked[w]) figures.lost += acked[w] - turns;
      }
    }
    figures.instances = kWriters + 1;
    std::uint64_t total = 0;
    for (auto [w, k] : acked) total += k;
    MESSAGE(figures.line());
    MESSAGE(kills << " kills, " << total << " acknowledged turns");
    figures.report();
    CHECK(figures.lost == 0);
    CHECK(figures.duplicated == 0);
    CHECK(kills_with_progress >= kills_after_open / 2);  // the kills hit real work
    if (kills >= 9) CHECK(figures.fault_step_kills > 0);  // the fault steps were reached
  }
}

}  // namespace duractor
