// Crash safety of the LMDB store: a child process commits turns in a loop from several
// threads and reports each acknowledged commit; it is killed with SIGKILL at random moments.
// After every kill the store must open, hold every acknowledged commit, and show no partial
// turn: each turn writes events, a work item, a timer, an inbox message to another instance
// and metadata, and either all of them are there or none (tests/support/turn_writers.h).
//
// SIGKILL leaves the page cache intact, so this test cannot see a missing sync: a store
// opened with sync off passes it. power_loss_test.cc drops unsynced writes as well.

#include <doctest/doctest.h>
#include <signal.h>

#include <chrono>
#include <random>
#include <thread>

#include "tests/support/child_process.h"
#include "tests/support/temp_dir.h"
#include "tests/support/turn_writers.h"
#include "tests/support/turn_writers_check.h"

namespace duractor {
namespace {

using testing::ChildProcess;
using testing::LinePipe;
using testing::TempDir;

// The child: (re)opens the store and commits turns until killed, reporting "opened" once
// the store is open and "<writer> <k>" after each acknowledged commit.
int run_child(const std::string& path, const LinePipe& acks) {
  auto store = testing::open_turn_store(path);
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
    std::mt19937 rng(std::random_device{}());
    testing::AcknowledgedTurns acked;
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
      // The child must have died of our SIGKILL, not of its own exit or crash.
      REQUIRE(child.kill() == 128 + SIGKILL);
      for (auto& line : acks.read_all_lines()) lines.push_back(std::move(line));
      CAPTURE(round);
      std::size_t new_acks = acked.add(lines);
      if (after_open) ++kills_after_open;
      if (after_open && new_acks > 0) ++kills_with_progress;
      testing::check_turn_store(path, acked);
    }
    MESSAGE(kKills << " kills, " << acked.total() << " acknowledged turns");
    CHECK(kills_with_progress >= kills_after_open / 2);  // the kills hit real work
  }
}

}  // namespace duractor
