// The LMDB store's journal: new history goes to an append-ordered journal and is compacted
// into per-instance history later. Whatever the split, every read must show the whole
// history in order: from this process, from readers racing with compaction, after a
// reopen, and from another process that opened the store earlier.

#include <doctest/doctest.h>

#include <atomic>
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

std::unique_ptr<LmdbStore> open_store(const std::string& path, std::size_t journal_limit) {
  LmdbOptions o;
  o.path = path;
  o.sync = false;
  o.journal_limit = journal_limit;
  auto s = LmdbStore::open(o);
  REQUIRE_MESSAGE(s, (s ? "" : s.error().to_string()));
  return std::move(*s);
}

InstanceLock start(Store& s, const InstanceId& id) {
  NewInstance r;
  r.id = id;
  r.name = "J";
  REQUIRE(s.create_instance(r));
  auto lock = s.lock_instance(id, 1h);
  REQUIRE(lock);
  TurnCommit t;
  t.lock = *lock;
  t.execution = 1;
  t.events = {HistoryEvent{1, TimePoint{}, event::ExecutionStarted{"J", 1, {}, {}, {}}}};
  t.consumed = {s.read_inbox(id)->front().seq};
  REQUIRE(s.commit_turn(t));
  return *lock;
}

// Appends events first..first+n-1 (each an ActivityScheduled carrying its own id).
Status append(Store& s, const InstanceLock& lock, EventId first, int n) {
  TurnCommit t;
  t.lock = lock;
  t.execution = 1;
  for (int i = 0; i < n; ++i) {
    EventId id = first + static_cast<EventId>(i);
    t.events.push_back(HistoryEvent{id, TimePoint{}, event::ActivityScheduled{"A", encode(id), 1}});
  }
  auto r = s.commit_turn(t);
  if (!r) return fail(r.error());
  return {};
}

// The history must be events 1..n with matching payloads.
void check_history(Store& s, const InstanceId& id, std::size_t n) {
  auto h = s.read_history(id, 1);
  REQUIRE_MESSAGE(h, (h ? "" : h.error().to_string()));
  REQUIRE(h->size() == n);
  for (std::size_t i = 0; i < n; ++i) {
    REQUIRE((*h)[i].id == i + 1);
    if (i > 0) {
      CHECK(*decode<EventId>(std::get<event::ActivityScheduled>((*h)[i].body).input) == i + 1);
    }
  }
}

}  // namespace

TEST_SUITE("lmdb store: journal") {
  TEST_CASE("histories read the same before, during and after compaction, and after reopening") {
    TempDir dir;
    std::vector<InstanceLock> locks;
    std::vector<EventId> next(5, 2);
    {
      auto s = open_store(dir.sub("s"), 6);
      for (int i = 0; i < 5; ++i) locks.push_back(start(*s, "i" + std::to_string(i)));
      for (int round = 0; round < 40; ++round) {
        for (std::size_t i = 0; i < 5; ++i) {
          int n = 1 + (round + static_cast<int>(i)) % 3;
          REQUIRE(append(*s, locks[i], next[i], n));
          next[i] += static_cast<EventId>(n);
          check_history(*s, "i" + std::to_string(i), next[i] - 1);
        }
      }
      auto stats = s->stats();
      CHECK(stats->journal_records <= 6 + 5);  // compaction keeps it near its limit
      std::uint64_t total = 0;
      for (auto n : next) total += n - 1;
      CHECK(stats->history_events == total);
    }
    auto s = open_store(dir.sub("s"), 6);
    for (std::size_t i = 0; i < 5; ++i) check_history(*s, "i" + std::to_string(i), next[i] - 1);
    // The reopened store indexes what was left in the journal and keeps appending.
    auto lock = s->lock_instance("i0", 1h);
    REQUIRE(lock);
    REQUIRE(append(*s, *lock, next[0], 2));
    check_history(*s, "i0", next[0] + 1);
    auto execs = s->read_executions("i0");
    REQUIRE(execs->size() == 1);
    CHECK(execs->front().event_count == next[0] + 1);
  }

  TEST_CASE("readers racing with commits and compaction always see a whole history") {
    TempDir dir;
    auto s = open_store(dir.sub("s"), 4);
    auto lock = start(*s, "busy");
    std::atomic<bool> done{false};
    std::atomic<int> gaps{0}, shrinks{0}, reads{0};
    std::vector<std::thread> readers;
    for (int r = 0; r < 2; ++r) {
      readers.emplace_back([&] {
        std::size_t seen = 0;
        while (!done) {
          auto h = s->read_history("busy", 1);
          if (!h) continue;
          for (std::size_t i = 0; i < h->size(); ++i) {
            if ((*h)[i].id != i + 1) ++gaps;
          }
          if (h->size() < seen) ++shrinks;
          seen = h->size();
          ++reads;
        }
      });
    }
    EventId next = 2;
    for (int k = 0; k < 400; ++k) {
      REQUIRE(append(*s, lock, next, 1 + k % 2));
      next += static_cast<EventId>(1 + k % 2);
    }
    done = true;
    for (auto& t : readers) t.join();
    CHECK(gaps == 0);
    CHECK(shrinks == 0);
    CHECK(reads > 0);
    check_history(*s, "busy", next - 1);
  }

  TEST_CASE("a process that opened the store earlier sees turns committed since") {
    TempDir dir;
    { open_store(dir.sub("s"), 4); }
    LinePipe opened, go, report;
    ChildProcess child([&] {
      go.close_write_end();
      auto s = open_store(dir.sub("s"), 4);
      opened.write_line("open");
      go.read_all_lines();  // the parent has committed its turns
      auto h = s->read_history("late", 1);
      report.write_line(h ? std::to_string(h->size()) : h.error().to_string());
      auto x = s->read_executions("late");
      report.write_line(x ? std::to_string(x->front().event_count) : x.error().to_string());
      return 0;
    });
    opened.close_write_end();
    report.close_write_end();
    REQUIRE(opened.read_line() == "open");
    {
      auto s = open_store(dir.sub("s"), 4);
      auto lock = start(*s, "late");
      REQUIRE(append(*s, lock, 2, 30));  // one big turn
      for (EventId id = 32; id < 40; ++id) REQUIRE(append(*s, lock, id, 1));
    }
    go.close_write_end();
    auto lines = report.read_all_lines();
    REQUIRE(child.wait() == 0);
    REQUIRE(lines.size() == 2);
    CHECK(lines[0] == "39");
    CHECK(lines[1] == "39");
  }

  TEST_CASE("deleting an instance removes its journal records too") {
    TempDir dir;
    auto s = open_store(dir.sub("s"), 1000);
    auto lock = start(*s, "gone");
    REQUIRE(append(*s, lock, 2, 5));
    auto keep = start(*s, "kept");
    REQUIRE(append(*s, keep, 2, 3));
    auto summary = s->delete_instance("gone", DeleteOptions{.cascade = true, .force = true});
    REQUIRE(summary);
    CHECK(summary->events == 6);
    auto stats = s->stats();
    CHECK(stats->history_events == 4);
    CHECK(stats->journal_records == 2);
    // A new instance under the same id starts from a clean history.
    auto again = start(*s, "gone");
    REQUIRE(append(*s, again, 2, 1));
    check_history(*s, "gone", 2);
  }
}

}  // namespace duractor
