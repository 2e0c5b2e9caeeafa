// The LMDB store shared between processes, as a runtime shares it with the CLI: a process
// notices the others' writes (foreign_writes) and never its own; an instance that another
// process deletes reads as not found, and its lock and journal entries go; journal records
// another process appended stay visible; a process without compaction leaves the journal
// alone; opening never waits for another process's writer, and a write gate can give up
// waiting for the writer lock without its write committing later.

#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <future>
#include <thread>

#include "duractor/store/lmdb_store.h"
#include "tests/support/child_process.h"
#include "tests/support/temp_dir.h"
#include "tests/support/writer_lock_holder.h"

namespace duractor {
namespace {

using namespace std::chrono_literals;
using testing::ChildProcess;
using testing::LinePipe;
using testing::TempDir;

LmdbOptions options(const std::string& path) {
  LmdbOptions o;
  o.path = path;
  o.sync = false;
  o.initial_map_size = 1 << 20;
  o.watch_interval = 20ms;
  return o;
}

std::unique_ptr<LmdbStore> open_store(LmdbOptions o) {
  auto s = LmdbStore::open(std::move(o));
  REQUIRE_MESSAGE(s, (s ? "" : s.error().to_string()));
  return std::move(*s);
}

// Creates `id` and commits its first turn plus `more` one-event turns; returns the lock.
Result<InstanceLock> run(Store& s, const InstanceId& id, int more) {
  NewInstance r;
  r.id = id;
  r.name = "P";
  if (auto c = s.create_instance(r); !c) return fail(c.error());
  auto lock = s.lock_instance(id, 1h);
  if (!lock) return lock;
  auto inbox = s.read_inbox(id);
  if (!inbox) return fail(inbox.error());
  TurnCommit first;
  first.lock = *lock;
  first.execution = 1;
  first.events = {HistoryEvent{1, TimePoint{}, event::ExecutionStarted{"P", 1, {}, {}, {}}}};
  first.consumed = {inbox->front().seq};
  first.update.status = InstanceStatus::kRunning;
  if (auto c = s.commit_turn(first); !c) return fail(c.error());
  for (int i = 0; i < more; ++i) {
    TurnCommit t;
    t.lock = *lock;
    t.execution = 1;
    EventId id_of_event = 2 + static_cast<EventId>(i);
    t.events = {HistoryEvent{id_of_event, TimePoint{}, event::CustomStatusSet{std::to_string(i)}}};
    if (auto c = s.commit_turn(t); !c) return fail(c.error());
  }
  return lock;
}

bool eventually(const std::function<bool()>& condition, std::chrono::milliseconds timeout = 5s) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(5ms);
  }
  return condition();
}

}  // namespace

