// Crash safety of the LMDB store: a child process commits turns in a loop from several
// threads and reports each acknowledged commit; it is killed with SIGKILL at random moments,
// and every third round at a fault-injection step inside a write instead (the k-th time a
// step such as "commit_turn.work" or "compact_journal.record" is reached; the journal is
// kept small so that compaction runs too). After every kill the store must open, hold every
// acknowledged commit, and show no partial turn: each turn writes events, a work item, a
// timer, an inbox message to another instance and metadata, and either all of them are
// there or none (tests/support/turn_writers.h). Seeded and sized by tests/support/torture.h
// (scripts/torture runs it long).
//
// SIGKILL leaves the page cache intact, so this test cannot see a missing sync: a store
// opened with sync off passes it. power_loss_test.cc drops unsynced writes as well.

#include <doctest/doctest.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <random>
#include <thread>

#include "tests/support/child_process.h"
#include "tests/support/temp_dir.h"
#include "tests/support/torture.h"
#include "tests/support/turn_writers.h"
#include "tests/support/turn_writers_check.h"

namespace duractor {
namespace {

using namespace std::chrono_literals;
using testing::ChildProcess;
using testing::LinePipe;
using testing::TempDir;

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

// The writers' store (as testing::open_turn_store opens it), with a small journal so that
// compaction runs as it goes (it must be crash-safe too), and dying at `kill` if given.
Result<std::unique_ptr<LmdbStore>> open_for_kill(const std::string& path,
                                                 const std::optional<KillPoint>& kill) {
  LmdbOptions o;
  o.path = path;
  o.sync = true;
  o.initial_map_size = 1 << 20;  // grows during the test: growth must be crash-safe too
  o.journal_limit = 64;
  if (kill) {
    auto hits = std::make_shared<std::atomic<int>>(0);
    o.fault_injector = [kill = *kill, hits](const FaultStep& at) -> Status {
      if (at.name == kill.step && ++*hits == kill.hit) ::raise(SIGKILL);
      return {};
    };
  }
  return LmdbStore::open(std::move(o));
}

// The child: (re)opens the store and commits turns until killed, reporting "opened" once
// the store is open and "<writer> <k>" after each acknowledged commit.
int run_child(const std::string& path, const LinePipe& acks, const std::optional<KillPoint>& kill) {
  auto store = open_for_kill(path, kill);
  if (!store) {
    acks.write_line("open-failed " + store.error().to_string());
    return 1;
  }
  acks.write_line("opened");
  return testing::run_turn_writers(**store,
                                   [&](const std::string& line) { acks.write_line(line); });
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
    testing::AcknowledgedTurns acked;
    const int kills = testing::torture_kills("STORE", 24);
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
      // Odd rounds count the delay from the child's first acknowledged commit, so that
      // however slow the machine (a sanitizer build, a loaded CI host, a slow fsync) they
      // kill it while it commits; even rounds count it from the start of the process, so
      // some kills land while the store opens.
      bool after_open = round % 2 == 1;
      std::vector<std::string> lines;
      if (after_open) {
        lines.push_back(acks.read_line());
        REQUIRE_MESSAGE(lines.back() == "opened", lines.back());
        // Blocks until the first commit is acknowledged, or the pipe closes because a
        // fault step killed the child before that.
        if (auto first = acks.read_line(); !first.empty()) lines.push_back(std::move(first));
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
      // The child must have died of a SIGKILL (ours or its fault step's), not of its own
      // exit or crash.
      REQUIRE(child.kill() == 128 + SIGKILL);
      ++figures.kills;
      for (auto& line : acks.read_all_lines()) lines.push_back(std::move(line));
      CAPTURE(round);
      if (kill) CAPTURE(kill->step);
      std::size_t new_acks = acked.add(lines);
      figures.acknowledged += new_acks;
      std::uint64_t duplicated = 0;
      auto committed = testing::check_turn_store(path, acked, &duplicated);
      figures.duplicated += duplicated;
      for (auto [w, turns] : committed) {
        auto a = acked.turns.find(w);
        if (a != acked.turns.end() && turns < a->second) figures.lost += a->second - turns;
      }
    }
    figures.instances = testing::kTurnWriters + 1;
    MESSAGE(figures.line());
    MESSAGE(kills << " kills, " << acked.total() << " acknowledged turns");
    figures.report();
    CHECK(figures.lost == 0);
    CHECK(figures.duplicated == 0);
    if (kills >= 9) CHECK(figures.fault_step_kills > 0);  // the fault steps were reached
  }
}

}  // namespace duractor
