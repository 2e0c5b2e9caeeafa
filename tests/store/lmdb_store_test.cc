// The LMDB store beyond the conformance suite: opening bad paths and bad files, growing the
// map, a full disk, another process writing at the same time, and group commit.

#include "duractor/store/lmdb_store.h"

#include <doctest/doctest.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include "tests/support/child_process.h"
#include "tests/support/temp_dir.h"

namespace duractor {
namespace {

using namespace std::chrono_literals;
using testing::ChildProcess;
using testing::LinePipe;
using testing::TempDir;

Result<std::unique_ptr<LmdbStore>> open_store(const std::string& path, bool sync = false,
                                              std::uint64_t initial = 1 << 20,
                                              std::uint64_t max = std::uint64_t{1} << 40) {
  LmdbOptions o;
  o.path = path;
  o.sync = sync;
  o.initial_map_size = initial;
  o.max_map_size = max;
  return LmdbStore::open(std::move(o));
}

NewInstance instance(std::string id, Bytes input = encode(1)) {
  NewInstance r;
  r.id = std::move(id);
  r.name = "Order";
  r.input = std::move(input);
  return r;
}

// Creates `id`, runs its first turn and returns the held lock.
InstanceLock started(Store& s, const InstanceId& id) {
  REQUIRE(s.create_instance(instance(id)));
  auto lock = s.lock_instance(id, 1h);
  REQUIRE(lock);
  auto inbox = s.read_inbox(id);
  TurnCommit t;
  t.lock = *lock;
  t.execution = 1;
  t.events = {HistoryEvent{1, TimePoint{}, event::ExecutionStarted{"Order", 1, {}, {}, {}}}};
  t.consumed = {inbox->front().seq};
  t.update.status = InstanceStatus::kRunning;
  REQUIRE(s.commit_turn(t));
  return *lock;
}

// A turn appending one ActivityScheduled event with `payload` as input.
TurnCommit payload_turn(const InstanceLock& lock, EventId id, Bytes payload) {
  TurnCommit t;
  t.lock = lock;
  t.execution = 1;
  t.events = {HistoryEvent{id, TimePoint{}, event::ActivityScheduled{"A", std::move(payload), 1}}};
  return t;
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

}  // namespace

TEST_SUITE("lmdb store: opening") {
  TEST_CASE("a missing directory is created, unless creation is off") {
    TempDir dir;
    auto created = open_store(dir.sub("new"));
    REQUIRE(created);
    CHECK(std::filesystem::exists(dir.sub("new/data.mdb")));

    LmdbOptions o;
    o.path = dir.sub("absent");
    o.create_if_missing = false;
    auto r = LmdbStore::open(o);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == ErrorCode::kNotFound);
    CHECK(contains(r.error().message, dir.sub("absent")));
    CHECK(contains(r.error().message, "does not exist"));
  }

  TEST_CASE("a path below a missing directory is an error naming the path") {
    TempDir dir;
    auto r = open_store(dir.sub("no/such/parent"));
    REQUIRE_FALSE(r);
    CHECK(contains(r.error().message, dir.sub("no/such/parent")));
    CHECK(contains(r.error().message, "no such file or directory"));
  }

  TEST_CASE("a path that is a file is not a directory") {
    TempDir dir;
    std::ofstream(dir.sub("file")) << "hello";
    auto r = open_store(dir.sub("file"));
    REQUIRE_FALSE(r);
    CHECK(r.error().code == ErrorCode::kIo);
    CHECK(contains(r.error().message, "not a directory"));
  }

  TEST_CASE("a data.mdb full of garbage is refused as not an LMDB file") {
    TempDir dir;
    std::filesystem::create_directory(dir.sub("s"));
    {
      std::ofstream out(dir.sub("s/data.mdb"), std::ios::binary);
      std::mt19937 rng(1);
      for (int i = 0; i < 64 * 1024; ++i) out.put(static_cast<char>(rng()));
    }
    auto r = open_store(dir.sub("s"));
    REQUIRE_FALSE(r);
    CHECK(r.error().code == ErrorCode::kCorrupt);
    CHECK(contains(r.error().message, dir.sub("s")));
    CHECK(contains(r.error().message, "not an LMDB file"));
  }

