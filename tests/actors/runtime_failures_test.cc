// The orchestration API end to end through the real runtime (actors, activity workers, timer
// service) on a real LMDB directory: failures of the runtime itself: activity timeouts, commits
// that fail (and are retried or fail the instance), histories that cannot be replayed or read.

#include <doctest/doctest.h>

#include <atomic>
#include <thread>

#include "tests/support/runtime_fixture.h"

namespace duractor {

using namespace std::chrono_literals;
using namespace testing::runtime_fixture;
using testing::eventually;
using testing::start_host;
using testing::TempDir;
using testing::test_host_options;

TEST_SUITE("runtime: failures of the runtime") {
  TEST_CASE("an activity that runs past the timeout is cancelled and fails with ActivityTimedOut") {
    TempDir dir;
    Registry r;
    add_common(r);
    std::atomic<bool> token_seen{false};
    r.add(Slow, [&](ActivityContext& ctx, int x) {
      for (int i = 0; i < 400 && !ctx.cancelled(); ++i) std::this_thread::sleep_for(5ms);
      token_seen = ctx.cancelled();
      return x;
    });
    r.add(Orchestration<int, std::string>{"Patient", 1},
          [](OrchestrationContext& ctx, int) -> Task<std::string> {
            try {
              co_await ctx.call(Slow, 1);
            } catch (const ActivityFailed& e) {
              co_return e.failure().type;
            }
            co_return std::string("finished?");
          });
    auto options = test_host_options(dir.sub("store"));
    options.activity_timeout = 100ms;
    auto host = start_host(r, options);
    auto client = host->client();
    auto out = Orchestration<int, std::string>{"Patient", 1}.run(client, "patient", 0, 20s);
    REQUIRE(out);
    CHECK(*out == "duractor::ActivityTimedOut");
    CHECK(eventually([&] { return token_seen.load(); }));
  }

  TEST_CASE("a turn whose commit fails is retried with backoff and then succeeds") {
    TempDir dir;
    Registry r;
    add_common(r);
    std::atomic<int> failures_left{3};
    auto options = test_host_options(dir.sub("store"));
    options.lmdb.fault_injector =
        failing_history_commits(failures_left, ErrorCode::kIo, "injected I/O error");
    auto host = start_host(r, options);
    auto client = host->client();
    auto out = Hello.run(client, "bumpy", "b", 20s);
    REQUIRE_MESSAGE(out, (out ? "" : out.error().to_string()));
    CHECK(*out == "Hello, b");
    CHECK(failures_left == 0);
  }

  TEST_CASE("a turn that keeps failing fails the instance with the reason after max attempts") {
    TempDir dir;
    Registry r;
    add_common(r);
    auto options = test_host_options(dir.sub("store"));
    options.max_turn_attempts = 3;
    std::atomic<int> failures_left{3};  // exactly the allowed attempts; then the failure commits
    options.lmdb.fault_injector =
        failing_history_commits(failures_left, ErrorCode::kConflict, "disk on fire");
    auto host = start_host(r, options);
    auto client = host->client();
    REQUIRE(client.start(Hello, "doomed", "d"));
    auto info = client.wait("doomed", 20s);
    REQUIRE(info);
    CHECK(info->status == InstanceStatus::kFailed);
    CHECK(info->failure->category == ErrorCategory::kInfrastructure);
    CHECK(info->failure->type == "duractor::TurnFailed");
    CHECK(info->failure->message.find("disk on fire") != std::string::npos);
  }

  TEST_CASE(
      "a turn the store cannot take for now waits for it beyond max attempts, and the instance "
      "completes") {
    for (auto code : {ErrorCode::kStoreFull, ErrorCode::kIo}) {
      CAPTURE(to_string(code));
      TempDir dir;
      Registry r;
      add_common(r);
      auto options = test_host_options(dir.sub("store"));
      options.max_turn_attempts = 2;
      options.turn_retry_backoff = 1ms;
      std::atomic<int> failures_left{8};  // four times the attempts a conflict would get
      options.lmdb.fault_injector = failing_history_commits(failures_left, code, "no room for now");
      auto host = start_host(r, options);
      auto client = host->client();
      auto out = Hello.run(client, "patient", "p", 30s);
      REQUIRE_MESSAGE(out, (out ? "" : out.error().to_string()));
      CHECK(*out == "Hello, p");
      CHECK(failures_left == 0);
    }
  }

  TEST_CASE("a turn failure that retrying cannot fix fails the instance at once with its cause") {
    TempDir dir;
    Registry r;
    add_common(r);
    auto options = test_host_options(dir.sub("store"));
    options.max_turn_attempts = 5;
    std::atomic<int> injected{0};
    options.lmdb.fault_injector = [&](std::string_view step) -> Status {
      if (step == "commit_turn.history" && injected == 0) {
        ++injected;
        return fail(ErrorCode::kCorrupt, "injected: a page of the history table is damaged");
      }
      return {};
    };
    auto host = start_host(r, options);
    auto client = host->client();
    REQUIRE(client.start(Hello, "broken", "b"));
    auto info = client.wait("broken", 20s);
    REQUIRE(info);
    CHECK(info->status == InstanceStatus::kFailed);  // not retried into success
    REQUIRE(info->failure);
    CHECK(info->failure->type == "duractor::TurnFailed");
    CHECK(info->failure->category == ErrorCategory::kInfrastructure);
    CHECK(info->failure->message ==
          "a turn failed and cannot succeed by retrying: corrupt: injected: a page of the history "
          "table is damaged");
    CHECK(injected == 1);
    auto history = client.history("broken");
    REQUIRE(history);
    CHECK(history->back().kind() == EventKind::kExecutionFailed);
  }

  TEST_CASE(
      "an instance whose history the engine cannot replay fails durably instead of staying "
      "running") {
    TempDir dir;
    auto path = dir.sub("store");
    {
      // A history that breaks the engine's rules: #2 completes an operation never scheduled.
      LmdbOptions store_options;
      store_options.path = path;
      store_options.sync = false;
      auto store = LmdbStore::open(store_options);
      REQUIRE(store);
      REQUIRE(
          (*store)->create_instance(NewInstance{"mangled", "Hello", 1, encode(std::string("m"))}));
      auto inbox = (*store)->read_inbox("mangled");
      REQUIRE(inbox);
      auto lock = (*store)->lock_instance("mangled", 10s);
      REQUIRE(lock);
      TurnCommit turn;
      turn.lock = *lock;
      turn.execution = 1;
      auto now = SystemClock::instance().now();
      turn.events.push_back(HistoryEvent{
          1, now, event::ExecutionStarted{"Hello", 1, encode(std::string("m")), std::nullopt, {}}});
      turn.events.push_back(
          HistoryEvent{2, now, event::ActivityCompleted{7, encode(std::string("?"))}});
      turn.consumed.push_back(inbox->front().seq);
      turn.update.status = InstanceStatus::kRunning;
      turn.update.name = "Hello";
      turn.update.version = 1;
      REQUIRE((*store)->commit_turn(turn));
    }
    Registry r;
    add_common(r);
    auto options = test_host_options(path);
    options.max_turn_attempts = 3;
    auto host = start_host(r, options);
    auto client = host->client();
    REQUIRE(client.raise("mangled", "Poke", 1));  // wakes it: the load fails
    auto info = client.wait("mangled", 20s);
    REQUIRE(info);
    CHECK(info->status == InstanceStatus::kFailed);
    REQUIRE(info->failure);
    CHECK(info->failure->type == "duractor::TurnFailed");
    CHECK(info->failure->message.find("is corrupt at event #2") != std::string::npos);
    auto history = client.history("mangled");
    REQUIRE(history);
    REQUIRE(history->size() == 3);
    CHECK(history->back().kind() == EventKind::kExecutionFailed);
  }

  TEST_CASE(
      "an instance whose history cannot be read is failed from its metadata, and its parent hears "
      "of it") {
    TempDir dir;
    Registry r;
    add_common(r);
    const Orchestration<int, int> Sleepy{"Sleepy", 1};
    const Orchestration<int, std::string> Delegator{"Delegator", 1};
    r.add(Sleepy, [](OrchestrationContext& ctx, int) -> Task<int> {
      co_return co_await ctx.wait_event<int>("go");
    });
    r.add(Delegator, [&](OrchestrationContext& ctx, int) -> Task<std::string> {
      std::optional<SubOrchestrationFailed> failed;
      try {
        co_return std::to_string(co_await ctx.call(Sleepy, 0, {"sleepy-child"}));
      } catch (const SubOrchestrationFailed& e) {
        failed = e;
      }
      co_return failed->failure().type + ": " + failed->failure().message;
    });
    auto options = test_host_options(dir.sub("store"));
    options.passivate_after = 20ms;
    std::atomic<bool> unreadable{false};
    options.lmdb.fault_injector = [&](std::string_view step) -> Status {
      if (unreadable && step == "read_latest_history:sleepy-child") {
        return fail(ErrorCode::kCorrupt, "injected: history record 3 does not decode");
      }
      return {};
    };
    auto host = start_host(r, options);
    auto client = host->client();
    REQUIRE(client.start(Delegator, "delegator", 0));
    REQUIRE(eventually([&] {
      auto child = client.status("sleepy-child");
      return child && child->status == InstanceStatus::kRunning;
    }));
    auto before = client.history("sleepy-child");
    REQUIRE(before);
    REQUIRE(eventually([&] { return host->live_instances() == 0; }));  // both passivated
    unreadable = true;
    REQUIRE(client.raise("sleepy-child", "go", 7));  // the child's new actor cannot load it
    auto out = Delegator.wait(client, "delegator", 20s);
    unreadable = false;
    REQUIRE_MESSAGE(out, (out ? "" : out.error().to_string()));
    CHECK(*out ==
          "duractor::TurnFailed: a turn failed and cannot succeed by retrying: corrupt: injected: "
          "history record 3 does not decode");
    auto child = client.status("sleepy-child");
    REQUIRE(child);
    CHECK(child->status == InstanceStatus::kFailed);
    auto after = client.history("sleepy-child");
    REQUIRE(after);
    REQUIRE(after->size() == before->size() + 1);  // appended after the last recorded event
    CHECK(after->back().kind() == EventKind::kExecutionFailed);
    CHECK(host->store().read_inbox("sleepy-child")->empty());  // the event was consumed
  }

  TEST_CASE("the typed handle helpers: status and cancel") {
    Runtime rt(nullptr, [](Registry& r) {
      r.add(Orchestration<int, int>{"Idle", 1}, [](OrchestrationContext& ctx, int) -> Task<int> {
        co_return co_await ctx.wait_event<int>("never");
      });
    });
    const Orchestration<int, int> Idle{"Idle", 1};
    auto client = rt.client();
    REQUIRE(Idle.start(client, "idle", 0));
    REQUIRE(eventually(
        [&] { return Idle.status(client, "idle")->status == InstanceStatus::kRunning; }));
    REQUIRE(Idle.cancel(client, "idle"));
    auto out = Idle.wait(client, "idle", 20s);
    REQUIRE_FALSE(out);
    CHECK(out.error().code == ErrorCode::kCancelled);
  }
}

}  // namespace duractor
