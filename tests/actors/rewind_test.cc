// Rewind and fork through the real runtime (actors, activity workers, an LMDB directory) and
// the Client: a failed instance rewound runs again only what failed and completes; a failed
// child is rewound with its parent; a fork replays the first events of a finished instance
// and runs on from there while the original stays as it was; bad requests are refused.

#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <mutex>

#include "duractor/pubsub/broker.h"

#include "tests/support/runtime_fixture.h"

namespace duractor {
namespace {

using namespace std::chrono_literals;
using testing::eventually;
using testing::runtime_fixture::Runtime;

const Activity<int, int> StepOne{"StepOne"};
const Activity<int, int> StepTwo{"StepTwo"};
const Activity<int, int> Unreliable{"Unreliable"};
const Orchestration<int, int> Steps{"Steps", 1};
const Orchestration<int, int> StepsParent{"StepsParent", 1};

std::atomic<int> one_calls{0}, two_calls{0}, unreliable_calls{0};
std::atomic<int> failures_left{0};  // Unreliable fails while this is above 0

void add_steps(Registry& r) {
  one_calls = two_calls = unreliable_calls = 0;
  r.add(StepOne, [](ActivityContext&, int x) {
    ++one_calls;
    return x + 1;
  });
  r.add(StepTwo, [](ActivityContext&, int x) {
    ++two_calls;
    return x * 10;
  });
  r.add(Unreliable, [](ActivityContext&, int x) {
    ++unreliable_calls;
    if (failures_left-- > 0) throw std::runtime_error("the service is down");
    return x + 5;
  });
  // StepOne, StepTwo, then Unreliable (no retry policy: one failure fails the instance).
  r.add(Steps, [](OrchestrationContext& ctx, int x) -> Task<int> {
    int a = co_await ctx.call(StepOne, x);
    int b = co_await ctx.call(StepTwo, a);
    co_return co_await ctx.call(Unreliable, b);
  });
  r.add(StepsParent, [](OrchestrationContext& ctx, int x) -> Task<int> {
    int a = co_await ctx.call(StepOne, x);
    co_return co_await ctx.call(Steps, a);
  });
}

std::size_t count(const std::vector<HistoryEvent>& history, EventKind kind) {
  return static_cast<std::size_t>(std::count_if(
      history.begin(), history.end(), [&](const HistoryEvent& e) { return e.kind() == kind; }));
}

// Lifecycle notifications of the given kinds, as they arrive.
struct Heard {
  std::mutex mutex;
  std::vector<LifecycleEvent> events;
  std::shared_ptr<LifecycleSubscription> subscription;

  Heard(Host& host, std::vector<LifecycleKind> kinds)
      : subscription(host.broker().lifecycle().subscribe(
            LifecycleFilter{std::move(kinds), std::nullopt, std::nullopt},
            [this](const LifecycleEvent& e) {
              std::lock_guard lock(mutex);
              events.push_back(e);
            })) {}