  TEST_CASE("a truncated data.mdb is refused as truncated, and nothing is read past its end") {
    TempDir dir;
    {
      auto s = open_store(dir.sub("s"));
      REQUIRE(s);
      auto lock = started(**s, "o");
      for (EventId id = 2; id < 40; ++id) {
        REQUIRE((*s)->commit_turn(payload_turn(lock, id, Bytes(std::string(20000, 'x')))));
      }
    }
    auto size = std::filesystem::file_size(dir.sub("s/data.mdb"));
    std::filesystem::resize_file(dir.sub("s/data.mdb"), size / 2);
    auto r = open_store(dir.sub("s"));
    REQUIRE_FALSE(r);
    CHECK(r.error().code == ErrorCode::kCorrupt);
    CHECK(contains(r.error().message, "truncated"));
  }

  TEST_CASE("an LMDB file that is not a duractor store is refused and left untouched") {
    TempDir dir;
    std::filesystem::create_directory(dir.sub("foreign"));
    std::string cmd =
        "printf 'VERSION=3\\nformat=bytevalue\\ntype=btree\\nHEADER=END\\n"
        " 6b6579\\n 76616c7565\\nDATA=END\\n' | mdb_load " +
        dir.sub("foreign") + " 2>&1";
    REQUIRE(std::system(cmd.c_str()) == 0);
    auto before = std::filesystem::file_size(dir.sub("foreign/data.mdb"));
    auto r = open_store(dir.sub("foreign"));
    REQUIRE_FALSE(r);
    CHECK(r.error().code == ErrorCode::kCorrupt);
    CHECK(contains(r.error().message, "not a duractor store"));
    CHECK(std::filesystem::file_size(dir.sub("foreign/data.mdb")) == before);
  }

  TEST_CASE("a read-only directory is an error naming the path, and its store stays readable") {
    TempDir dir;
    {
      auto s = open_store(dir.sub("ro"));
      REQUIRE(s);
      REQUIRE((*s)->create_instance(instance("kept")));
    }
    ::chmod(dir.path().c_str(), 0755);
    ::chmod(dir.sub("ro").c_str(), 0555);
    LinePipe pipe;
    ChildProcess child([&] {
      // root ignores permissions: drop to nobody so that the directory really is read-only
      if (::geteuid() == 0 && (::setgid(65534) != 0 || ::setuid(65534) != 0)) return 3;
      auto r = open_store(dir.sub("ro"));
      pipe.write_line(r ? "opened" : r.error().to_string());
      return r ? 1 : 0;
    });
    pipe.close_write_end();
    auto lines = pipe.read_all_lines();
    CHECK(child.wait() == 0);
    REQUIRE(lines.size() == 1);
    CHECK(contains(lines[0], dir.sub("ro")));
    CHECK(contains(lines[0], "permission denied"));
    ::chmod(dir.sub("ro").c_str(), 0755);
    auto again = open_store(dir.sub("ro"));
    REQUIRE(again);
    CHECK((*again)->read_instance("kept"));
  }

