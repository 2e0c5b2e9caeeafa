// Store conformance: many threads writing and reading at once — nothing lost or duplicated,
// and reads always see whole turns. Part of the suite run for every store (conformance.h).

#include <doctest/doctest.h>

#include <atomic>
#include <map>
#include <set>
#include <thread>

#include "tests/store/conformance/helpers.h"

namespace duractor::testing {

TEST_SUITE("store conformance: concurrency") {
  TEST_CASE("many threads committing at once: nothing lost, nothing duplicated") {
    auto f = make_store_fixture();
    auto& s = f->store();
    constexpr int kThreads = 16;
    constexpr int kTurns = 60;
    REQUIRE_OK(s.create_instance(new_instance("sink")));
    std::vector<InstanceLock> locks;
    for (int t = 0; t < kThreads; ++t) locks.push_back(create_started(*f, "w" + std::to_string(t)));

    std::atomic<int> failures{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        for (int k = 0; k < kTurns; ++k) {
          TurnCommit turn;
          turn.lock = locks[static_cast<std::size_t>(t)];
          turn.execution = 1;
          auto id = static_cast<EventId>(2 + k);
          turn.events = {
              HistoryEvent{id, f->clock.now(), event::ActivityScheduled{"A", encode(k), 1}}};
          turn.work = {NewWorkItem{id, "A", encode(k), 1}};
          turn.outbound = {OutboundMessage{"sink", message::Event{"E", encode(t * 1000 + k)}}};
          if (!s.commit_turn(turn)) ++failures;
        }
      });
    }
    for (auto& th : threads) th.join();
    CHECK(failures == 0);

    std::set<std::uint64_t> work_ids;
    auto work = s.list_work(0, 0);
    REQUIRE_OK(work);
    for (const auto& w : *work) work_ids.insert(w.id);
    CHECK(work_ids.size() == kThreads * kTurns);
    for (int t = 0; t < kThreads; ++t) {
      auto h = s.read_history("w" + std::to_string(t), 1);
      REQUIRE(h->size() == kTurns + 1);
      for (int k = 0; k < kTurns; ++k) {
        auto& e = std::get<event::ActivityScheduled>((*h)[static_cast<std::size_t>(k) + 1].body);
        CHECK(*decode<int>(e.input) == k);  // each thread's turns in its own order
      }
    }
    std::set<int> received;
    std::map<int, int> last_per_thread;
    auto sink = s.read_inbox("sink");
    REQUIRE_OK(sink);
    for (const auto& m : *sink) {
      if (auto* e = std::get_if<message::Event>(&m.message)) {
        int v = *decode<int>(e->payload);
        CHECK(received.insert(v).second);  // no duplicates
        int thread = v / 1000;
        if (last_per_thread.count(thread)) CHECK(v > last_per_thread[thread]);  // per-sender order
        last_per_thread[thread] = v;
      }
    }
    CHECK(received.size() == kThreads * kTurns);
  }

  TEST_CASE("reads run concurrently with writes and always see whole turns") {
    auto f = make_store_fixture();
    auto& s = f->store();
    auto lock = create_started(*f, "o");
    std::atomic<bool> done{false};
    std::atomic<int> torn{0}, reads{0};
    std::thread reader([&] {
      while (!done) {
        auto h = s.read_history("o", 1);
        auto w = s.list_work(0, 0);
        if (!h || !w) continue;
        // Each turn adds one event and one work item, in one transaction; the two reads
        // are separate snapshots, so the work list may only be ahead of the history.
        if (w->size() + 1 < h->size()) ++torn;
        for (std::size_t i = 0; i < h->size(); ++i) {
          if ((*h)[i].id != i + 1) ++torn;
        }
        ++reads;
      }
    });
    for (int k = 0; k < 200; ++k) {
      TurnCommit t;
      t.lock = lock;
      t.execution = 1;
      auto id = static_cast<EventId>(k + 2);
      t.events = {HistoryEvent{id, f->clock.now(), event::ActivityScheduled{"A", {}, 1}}};
      t.work = {NewWorkItem{id, "A", {}, 1}};
      REQUIRE_OK(s.commit_turn(t));
    }
    done = true;
    reader.join();
    CHECK(torn == 0);
    CHECK(reads > 0);
  }
}

}  // namespace duractor::testing