  std::vector<std::pair<LifecycleKind, InstanceId>> kinds() {
    std::lock_guard lock(mutex);
    std::vector<std::pair<LifecycleKind, InstanceId>> out;
    for (const auto& e : events) out.emplace_back(e.kind, e.instance);
    return out;
  }
};

#define REQUIRE_OK(expr)                                                   \
  do {                                                                     \
    auto&& ok_ = (expr);                                                   \
    REQUIRE_MESSAGE(ok_, (ok_ ? std::string() : ok_.error().to_string())); \
  } while (false)

TEST_SUITE("runtime: rewind and fork") {
  TEST_CASE("a rewound instance runs again only the activity that failed, and completes") {
    failures_left = 1;
    Runtime rt(nullptr, add_steps);
    auto client = rt.client();
    REQUIRE_OK(client.start(Steps, "steps", 1));
    auto failed = client.wait("steps", 20s);
    REQUIRE_OK(failed);
    REQUIRE(failed->status == InstanceStatus::kFailed);
    CHECK(failed->failure->message == "the service is down");
    CHECK(one_calls == 1);
    CHECK(two_calls == 1);
    CHECK(unreliable_calls == 1);

    auto rewound = client.rewind("steps");
    REQUIRE_OK(rewound);
    CHECK(rewound->kept == 6);  // started, StepOne and StepTwo with results, Unreliable scheduled
    CHECK(rewound->dropped == 2);
    REQUIRE(rewound->work.size() == 1);
    CHECK(rewound->work[0].activity == "Unreliable");
    auto out = client.wait_output<int>("steps", 20s);
    REQUIRE_OK(out);
    CHECK(*out == (1 + 1) * 10 + 5);
    CHECK(one_calls == 1);  // what succeeded is kept, not run again
    CHECK(two_calls == 1);
    CHECK(unreliable_calls == 2);
    auto history = client.history("steps");
    REQUIRE_OK(history);
    CHECK(count(*history, EventKind::kActivityFailed) == 0);
    CHECK(count(*history, EventKind::kActivityScheduled) == 3);
    CHECK(history->back().kind() == EventKind::kExecutionCompleted);

    // Only a failed instance can be rewound; nothing changes otherwise.
    auto again = client.rewind("steps");
    REQUIRE_FALSE(again);
    CHECK(again.error().code == ErrorCode::kFailedPrecondition);
    CHECK(again.error().message.find("it is completed") != std::string::npos);
    CHECK(client.history("steps")->size() == history->size());
    CHECK(client.rewind("ghost").error().code == ErrorCode::kNotFound);
  }

  TEST_CASE("rewinding a parent rewinds the child that failed it") {
    failures_left = 1;
    Runtime rt(nullptr, add_steps);
    auto client = rt.client();
    REQUIRE_OK(client.start(StepsParent, "parent", 1));
    auto failed = client.wait("parent", 20s);
    REQUIRE_OK(failed);
    REQUIRE(failed->status == InstanceStatus::kFailed);
    const InstanceId child = "parent:1:1";
    REQUIRE(eventually([&] { return client.status(child)->status == InstanceStatus::kFailed; }));
    CHECK(one_calls == 2);  // the parent's and the child's

    Heard heard(*rt.host, {LifecycleKind::kRewound, LifecycleKind::kCompleted});
    auto rewound = client.rewind("parent");
    REQUIRE_OK(rewound);
    CHECK(rewound->rewound == std::vector<InstanceId>{child, "parent"});
    auto out = client.wait_output<int>("parent", 20s);
    REQUIRE_OK(out);
    // Each rewound instance is told before it runs again (and completes).
    REQUIRE(eventually([&] { return heard.kinds().size() == 4; }));
    auto kinds = heard.kinds();
    CHECK(kinds[0] == std::pair{LifecycleKind::kRewound, child});
    CHECK(kinds[1] == std::pair{LifecycleKind::kRewound, InstanceId("parent")});
    CHECK(kinds.back() == std::pair{LifecycleKind::kCompleted, InstanceId("parent")});
    {
      std::lock_guard lock(heard.mutex);
      CHECK(heard.events[1].orchestration == "StepsParent");
      CHECK(heard.events[1].execution == 1);
    }
    CHECK(*out == (1 + 1 + 1) * 10 + 5);
    CHECK(client.status(child)->status == InstanceStatus::kCompleted);
    CHECK(one_calls == 2);
    CHECK(two_calls == 1);
    CHECK(unreliable_calls == 2);
  }

  TEST_CASE("a fork replays the first events of an instance and runs on, the original untouched") {
    failures_left = 0;
    Runtime rt(nullptr, add_steps);
    auto client = rt.client();
    REQUIRE_OK(client.start(Steps, "original", 2));
    auto done = client.wait_output<int>("original", 20s);
    REQUIRE_OK(done);
    CHECK(*done == 35);
    auto original_info = client.status("original");
    auto original_history = client.history("original");
    REQUIRE_OK(original_history);
    REQUIRE(original_history->size() == 8);

    // Step 4: StepOne done, StepTwo scheduled: StepTwo and Unreliable run again.
    Heard heard(*rt.host, {LifecycleKind::kForked, LifecycleKind::kStarted});
    auto forked = client.fork("original", 4, "copy");
    REQUIRE_OK(forked);
    {
      // Told once, with where it came from; it does not start again (its start is copied).
      // Notifications are delivered on the hub's thread: wait for the first.
      REQUIRE(eventually([&] { return !heard.kinds().empty(); }));
      auto kinds = heard.kinds();
      REQUIRE(kinds.size() == 1);
      CHECK(kinds[0] == std::pair{LifecycleKind::kForked, InstanceId("copy")});
      std::lock_guard lock(heard.mutex);
      CHECK(heard.events[0].forked_from == ForkOrigin{"original", 1, 4});
      CHECK(heard.events[0].orchestration == "Steps");
    }
    CHECK(forked->origin == ForkOrigin{"original", 1, 4});
    REQUIRE(forked->work.size() == 1);
    CHECK(forked->work[0].activity == "StepTwo");
    auto out = client.wait_output<int>("copy", 20s);
    REQUIRE_OK(out);
    CHECK(*out == 35);
    CHECK(heard.kinds().size() == 1);  // still no kStarted after it ran on and completed
    CHECK(one_calls == 1);             // replayed from the copied history, not run
    CHECK(two_calls == 2);
    CHECK(unreliable_calls == 2);
    auto copy = client.status("copy");
    REQUIRE_OK(copy);
    REQUIRE(copy->forked_from);
    CHECK(*copy->forked_from == ForkOrigin{"original", 1, 4});
    auto copy_history = client.history("copy");
    REQUIRE_OK(copy_history);
    CHECK(copy_history->size() == 8);
    CHECK(std::equal(copy_history->begin(), copy_history->begin() + 4, original_history->begin()));
    // The original is as it was.
    CHECK(*client.history("original") == *original_history);
    CHECK(*client.status("original") == *original_info);

    // Refusals: inside a step, out of range, a taken id, an unknown source.
    auto inside = client.fork("original", 5, "copy2");
    REQUIRE_FALSE(inside);
    CHECK(inside.error().code == ErrorCode::kInvalidArgument);
    CHECK(inside.error().message.find("fork at 4 or 6 instead") != std::string::npos);
    auto past = client.fork("original", 9, "copy2");
    REQUIRE_FALSE(past);
    CHECK(past.error().code == ErrorCode::kInvalidArgument);
    CHECK(past.error().message.find("step 9 of execution 1: the execution has 8 events") !=
          std::string::npos);
    CHECK(client.fork("original", 4, "copy").error().code == ErrorCode::kAlreadyExists);
    CHECK(client.fork("ghost", 4, "copy2").error().code == ErrorCode::kNotFound);
    CHECK(client.status("copy2").error().code == ErrorCode::kNotFound);
  }
}

}  // namespace
}  // namespace duractor
