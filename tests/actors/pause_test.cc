// Pause and resume through the real runtime (actors, activity workers, timer service, an
// LMDB directory): a paused instance takes no turns while events, timers and activity
// results wait for it, takes them in their order when resumed, stays paused across a
// restart of its host, can be terminated while paused, and bad requests change nothing.

#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <thread>

#include "duractor/pubsub/broker.h"
#include "tests/support/runtime_fixture.h"

namespace duractor {
namespace {

using namespace std::chrono_literals;
using testing::eventually;
using testing::start_host;
using testing::test_host_options;
using testing::runtime_fixture::Runtime;

const Orchestration<int, std::string> Collect{"Collect", 1};
const Orchestration<int, int> Waits{"Waits", 1};
const Orchestration<int, int> CallsGate{"CallsGate", 1};
const Orchestration<int, int> Loops{"Loops", 1};
const Activity<int, int> Gate{"Gate"};

std::atomic<int> collect_runs{0};
std::atomic<bool> gate_open{false};
std::atomic<int> gate_runs{0};

// Collect: a timer and two events; the events in the order they are raised.
void add_pause_orchestrations(Registry& r) {
  r.add(Collect, [](OrchestrationContext& ctx, int) -> Task<std::string> {
    ++collect_runs;
    auto timer = ctx.timer(1h);
    auto a = co_await ctx.wait_event<std::string>("A");
    auto b = co_await ctx.wait_event<std::string>("B");
    co_await timer;
    co_return a + b;
  });
  r.add(Waits, [](OrchestrationContext& ctx, int x) -> Task<int> {
    co_return x + co_await ctx.wait_event<int>("Go");
  });
  r.add(Gate, [](ActivityContext&, int x) {
    ++gate_runs;
    while (!gate_open) std::this_thread::sleep_for(2ms);
    return x * 10;
  });
  // Loops: each Go event continues as new with the next number.
  r.add(Loops, [](OrchestrationContext& ctx, int x) -> Task<int> {
    co_await ctx.wait_event<int>("Go");
    co_await ctx.continue_as_new(x + 1);
    co_return x;
  });
  r.add(CallsGate, [](OrchestrationContext& ctx, int x) -> Task<int> {
    co_return co_await ctx.call(Gate, x);
  });
}

InstanceStatus status_of(Client& client, const InstanceId& id) {
  auto info = client.status(id);
  REQUIRE_MESSAGE(info, (info ? "" : info.error().to_string()));
  return info->status;
}

bool becomes(Client& client, const InstanceId& id, InstanceStatus status) {
  return eventually([&] { return status_of(client, id) == status; });
}

std::size_t history_size(Client& client, const InstanceId& id) {
  auto history = client.history(id);
  REQUIRE_MESSAGE(history, (history ? "" : history.error().to_string()));
  return history->size();
}

// Where in `history` the first event of `kind` is (its id), 0 if none.
EventId position(const std::vector<HistoryEvent>& history, EventKind kind,
                 std::string_view event_name = {}) {
  for (const auto& e : history) {
    if (e.kind() != kind) continue;
    const auto* raised = std::get_if<event::EventRaised>(&e.body);
    if (!event_name.empty() && (raised == nullptr || raised->name != event_name)) continue;
    return e.id;
  }
  return 0;
}

// Long enough for a paused instance that wrongly took a turn to have committed it.
constexpr auto kSettle = 300ms;

}  // namespace

TEST_SUITE("runtime: pause and resume") {
  TEST_CASE("a paused instance takes nothing until resumed, then events and timer in order") {
    ManualClock clock;
    Runtime rt(&clock, add_pause_orchestrations);
    auto client = rt.client();
    std::mutex mutex;
    std::vector<LifecycleKind> seen;
    auto subscription = rt.host->broker().lifecycle().subscribe(
        LifecycleFilter{{}, std::nullopt, InstanceId("c")}, [&](const LifecycleEvent& e) {
          std::lock_guard lock(mutex);
          seen.push_back(e.kind);
        });
    collect_runs = 0;
    REQUIRE(client.start(Collect, "c", 0));
    REQUIRE(eventually([&] { return rt.host->store().stats()->timers == 1; }));
    REQUIRE(eventually([&] { return history_size(client, "c") == 2; }));  // started, timer

    REQUIRE(client.pause("c", "maintenance window"));
    REQUIRE(becomes(client, "c", InstanceStatus::kPaused));
    auto before = history_size(client, "c");
    REQUIRE(client.raise("c", "A", std::string("a")));
    REQUIRE(client.raise("c", "B", std::string("b")));
    clock.advance(2h);
    rt.host->poke_timers();
    std::this_thread::sleep_for(kSettle);
    CHECK(status_of(client, "c") == InstanceStatus::kPaused);
    CHECK(history_size(client, "c") == before);
    // Both events wait in the inbox, and the due timer too: fired in the store, so that a
    // restart would not lose it.
    CHECK(rt.host->store().read_inbox("c")->size() == 3);
    CHECK(rt.host->store().stats()->timers == 0);

    REQUIRE(client.resume("c"));
    auto out = client.wait_output<std::string>("c", 20s);
    REQUIRE_MESSAGE(out, (out ? "" : out.error().to_string()));
    CHECK(*out == "ab");
    auto history = client.history("c");
    REQUIRE(history);
    auto a = position(*history, EventKind::kEventRaised, "A");
    auto b = position(*history, EventKind::kEventRaised, "B");
    auto fired = position(*history, EventKind::kTimerFired);
    CHECK(a > before);
    CHECK(a < b);
    CHECK(b < fired);
    CHECK(collect_runs == 1);  // the live coroutine went on: no replay
    REQUIRE(eventually([&] {
      std::lock_guard lock(mutex);
      return std::find(seen.begin(), seen.end(), LifecycleKind::kCompleted) != seen.end();
    }));
    std::lock_guard lock(mutex);
    CHECK(seen == std::vector<LifecycleKind>{LifecycleKind::kStarted, LifecycleKind::kPaused,
                                             LifecycleKind::kResumed, LifecycleKind::kCompleted});
  }

  TEST_CASE("a pause survives a restart of the host, and holds the start of a pending instance") {
    Runtime rt(nullptr, add_pause_orchestrations);
    auto client = rt.client();
    REQUIRE(client.start(Waits, "w", 1));
    REQUIRE(eventually([&] { return history_size(client, "w") == 1; }));
    REQUIRE(client.pause("w"));
    REQUIRE(becomes(client, "w", InstanceStatus::kPaused));
    REQUIRE(client.raise("w", "Go", 41));
    rt.host->stop();
    rt.host.reset();

    collect_runs = 0;
    auto options = test_host_options(rt.dir.sub("store"));
    {
      // A new instance paused before any host ran its first turn.
      auto store = LmdbStore::open(options.lmdb);
      REQUIRE_MESSAGE(store, (store ? "" : store.error().to_string()));
      REQUIRE((*store)->create_instance(NewInstance{"early", "Collect", 1, encode(0)}));
      REQUIRE((*store)->enqueue("early", message::Pause{"not yet"}));
    }
    rt.host = start_host(rt.registry, options);
    client = rt.client();
    REQUIRE(becomes(client, "early", InstanceStatus::kPaused));
    std::this_thread::sleep_for(kSettle);
    CHECK(status_of(client, "w") == InstanceStatus::kPaused);
    CHECK(history_size(client, "w") == 1);
    CHECK(status_of(client, "early") == InstanceStatus::kPaused);
    CHECK(collect_runs == 0);
    CHECK(client.history("early")->empty());

    REQUIRE(client.resume("w"));
    auto out = client.wait_output<int>("w", 20s);
    REQUIRE_MESSAGE(out, (out ? "" : out.error().to_string()));
    CHECK(*out == 42);
    REQUIRE(client.resume("early"));
    REQUIRE(becomes(client, "early", InstanceStatus::kRunning));
    CHECK(eventually([&] { return collect_runs == 1; }));
  }

  TEST_CASE("an activity result that arrives while the instance is paused waits for the resume") {
    gate_open = false;
    Runtime rt(nullptr, add_pause_orchestrations);
    auto client = rt.client();
    REQUIRE(client.start(CallsGate, "g", 4));
    REQUIRE(eventually([&] { return rt.host->queued_activities() == 1; }));
    REQUIRE(client.pause("g", "hold the result"));
    REQUIRE(becomes(client, "g", InstanceStatus::kPaused));
    auto before = history_size(client, "g");
    gate_open = true;  // the activity returns now; its result must wait
    REQUIRE(eventually([&] { return rt.host->queued_activities() == 0; }));  // it returned
    std::this_thread::sleep_for(kSettle);
    CHECK(status_of(client, "g") == InstanceStatus::kPaused);
    CHECK(history_size(client, "g") == before);
    REQUIRE(client.resume("g"));
    auto out = client.wait_output<int>("g", 20s);
    REQUIRE_MESSAGE(out, (out ? "" : out.error().to_string()));
    CHECK(*out == 40);
  }

  TEST_CASE(
      "a result that arrives while paused waits in the durable inbox: a restart neither loses "
      "it nor runs the activity again") {
    gate_open = false;
    gate_runs = 0;
    Runtime rt(nullptr, add_pause_orchestrations);
    auto client = rt.client();
    REQUIRE(client.start(CallsGate, "k", 5));
    REQUIRE(eventually([&] { return rt.host->queued_activities() == 1; }));
    REQUIRE(client.pause("k"));
    REQUIRE(becomes(client, "k", InstanceStatus::kPaused));
    gate_open = true;
    // The result completes the work item and joins the inbox, behind the Pause.
    REQUIRE(eventually([&] {
      auto inbox = rt.host->store().read_inbox("k");
      auto work = rt.host->store().list_work(0, 10);
      return inbox && work && work->empty() &&
             std::any_of(inbox->begin(), inbox->end(), [](const InboxEntry& e) {
               return std::holds_alternative<message::ActivityResult>(e.message);
             });
    }));
    rt.host->stop();
    rt.host.reset();

    rt.host = start_host(rt.registry, test_host_options(rt.dir.sub("store")));
    client = rt.client();
    std::this_thread::sleep_for(kSettle);
    CHECK(status_of(client, "k") == InstanceStatus::kPaused);
    CHECK(gate_runs == 1);
    REQUIRE(client.resume("k"));
    auto out = client.wait_output<int>("k", 20s);
    REQUIRE_MESSAGE(out, (out ? "" : out.error().to_string()));
    CHECK(*out == 50);
    CHECK(gate_runs == 1);
  }

  TEST_CASE("a paused instance can be terminated at once, and a cooperative cancel waits") {
    Runtime rt(nullptr, add_pause_orchestrations);
    auto client = rt.client();
    REQUIRE(client.start(Waits, "t", 1));
    REQUIRE(eventually([&] { return history_size(client, "t") == 1; }));
    REQUIRE(client.pause("t"));
    REQUIRE(becomes(client, "t", InstanceStatus::kPaused));
    REQUIRE(client.raise("t", "Go", 1));  // waits, and is dropped once it ends

    SUBCASE("terminate") {
      std::atomic<int> terminated{0};
      auto subscription = rt.host->broker().lifecycle().subscribe(
          LifecycleFilter{{LifecycleKind::kTerminated}, std::nullopt, InstanceId("t")},
          [&](const LifecycleEvent&) { ++terminated; });
      REQUIRE(client.cancel("t", "operator ended it", true));
      auto info = client.wait("t", 20s);
      REQUIRE(info);
      CHECK(info->status == InstanceStatus::kTerminated);
      REQUIRE(info->failure);
      CHECK(info->failure->message == "operator ended it");
      CHECK(position(*client.history("t"), EventKind::kEventRaised) == 0);
      CHECK(client.resume("t").error().code == ErrorCode::kFailedPrecondition);
      CHECK(eventually([&] { return terminated == 1; }));
    }
    SUBCASE("cooperative cancel") {
      REQUIRE(client.cancel("t", "please stop"));
      std::this_thread::sleep_for(kSettle);
      CHECK(status_of(client, "t") == InstanceStatus::kPaused);
      REQUIRE(client.resume("t"));
      auto info = client.wait("t", 20s);
      REQUIRE(info);
      // The event came first: the code completes before it sees the cancel.
      CHECK(info->status == InstanceStatus::kCompleted);
    }
  }

  TEST_CASE(
      "a pause taken by the turn that continues as new holds the next start, and a "
      "terminate still ends it at once") {
    Runtime rt(nullptr, add_pause_orchestrations);
    auto client = rt.client();
    REQUIRE(client.start(Loops, "l", 1));
    REQUIRE(eventually([&] { return history_size(client, "l") == 1; }));
    rt.host->stop();
    rt.host.reset();
    auto options = test_host_options(rt.dir.sub("store"));
    {
      // Both wait for the next host: its first turn takes the event (and continues as
      // new) and the pause together.
      auto store = LmdbStore::open(options.lmdb);
      REQUIRE_MESSAGE(store, (store ? "" : store.error().to_string()));
      REQUIRE((*store)->enqueue("l", message::Event{"Go", encode(0)}));
      REQUIRE((*store)->enqueue("l", message::Pause{"hold the next execution"}));
    }
    rt.host = start_host(rt.registry, options);
    client = rt.client();
    REQUIRE(becomes(client, "l", InstanceStatus::kPaused));
    std::this_thread::sleep_for(kSettle);
    auto info = client.status("l");
    REQUIRE(info);
    CHECK(info->execution == 1);  // the next execution's start waits with the pause
    CHECK(status_of(client, "l") == InstanceStatus::kPaused);

    REQUIRE(client.cancel("l", "operator ended it", true));
    auto ended = client.wait("l", 20s);
    REQUIRE_MESSAGE(ended, (ended ? "" : ended.error().to_string()));
    CHECK(ended->status == InstanceStatus::kTerminated);
  }

  TEST_CASE("pausing or resuming at the wrong time is refused and changes nothing") {
    Runtime rt(nullptr, add_pause_orchestrations);
    auto client = rt.client();
    REQUIRE(client.start(Waits, "r", 1));
    REQUIRE(eventually([&] { return history_size(client, "r") == 1; }));
    auto& store = rt.host->store();

    auto unknown = client.pause("nobody");
    CHECK(unknown.error().code == ErrorCode::kNotFound);
    CHECK(client.resume("nobody").error().code == ErrorCode::kNotFound);

    auto running = client.resume("r");
    REQUIRE_FALSE(running);
    CHECK(running.error().code == ErrorCode::kFailedPrecondition);
    CHECK(running.error().message == "instance 'r' is not paused (it is running)");
    CHECK(store.read_inbox("r")->empty());

    REQUIRE(client.pause("r"));
    auto twice = client.pause("r");  // its pause may not be taken yet: refused all the same
    REQUIRE_FALSE(twice);
    CHECK(twice.error().code == ErrorCode::kFailedPrecondition);
    CHECK(twice.error().message.find("is already paused") != std::string::npos);
    REQUIRE(becomes(client, "r", InstanceStatus::kPaused));
    CHECK(client.pause("r").error().code == ErrorCode::kFailedPrecondition);
    CHECK(store.read_inbox("r")->empty());

    REQUIRE(client.resume("r"));
    REQUIRE(client.raise("r", "Go", 1));
    REQUIRE(client.wait("r", 20s));
    auto finished = client.pause("r");
    REQUIRE_FALSE(finished);
    CHECK(finished.error().code == ErrorCode::kFailedPrecondition);
    CHECK(finished.error().message == "instance 'r' has completed; it cannot be paused");
    CHECK(client.resume("r").error().message == "instance 'r' has completed; it cannot be resumed");
    CHECK(store.read_inbox("r")->empty());
    CHECK(status_of(client, "r") == InstanceStatus::kCompleted);
  }
}

}  // namespace duractor
