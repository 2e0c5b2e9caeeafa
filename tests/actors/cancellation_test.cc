// Cancellation and abandoned work through the real runtime (actors, activity workers, an
// LMDB directory): a cancel that is in the inbox before the first turn stops the instance
// before its code runs, a second cancel does not interrupt compensation, and an activity
// whose future the code dropped is told to stop through its cancellation token.

#include <doctest/doctest.h>

#include <atomic>
#include <thread>

#include "duractor/actors/client.h"
#include "duractor/actors/host.h"
#include "duractor/store/lmdb_store.h"
#include "tests/support/host_fixture.h"

namespace duractor {
namespace {

using namespace std::chrono_literals;
using testing::eventually;
using testing::start_host;
using testing::TempDir;
using testing::test_host_options;

const Activity<int, int> Reserve{"Reserve"};
const Activity<int, int> Release{"Release"};
const Activity<int, int> Linger{"Linger"};
const Orchestration<int, int> Eager{"Eager", 1};
const Orchestration<int, std::string> Compensates{"Compensates", 1};
const Orchestration<int, int> Drops{"Drops", 1};

std::size_t count_kind(const std::vector<HistoryEvent>& history, EventKind kind) {
  return static_cast<std::size_t>(std::count_if(
      history.begin(), history.end(), [&](const HistoryEvent& e) { return e.kind() == kind; }));
}

}  // namespace

TEST_SUITE("runtime: cancel before the start, cancel once, dropped work") {
  TEST_CASE(
      "a cancel accepted before the first turn ends the instance without running any of its code") {
    std::atomic<int> body_runs{0};
    std::atomic<int> reserves{0};
    Registry r;
    r.add(Reserve, [&](ActivityContext&, int x) {
      ++reserves;
      return x;
    });
    r.add(Eager, [&](OrchestrationContext& ctx, int n) -> Task<int> {
      ++body_runs;
      co_return co_await ctx.call(Reserve, n);
    });
    bool terminate = false;
    SUBCASE("cancel") {
      terminate = false;
    }
    SUBCASE("terminate") {
      terminate = true;
    }
    TempDir dir;
    auto options = test_host_options(dir.sub("store"));
    {
      // Start and cancel are both accepted (durable) before any runtime runs a turn.
      auto store = LmdbStore::open(options.lmdb);
      REQUIRE_MESSAGE(store, (store ? "" : store.error().to_string()));
      REQUIRE((*store)->create_instance(NewInstance{"early", "Eager", 1, encode(5)}));
      REQUIRE((*store)->enqueue("early", message::Cancel{"not wanted after all", terminate}));
    }
    auto host = start_host(r, options);
    auto client = host->client();
    auto info = client.wait("early", 20s);
    REQUIRE_MESSAGE(info, (info ? "" : info.error().to_string()));
    CHECK(info->status == (terminate ? InstanceStatus::kTerminated : InstanceStatus::kCancelled));
    REQUIRE(info->failure);
    CHECK(info->failure->message == "not wanted after all");
    CHECK(body_runs == 0);
    CHECK(reserves == 0);
    auto history = client.history("early");
    REQUIRE(history);
    REQUIRE(history->size() == 3);  // started, the cancel, cancelled
    CHECK((*history)[1].kind() == EventKind::kCancelRequested);
    CHECK((*history)[2].kind() == EventKind::kExecutionCancelled);
    CHECK(count_kind(*history, EventKind::kActivityScheduled) == 0);
  }

  TEST_CASE("a second cancel while the instance compensates does not cancel the compensation") {
    std::atomic<int> released{0};
    std::atomic<bool> release_running{false};
    std::atomic<bool> second_cancel_sent{false};
    Registry r;
    r.add(Reserve, [](ActivityContext&, int x) { return x; });
    // The compensation waits until the second cancel has been accepted, and would see it
    // through its token if the runtime forwarded it.
    r.add(Release, [&](ActivityContext& ctx, int x) {
      release_running = true;
      auto deadline = std::chrono::steady_clock::now() + 10s;
      while (!second_cancel_sent && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(2ms);
      }
      std::this_thread::sleep_for(200ms);  // time for a cancellation to reach the token
      ctx.cancellation().throw_if_cancelled();
      ++released;
      return x;
    });
    r.add(Compensates, [](OrchestrationContext& ctx, int n) -> Task<std::string> {
      int reservation = co_await ctx.call(Reserve, n);
      std::optional<Cancelled> cancelled;
      try {
        co_await ctx.wait_event<int>("never");
      } catch (const Cancelled& e) {
        cancelled = e;
      }
      co_await ctx.call(Release, reservation);
      co_return "released after: " + cancelled->reason();
    });
    TempDir dir;
    auto host = start_host(r, test_host_options(dir.sub("store")));
    auto client = host->client();
    REQUIRE(client.start(Compensates, "saga", 3));
    REQUIRE(eventually([&] {
      auto h = client.history("saga");
      return h && count_kind(*h, EventKind::kActivityCompleted) == 1;
    }));
    REQUIRE(client.cancel("saga", "first"));
    REQUIRE(eventually([&] { return release_running.load(); }));
    REQUIRE(client.cancel("saga", "second"));
    second_cancel_sent = true;
    auto out = Compensates.wait(client, "saga", 20s);
    REQUIRE_MESSAGE(out, (out ? "" : out.error().to_string()));
    CHECK(*out == "released after: first");
    CHECK(released == 1);
    auto history = client.history("saga");
    REQUIRE(history);
    CHECK(count_kind(*history, EventKind::kCancelRequested) == 2);
    CHECK(count_kind(*history, EventKind::kActivityCancelRequested) == 0);
  }

  TEST_CASE("an activity whose future the code dropped is cancelled through its token") {
    std::atomic<int> ran_to_the_end{0};
    std::atomic<int> stopped_early{0};
    Registry r;
    r.add(Linger, [&](ActivityContext& ctx, int x) {
      auto deadline = std::chrono::steady_clock::now() + 3s;
      while (std::chrono::steady_clock::now() < deadline) {
        if (ctx.cancelled()) {
          ++stopped_early;
          ctx.cancellation().throw_if_cancelled();
        }
        std::this_thread::sleep_for(2ms);
      }
      ++ran_to_the_end;
      return x;
    });
    r.add(Drops, [](OrchestrationContext& ctx, int n) -> Task<int> {
      { auto unused = ctx.call(Linger, n); }  // never awaited
      co_return co_await ctx.wait_event<int>("go");
    });
    TempDir dir;
    auto host = start_host(r, test_host_options(dir.sub("store")));
    auto client = host->client();
    REQUIRE(client.start(Drops, "drops", 1));
    // The work item is gone once the activity has stopped (or was stopped before it ran).
    REQUIRE(eventually([&] {
      auto h = client.history("drops");
      return h && count_kind(*h, EventKind::kActivityCancelRequested) == 1 &&
             host->queued_activities() == 0;
    }));
    REQUIRE(client.raise("drops", "go", 8));
    auto out = Drops.wait(client, "drops", 20s);
    REQUIRE_MESSAGE(out, (out ? "" : out.error().to_string()));
    CHECK(*out == 8);
    CHECK(ran_to_the_end == 0);
    auto history = client.history("drops");
    REQUIRE(history);
    // The cancelled activity's result is not part of the history.
    CHECK(count_kind(*history, EventKind::kActivityCompleted) == 0);
    CHECK(count_kind(*history, EventKind::kActivityFailed) == 0);
  }
}

}  // namespace duractor