  TEST_CASE("a store opened read-only serves reads and refuses writes") {
    TempDir dir;
    {
      auto s = open_store(dir.sub("s"));
      REQUIRE((*s)->create_instance(instance("kept")));
    }
    LmdbOptions o;
    o.path = dir.sub("s");
    o.read_only = true;
    auto s = LmdbStore::open(o);
    REQUIRE(s);
    CHECK((*s)->read_instance("kept"));
    auto w = (*s)->create_instance(instance("new"));
    REQUIRE_FALSE(w);
    CHECK(w.error().code == ErrorCode::kFailedPrecondition);
    CHECK(contains(w.error().message, "read-only"));
  }
}

TEST_SUITE("lmdb store: size") {
  TEST_CASE("the map grows on demand and everything written stays readable") {
    TempDir dir;
    auto s = open_store(dir.sub("s"), false, 256 * 1024);
    REQUIRE(s);
    auto initial = (*s)->map_size();
    auto lock = started(**s, "big");
    for (EventId id = 2; id < 60; ++id) {
      auto r = (*s)->commit_turn(
          payload_turn(lock, id, Bytes(std::string(100'000, static_cast<char>(id)))));
      REQUIRE_MESSAGE(r, (r ? "" : r.error().to_string()));
    }
    CHECK((*s)->map_size() > initial * 8);
    auto h = (*s)->read_history("big", 1);
    REQUIRE(h);
    REQUIRE(h->size() == 59);
    CHECK(std::get<event::ActivityScheduled>(h->back().body).input.str() ==
          std::string(100'000, 59));
  }

  TEST_CASE("at the maximum size a write fails as store full and earlier commits survive") {
    TempDir dir;
    auto s = open_store(dir.sub("s"), false, 256 * 1024, 2 * 1024 * 1024);
    REQUIRE(s);
    auto lock = started(**s, "big");
    EventId id = 2;
    Error last;
    for (; id < 1000; ++id) {
      auto r = (*s)->commit_turn(payload_turn(lock, id, Bytes(std::string(100'000, 'x'))));
      if (!r) {
        last = r.error();
        break;
      }
    }
    REQUIRE(id < 1000);
    CHECK(last.code == ErrorCode::kStoreFull);
    CHECK(contains(last.message, dir.sub("s")));
    CHECK(contains(last.message, "maximum size"));
    CHECK((*s)->read_history("big", 1)->size() == id - 1);
    // A small write still fits.
    CHECK((*s)->commit_turn(payload_turn(lock, id, Bytes(std::string_view("small")))));
  }

  TEST_CASE("a full disk fails the write with the cause and loses nothing acknowledged") {
    TempDir dir;
    LinePipe pipe;
    ChildProcess child([&] {
      ::signal(SIGXFSZ, SIG_IGN);
      rlimit limit{4 * 1024 * 1024, 4 * 1024 * 1024};  // the disk is "full" at 4 MiB
      ::setrlimit(RLIMIT_FSIZE, &limit);
      auto s = open_store(dir.sub("s"), true, 64 * 1024 * 1024);
      if (!s) {
        pipe.write_line("open failed: " + s.error().to_string());
        return 1;
      }
      auto lock = started(**s, "o");
      for (EventId id = 2; id < 10000; ++id) {
        auto r = (*s)->commit_turn(payload_turn(lock, id, Bytes(std::string(50'000, 'd'))));
        if (!r) {
          pipe.write_line("error " + r.error().to_string());
          return 0;
        }
        pipe.write_line("acked " + std::to_string(id));
      }
      return 2;
    });
    pipe.close_write_end();
    auto lines = pipe.read_all_lines();
    REQUIRE(child.wait() == 0);
    REQUIRE(lines.size() > 10);
    CHECK(contains(lines.back(), "error I/O error"));
    CHECK(contains(lines.back(), dir.sub("s")));
    INFO(lines.back());
    CHECK(contains(lines.back(), "a write failed"));
    CHECK(contains(lines.back(), "bytes free on the device"));
    auto acked = lines.size() - 1;
    auto s = open_store(dir.sub("s"));
    REQUIRE(s);
    auto h = (*s)->read_history("o", 1);
    REQUIRE(h);
    CHECK(h->size() == acked + 1);  // every acknowledged turn, and not the failed one
  }
}

TEST_SUITE("lmdb store: processes and batching") {
  TEST_CASE("another process writing to the same store is seen, and moves the change counter") {
    TempDir dir;
    { REQUIRE(open_store(dir.sub("s"))); }
    LinePipe go, done;
    ChildProcess child([&] {
      go.close_write_end();  // our inherited copy, or the read below would never end
      go.read_all_lines();   // wait until the parent has opened the store
      auto s = open_store(dir.sub("s"));
      if (!s) return 1;
      for (int i = 0; i < 20; ++i) {
        if (!(*s)->enqueue("shared", message::Event{"FromCli", encode(i)})) return 2;
      }
      done.write_line("ok");
      return 0;
    });
    done.close_write_end();
    auto s = open_store(dir.sub("s"));
    REQUIRE(s);
    REQUIRE((*s)->create_instance(instance("shared")));
    auto before = (*s)->change_counter();
    go.close_write_end();
    auto lines = done.read_all_lines();
    REQUIRE(child.wait() == 0);
    REQUIRE(lines == std::vector<std::string>{"ok"});
    CHECK(*(*s)->change_counter() >= *before + 20);
    auto inbox = (*s)->read_inbox("shared");
    REQUIRE(inbox);
    CHECK(inbox->size() == 21);
    // Our own writes still work after theirs, with seqs after theirs.
    auto seq = (*s)->enqueue("shared", message::Event{"Local", encode(0)});
    REQUIRE(seq);
    CHECK(*seq > inbox->back().seq);
  }

  TEST_CASE("concurrent durable writers share commits: fewer syncs than writes") {
    TempDir dir;
    auto s = open_store(dir.sub("s"), true);
    REQUIRE(s);
    REQUIRE((*s)->create_instance(instance("sink")));
    auto before = *(*s)->change_counter();
    constexpr int kThreads = 64, kWrites = 10;
    std::atomic<int> failures{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&] {
        for (int k = 0; k < kWrites; ++k) {
          if (!(*s)->enqueue("sink", message::Event{"E", encode(k)})) ++failures;
        }
      });
    }
    for (auto& th : threads) th.join();
    CHECK(failures == 0);
    auto transactions = *(*s)->change_counter() - before;
    CHECK((*s)->read_inbox("sink")->size() == kThreads * kWrites + 1);
    MESSAGE("640 writes took " << transactions << " transactions");
    CHECK(transactions < kThreads * kWrites / 4);
  }

  TEST_CASE("closing the store finishes queued writes and refuses new ones") {
    TempDir dir;
    std::atomic<int> answered{0}, succeeded{0};
    {
      auto s = open_store(dir.sub("s"));
      REQUIRE(s);
      REQUIRE((*s)->create_instance(instance("o")));
      for (int i = 0; i < 500; ++i) {
        (*s)->enqueue_async("o", message::Event{"E", encode(i)}, [&](Result<std::uint64_t> r) {
          ++answered;
          if (r) ++succeeded;
        });
      }
    }
    CHECK(answered == 500);
    CHECK(succeeded == 500);
    auto s = open_store(dir.sub("s"));
    CHECK((*s)->read_inbox("o")->size() == 501);
  }
}

TEST_SUITE("lmdb store: fault injection") {
  TEST_CASE("the fault injector names the instance each step acts for") {
    TempDir dir;
    std::mutex mutex;
    std::vector<std::pair<std::string, std::string>> seen;  // (step, instance)
    LmdbOptions o;
    o.path = dir.sub("store");
    o.sync = false;
    o.fault_injector = [&](const FaultStep& step) -> Status {
      std::lock_guard lock(mutex);
      seen.emplace_back(std::string(step.name), std::string(step.instance));
      return {};
    };
    auto store = LmdbStore::open(o);
    REQUIRE(store);
    auto& s = **store;
    auto lock = started(s, "alpha");
    REQUIRE(s.create_instance(instance("beta")));
    auto t = payload_turn(lock, 2, encode(1));
    t.work = {NewWorkItem{2, "A", encode(1), 1}};
    REQUIRE(s.commit_turn(t));
    auto counted = s.count_turn_delivery(*s.lock_instance("beta", 1h));
    REQUIRE(counted);
    auto work = s.take_work(1, 1h);
    REQUIRE(work);
    REQUIRE(s.record_delivery(work->at(0).lease, 2));
    std::lock_guard guard(mutex);
    auto instance_at = [&](std::string_view step) {
      std::set<std::string> who;
      for (const auto& [name, id] : seen) {
        if (name == step) who.insert(id);
      }
      return who;
    };
    CHECK(instance_at("create_instance.record") == std::set<std::string>{"alpha", "beta"});
    CHECK(instance_at("commit_turn.history") == std::set<std::string>{"alpha"});
    CHECK(instance_at("commit_turn.metadata") == std::set<std::string>{"alpha"});
    CHECK(instance_at("count_turn_delivery") == std::set<std::string>{"beta"});
    CHECK(instance_at("record_delivery.item") == std::set<std::string>{"alpha"});
    CHECK(instance_at("batch.commit") == std::set<std::string>{""});  // for no one instance
  }
}

}  // namespace duractor