TEST_SUITE("lmdb store: other processes") {
  TEST_CASE("another process's writes move foreign_writes, this process's own never do") {
    TempDir dir;
    LinePipe go, done;
    ChildProcess child([&] {
      go.close_write_end();
      for (int round = 0; round < 2; ++round) {
        if (go.read_line().empty()) break;  // the parent says when, or is done
        auto s = LmdbStore::open(options(dir.sub("s")));
        if (!s || !(*s)->enqueue("shared", message::Event{"FromCli", encode(round)})) return 1;
        done.write_line("wrote");
      }
      return 0;
    });
    done.close_write_end();
    auto idle = options(dir.sub("s"));
    auto s = open_store(idle);
    auto quiet = idle;
    REQUIRE(run(*s, "shared", 0));
    auto before = s->foreign_writes();
    for (int i = 0; i < 50; ++i) REQUIRE(s->enqueue("shared", message::Event{"Own", encode(i)}));
    std::this_thread::sleep_for(100ms);  // five watch intervals
    CHECK(s->foreign_writes() == before);

    SUBCASE("noticed by an idle writer within its watch interval") {
      go.write_line("write");
      REQUIRE(done.read_line() == "wrote");
      CHECK(eventually([&] { return s->foreign_writes() > before; }, 2s));
    }
    SUBCASE("noticed by a writer that does not watch, at its next write") {
      s.reset();
      quiet.watch_interval = 0ms;
      s = open_store(quiet);
      before = s->foreign_writes();
      go.write_line("write");
      REQUIRE(done.read_line() == "wrote");
      std::this_thread::sleep_for(100ms);
      CHECK(s->foreign_writes() == before);
      REQUIRE(s->enqueue("shared", message::Event{"Own", encode(0)}));
      CHECK(s->foreign_writes() == before + 1);
    }
    go.close_write_end();
    child.wait();
  }

  TEST_CASE("an instance another process deletes reads as not found, and its lock goes with it") {
    TempDir dir;
    LinePipe go, done;
    ChildProcess child([&] {
      go.close_write_end();
      go.read_line();
      auto s = LmdbStore::open(options(dir.sub("s")));
      if (!s) return 1;
      auto deleted = (*s)->delete_instance("gone", DeleteOptions{.cascade = true, .force = true});
      done.write_line(deleted ? std::to_string(deleted->events) : deleted.error().to_string());
      return 0;
    });
    done.close_write_end();
    auto s = open_store(options(dir.sub("s")));
    auto lock = run(*s, "gone", 5);  // its events are in the journal, indexed by this process
    REQUIRE(lock);
    REQUIRE(run(*s, "kept", 2));
    auto before = s->foreign_writes();
    go.write_line("delete");
    CHECK(done.read_line() == "6");
    REQUIRE(child.wait() == 0);
    for (auto code :
         {s->read_instance("gone").error().code, s->read_latest_history("gone").error().code,
          s->read_executions("gone").error().code}) {
      CHECK(code == ErrorCode::kNotFound);
    }
    CHECK(eventually([&] { return s->foreign_writes() > before; }));
    // The lock this process held on the old instance went with it: a new instance under
    // the same id can be locked at once and starts a clean history.
    auto again = run(*s, "gone", 1);
    REQUIRE_MESSAGE(again, (again ? "" : again.error().to_string()));
    CHECK(s->read_history("gone", 1)->size() == 2);
    CHECK(s->read_history("kept", 1)->size() == 3);
    TurnCommit late;
    late.lock = *lock;
    late.execution = 1;
    late.events = {HistoryEvent{3, TimePoint{}, event::CustomStatusSet{"late"}}};
    CHECK_FALSE(s->commit_turn(late));  // the old lock holder cannot write into the new one
    CHECK(s->read_history("gone", 1)->size() == 2);
  }

  TEST_CASE(
      "journal records another process appended stay visible after this process appends its own") {
    TempDir dir;
    LinePipe go, done;
    ChildProcess child([&] {
      go.close_write_end();
      go.read_line();
      auto s = LmdbStore::open(options(dir.sub("s")));
      if (!s) return 1;
      auto lock = run(**s, "theirs", 4);
      done.write_line(lock ? "ok" : lock.error().to_string());
      return 0;
    });
    done.close_write_end();
    auto s = open_store(options(dir.sub("s")));
    REQUIRE(run(*s, "mine", 1));
    go.write_line("go");
    REQUIRE(done.read_line() == "ok");
    REQUIRE(child.wait() == 0);
    // Our next appends take journal seqs above theirs.
    REQUIRE(run(*s, "mine-too", 3));
    auto theirs = s->read_history("theirs", 1);
    REQUIRE_MESSAGE(theirs, (theirs ? "" : theirs.error().to_string()));
    CHECK(theirs->size() == 5);
    CHECK(s->read_executions("theirs")->front().event_count == 5);
    CHECK(s->read_history("mine-too", 1)->size() == 4);
  }

  TEST_CASE("a process with compaction off leaves the journal as it is") {
    TempDir dir;
    auto o = options(dir.sub("s"));
    o.journal_limit = 2;
    o.compact_journal = false;
    {
      auto s = open_store(o);
      REQUIRE(run(*s, "a", 9));
      CHECK(s->stats()->journal_records == 10);
      CHECK(s->read_history("a", 1)->size() == 10);
    }
    o.compact_journal = true;
    auto s = open_store(o);
    REQUIRE(run(*s, "b", 3));
    CHECK(s->stats()->journal_records < 10);
    CHECK(s->read_history("a", 1)->size() == 10);
    CHECK(s->read_history("b", 1)->size() == 4);
  }

  TEST_CASE("opening never waits for another process's writer, and a write gate gives up cleanly") {
    TempDir dir;
    { REQUIRE(run(*open_store(options(dir.sub("s"))), "o", 0)); }
    testing::WriterLockHolder holder(options(dir.sub("s")));

    auto started = std::chrono::steady_clock::now();
    auto o = options(dir.sub("s"));
    enum { kWaiting, kStarted, kAbandoned };
    std::atomic<int> gate{kWaiting};
    o.write_gate = [&]() -> Status {
      int expected = kWaiting;
      if (gate.compare_exchange_strong(expected, kStarted)) return {};
      return fail(ErrorCode::kBusy, "gave up waiting for the writer lock");
    };
    auto s = open_store(o);
    CHECK(std::chrono::steady_clock::now() - started < 2s);
    CHECK(s->read_inbox("o")->empty());  // reads do not wait either

    std::promise<Result<std::uint64_t>> answer;
    auto future = answer.get_future();
    s->enqueue_async("o", message::Event{"Parent", encode(2)},
                     [&](Result<std::uint64_t> r) { answer.set_value(std::move(r)); });
    CHECK(future.wait_for(300ms) == std::future_status::timeout);  // blocked on the lock
    int expected = kWaiting;
    REQUIRE(gate.compare_exchange_strong(expected, kAbandoned));
    holder.let_go();  // the child commits and exits; our writer gets the lock
    auto r = future.get();
    REQUIRE_FALSE(r);
    CHECK(r.error().message.find("gave up waiting") != std::string::npos);
    CHECK(holder.child.wait() == 0);
    auto inbox = s->read_inbox("o");
    REQUIRE(inbox->size() == 1);
    CHECK(std::get<message::Event>(inbox->front().message).name == "Child");
  }
}

}  // namespace duractor
