// The orchestration API through the replay engine: each capability run live turn by turn,
// then checked by replaying its history in a fresh engine.

#include <doctest/doctest.h>

#include <sstream>

#include <spdlog/sinks/ostream_sink.h>

#include "duractor/runtime/detail/replay_engine.h"
#include "tests/support/engine_harness.h"

namespace duractor {
namespace {

using namespace std::chrono_literals;
using testing::EngineHarness;

struct Order {
  std::string id;
  int quantity = 0;
  bool operator==(const Order&) const = default;
  MSGPACK_DEFINE(id, quantity)
};

const Activity<std::string, std::string> Greet{"Greet"};
const Activity<Order, int> Price{"Price"};
const Activity<int, void> Notify{"Notify"};
const Orchestration<std::string, std::string> Hello{"Hello", 1};
const Orchestration<int, int> Child{"Child", 1};

Task<std::string> hello(OrchestrationContext& ctx, std::string name) {
  auto greeting = co_await ctx.call(Greet, name);
  co_return greeting + "!";
}

}  // namespace

TEST_SUITE("orchestration API: activities") {
  TEST_CASE("a typed activity call schedules it, and its result resumes the code") {
    Registry registry;
    registry.add(Hello, hello);
    EngineHarness h(registry);
    h.start("Hello", encode(std::string("ada")));
    auto t1 = h.turn();
    CHECK(t1.started);
    REQUIRE(t1.actions.size() == 1);
    auto& s = std::get<action::ScheduleActivity>(t1.actions[0]);
    CHECK(s.name == "Greet");
    CHECK(*decode<std::string>(s.input) == "ada");
    CHECK(s.id == 2);  // ExecutionStarted is #1
    CHECK(h.engine().running());

    h.complete(s.id, encode(std::string("Hello, ada")));
    auto t2 = h.turn();
    CHECK(t2.ended);
    CHECK(h.output<std::string>() == "Hello, ada!");
    REQUIRE(h.history().size() == 4);
    CHECK(h.history()[2].kind() == EventKind::kActivityCompleted);
    CHECK(h.history()[3].kind() == EventKind::kExecutionCompleted);
    h.check_replay();
  }

  TEST_CASE("activities are called by name and carry user types and void results") {
    Registry registry;
    registry.add(Orchestration<Order, int>{"Untyped", 1},
                 [](OrchestrationContext& ctx, Order o) -> Task<int> {
                   int price = co_await ctx.call_activity<int>("Price", o);
                   co_await ctx.call(Notify, price);  // Out = void
                   co_return price;
                 });
    EngineHarness h(registry);
    h.start("Untyped", encode(Order{"o-1", 3}));
    h.turn();
    auto price = h.activity("Price");
    CHECK(*decode<Order>(std::get<action::ScheduleActivity>(h.actions()[0]).input) ==
          Order{"o-1", 3});
    h.complete(price, encode(42));
    h.turn();
    h.complete(h.activity("Notify"), encode(Unit{}));
    h.turn();
    CHECK(h.output<int>() == 42);
    h.check_replay();
  }

  TEST_CASE("a failed activity throws ActivityFailed with its message and type") {
    Registry registry;
    registry.add(Hello, [](OrchestrationContext& ctx, std::string name) -> Task<std::string> {
      try {
        co_await ctx.call(Greet, name);
        co_return std::string("no failure?");
      } catch (const ActivityFailed& e) {
        co_return e.activity() + "|" + e.failure().type + "|" + e.failure().message;
      }
    });
    EngineHarness h(registry);
    h.start("Hello", encode(std::string("x")));
    h.turn();
    h.fail(h.activity("Greet"), "card declined", "PaymentError");
    h.turn();
    CHECK(h.output<std::string>() == "Greet|PaymentError|card declined");
    h.check_replay();
  }

  TEST_CASE("an exception that escapes fails the instance with its type and message") {
    Registry registry;
    registry.add(Hello, [](OrchestrationContext& ctx, std::string name) -> Task<std::string> {
      co_await ctx.call(Greet, name);
      throw std::out_of_range("no such seat");
    });
    EngineHarness h(registry);
    h.start("Hello", encode(std::string("x")));
    h.turn();
    h.complete(h.activity("Greet"), encode(std::string("y")));
    auto t = h.turn();
    CHECK(t.ended);
    CHECK(h.failure().type == "std::out_of_range");
    CHECK(h.failure().message == "no such seat");
    CHECK(h.failure().category == ErrorCategory::kApplication);
    h.check_replay();
  }

  TEST_CASE("a result that does not decode as the expected type is a configuration error") {
    Registry registry;
    registry.add(Hello, hello);
    EngineHarness h(registry);
    h.start("Hello", encode(std::string("x")));
    h.turn();
    h.complete(h.activity("Greet"), encode(12345));  // an int where a string is expected
    h.turn();
    CHECK(h.failure().category == ErrorCategory::kConfiguration);
    CHECK(h.failure().message.find("activity 'Greet' (#2)") != std::string::npos);
    CHECK(h.failure().message.find("std::string") != std::string::npos);
  }

  TEST_CASE("an input that does not decode fails the instance with a configuration error") {
    Registry registry;
    registry.add(Hello, hello);
    EngineHarness h(registry);
    h.start("Hello", encode(3.5));
    h.turn();
    CHECK(h.failure().category == ErrorCategory::kConfiguration);
    CHECK(h.failure().message.find("the input of orchestration 'Hello'") != std::string::npos);
  }

  TEST_CASE("starting an orchestration that is not registered fails it, naming it") {
    Registry registry;
    EngineHarness h(registry);
    h.start("Nope", encode(1));
    auto t = h.turn();
    CHECK(t.ended);
    CHECK(h.failure().category == ErrorCategory::kConfiguration);
    CHECK(h.failure().message == "orchestration 'Nope' is not registered");
  }

  TEST_CASE("helpers are Tasks too: nested coroutines and their exceptions") {
    Registry registry;
    struct Helpers {
      static Task<int> twice(OrchestrationContext& ctx, Order o) {
        int a = co_await ctx.call(Price, o);
        int b = co_await ctx.call(Price, o);
        co_return a + b;
      }
      static Task<void> boom(OrchestrationContext& ctx) {
        co_await ctx.sleep(1s);
        throw std::runtime_error("inner");
      }
    };
    registry.add(Orchestration<Order, int>{"Nested", 1},
                 [](OrchestrationContext& ctx, Order o) -> Task<int> {
                   int total = co_await Helpers::twice(ctx, o);
                   try {
                     co_await Helpers::boom(ctx);
                   } catch (const std::runtime_error& e) {
                     total += std::string(e.what()) == "inner" ? 1000 : 0;
                   }
                   co_return total;
                 });
    EngineHarness h(registry);
    h.start("Nested", encode(Order{"o", 1}));
    h.turn();
    h.complete(h.activity("Price", 0), encode(5));
    h.turn();
    h.complete(h.activity("Price", 1), encode(7));
    h.turn();
    h.fire(h.timer());
    h.turn();
    CHECK(h.output<int>() == 1012);
    h.check_replay();
  }

  TEST_CASE("the coroutine stays alive between turns: code before an await runs once") {
    static int runs = 0;
    runs = 0;
    Registry registry;
    registry.add(Hello, [](OrchestrationContext& ctx, std::string name) -> Task<std::string> {
      ++runs;
      std::string all;
      for (int i = 0; i < 5; ++i) all += co_await ctx.call(Greet, name + std::to_string(i));
      co_return all;
    });
    EngineHarness h(registry);
    h.start("Hello", encode(std::string("n")));
    h.turn();
    for (int i = 0; i < 5; ++i) {
      h.complete(h.activity("Greet", static_cast<std::size_t>(i)), encode(std::to_string(i)));
      h.turn();
    }
    CHECK(h.output<std::string>() == "01234");
    CHECK(runs == 1);
    h.check_replay();  // a fresh engine runs the code once more, from the history
    CHECK(runs == 2);
  }
}

TEST_SUITE("orchestration API: timers") {
  TEST_CASE("a durable timer fires at now() + delay and resumes the code") {
    Registry registry;
    registry.add(Orchestration<int, std::int64_t>{"Sleepy", 1},
                 [](OrchestrationContext& ctx, int) -> Task<std::int64_t> {
                   auto before = ctx.now();
                   co_await ctx.sleep(30 * 24h);  // thirty days
                   co_return (ctx.now() - before).count();
                 });
    EngineHarness h(registry);
    h.start("Sleepy", encode(0));
    h.turn();
    const auto& t = h.timer_action();
    CHECK(t.fire_at == h.now() + 30 * 24h);
    h.advance(30 * 24h);  // in a test, time is a number
    h.fire(t.id);
    h.turn();
    CHECK(h.output<std::int64_t>() == std::chrono::duration_cast<Milliseconds>(30 * 24h).count());
    h.check_replay();
  }

  TEST_CASE("timer_until waits for a point in time") {
    Registry registry;
    registry.add(Orchestration<std::int64_t, int>{"Until", 1},
                 [](OrchestrationContext& ctx, std::int64_t at) -> Task<int> {
                   co_await ctx.timer_until(from_unix_ms(at));
                   co_return 1;
                 });
    EngineHarness h(registry);
    h.start("Until", encode(std::int64_t{1'800'000'000'000}));
    h.turn();
    CHECK(h.timer_action().fire_at == from_unix_ms(1'800'000'000'000));
    h.fire(h.timer());
    h.turn();
    CHECK(h.output<int>() == 1);
  }
}

TEST_SUITE("orchestration API: external events") {
  const Orchestration<int, std::vector<std::string>> Collect{"Collect", 1};
  Task<std::vector<std::string>> collect(OrchestrationContext & ctx, int n) {
    std::vector<std::string> got;
    for (int i = 0; i < n; ++i) got.push_back(co_await ctx.wait_event<std::string>("Note"));
    co_return got;
  }

  TEST_CASE("events that arrive before anyone waits are kept and matched in arrival order") {
    Registry registry;
    registry.add(Collect, [](OrchestrationContext& ctx, int n) -> Task<std::vector<std::string>> {
      co_await ctx.sleep(1s);  // events arrive while the code is elsewhere
      co_return co_await collect(ctx, n);
    });
    EngineHarness h(registry);
    h.start("Collect", encode(3));
    h.turn();
    h.raise("Note", encode(std::string("a")));
    h.raise("Other", encode(std::string("ignored")));
    h.raise("Note", encode(std::string("b")));
    h.turn();
    h.raise("Note", encode(std::string("c")));
    h.fire(h.timer());
    h.turn();
    CHECK(h.output<std::vector<std::string>>() == std::vector<std::string>{"a", "b", "c"});
    h.check_replay();
  }

  TEST_CASE("several waits on one name are served in the order they waited") {
    Registry registry;
    registry.add(Collect, [](OrchestrationContext& ctx, int) -> Task<std::vector<std::string>> {
      auto first = ctx.wait_event<std::string>("Note");
      auto second = ctx.wait_event<std::string>("Note");
      auto both = co_await ctx.when_all(second, first);  // awaited in the other order
      co_return std::vector<std::string>{std::get<0>(both), std::get<1>(both)};
    });
    EngineHarness h(registry);
    h.start("Collect", encode(0));
    h.turn();
    h.raise("Note", encode(std::string("one")));
    h.raise("Note", encode(std::string("two")));
    h.turn();
    CHECK(h.output<std::vector<std::string>>() == std::vector<std::string>{"two", "one"});
    h.check_replay();
  }

  TEST_CASE("an event payload of the wrong type reaches the code as a typed error") {
    Registry registry;
    registry.add(Orchestration<int, std::string>{"Typed", 1},
                 [](OrchestrationContext& ctx, int) -> Task<std::string> {
                   try {
                     co_await ctx.wait_event<int>("Count");
                     co_return std::string("decoded?");
                   } catch (const ConfigurationError& e) {
                     co_return std::string(e.what());
                   }
                 });
    EngineHarness h(registry);
    h.start("Typed", encode(0));
    h.turn();
    h.raise("Count", encode(std::string("not a number")));
    h.turn();
    auto text = h.output<std::string>();
    CHECK(text.find("event 'Count'") != std::string::npos);
    CHECK(text.find("int") != std::string::npos);
  }

  TEST_CASE("events sent to other instances are recorded and become actions") {
    Registry registry;
    registry.add(Orchestration<int, int>{"Sender", 1},
                 [](OrchestrationContext& ctx, int) -> Task<int> {
                   ctx.send_event("other-instance", "Ping", 7);
                   co_return 0;
                 });
    EngineHarness h(registry);
    h.start("Sender", encode(0));
    auto t = h.turn();
    auto sent = h.all<action::SendEvent>();
    REQUIRE(sent.size() == 1);
    CHECK(sent[0].instance == "other-instance");
    CHECK(sent[0].name == "Ping");
    CHECK(*decode<int>(sent[0].payload) == 7);
    CHECK(h.history()[1].kind() == EventKind::kEventSent);
    h.check_replay();
  }
}

TEST_SUITE("orchestration API: publishing on topics") {
  TEST_CASE(
      "a publication is recorded and becomes an action of the live turn only: a replay matches "
      "it and publishes nothing") {
    Registry registry;
    registry.add(Orchestration<int, int>{"Publisher", 1},
                 [](OrchestrationContext& ctx, int n) -> Task<int> {
                   ctx.publish("prices", n);
                   int more = co_await ctx.wait_event<int>("more");
                   ctx.publish("prices", n + more);
                   co_return 0;
                 });
    EngineHarness h(registry);
    h.start("Publisher", encode(5));
    auto first = h.turn();
    REQUIRE(first.actions.size() == 1);
    const auto& published = std::get<action::Publish>(first.actions[0]);
    CHECK(published.topic == "prices");
    CHECK(*decode<int>(published.payload) == 5);
    REQUIRE(h.history().size() == 2);
    CHECK(h.history()[1].body == EventBody{event::TopicPublished{"prices", encode(5)}});
    // A fresh engine (a restart, a passivated actor) replays the publication; the next
    // turn's actions hold only what that turn did.
    h.restart();
    h.raise("more", encode(10));
    auto second = h.turn();
    REQUIRE(second.actions.size() == 1);
    CHECK(*decode<int>(std::get<action::Publish>(second.actions[0]).payload) == 15);
    CHECK(h.output<int>() == 0);
    h.check_replay();
  }

  TEST_CASE("a std::string message is a value to encode, and publish_bytes takes encoded bytes") {
    Registry registry;
    registry.add(Orchestration<int, int>{"Publisher", 1},
                 [](OrchestrationContext& ctx, int) -> Task<int> {
                   ctx.publish("news", std::string("hello"));
                   ctx.publish_bytes("news", encode(42));
                   co_return 0;
                 });
    EngineHarness h(registry);
    h.start("Publisher", encode(0));
    h.turn();
    auto published = h.all<action::Publish>();
    REQUIRE(published.size() == 2);
    CHECK(*decode<std::string>(published[0].payload) == "hello");
    CHECK(*decode<int>(published[1].payload) == 42);
  }

  TEST_CASE("a bad topic name throws ConfigurationError at the call, and nothing is published") {
    Registry registry;
    registry.add(Orchestration<std::string, std::string>{"Publisher", 1},
                 [](OrchestrationContext& ctx, std::string topic) -> Task<std::string> {
                   try {
                     ctx.publish(topic, 1);
                   } catch (const ConfigurationError& e) {
                     co_return std::string(e.what());
                   }
                   co_return std::string("published");
                 });
    for (std::string topic : {std::string(), std::string("bad\ntopic")}) {
      CAPTURE(topic);
      EngineHarness h(registry);
      h.start("Publisher", encode(topic));
      h.turn();
      CHECK(h.all<action::Publish>().empty());
      auto why = h.output<std::string>();
      CHECK(why.find("topic name") != std::string::npos);
      for (const auto& e : h.history()) CHECK(e.kind() != EventKind::kTopicPublished);
    }
  }
}

TEST_SUITE("orchestration API: sub-orchestrations") {
  TEST_CASE("a typed sub-orchestration gets a deterministic id and its result") {
    Registry registry;
    registry.add(Orchestration<int, int>{"Parent", 1},
                 [](OrchestrationContext& ctx, int n) -> Task<int> {
                   int a = co_await ctx.call(Child, n);
                   int b = co_await ctx.call(Child, n + 1, {"my-child"});
                   co_return a + b;
                 });
    EngineHarness h(registry, "parent-1");
    h.start("Parent", encode(10));
    h.turn();
    auto first = h.child(0);
    CHECK(first.instance == "parent-1:1:1");
    CHECK(first.name == "Child");
    CHECK_FALSE(first.detached);
    h.child_completed(first.id, encode(100));
    h.turn();
    auto second = h.child(1);
    CHECK(second.instance == "my-child");
    h.child_completed(second.id, encode(200));
    h.turn();
    CHECK(h.output<int>() == 300);
    h.check_replay();
  }

  TEST_CASE("a failed sub-orchestration throws SubOrchestrationFailed naming the child") {
    Registry registry;
    registry.add(Orchestration<int, std::string>{"Parent", 1},
                 [](OrchestrationContext& ctx, int n) -> Task<std::string> {
                   try {
                     co_await ctx.call(Child, n);
                   } catch (const SubOrchestrationFailed& e) {
                     co_return e.instance() + ": " + e.failure().message;
                   }
                   co_return std::string();
                 });
    EngineHarness h(registry, "p");
    h.start("Parent", encode(1));
    h.turn();
    h.child_failed(h.child().id, "out of stock");
    h.turn();
    CHECK(h.output<std::string>() == "p:1:1: out of stock");
  }

  TEST_CASE("a detached orchestration is started and forgotten") {
    Registry registry;
    registry.add(Orchestration<int, std::string>{"Parent", 1},
                 [](OrchestrationContext& ctx, int n) -> Task<std::string> {
                   auto id = ctx.start_detached(Child, n);
                   co_return id;
                 });
    EngineHarness h(registry, "p");
    h.start("Parent", encode(1));
    h.turn();
    CHECK(h.child().detached);
    CHECK(h.output<std::string>() == h.child().instance);
    h.check_replay();
  }
}

TEST_SUITE("orchestration API: continue as new") {
  TEST_CASE("continue_as_new ends the execution and starts the next with the new input") {
    Registry registry;
    registry.add(Orchestration<int, int>{"Counter", 1},
                 [](OrchestrationContext& ctx, int n) -> Task<int> {
                   co_await ctx.sleep(1min);
                   if (n < 3) co_await ctx.continue_as_new(n + 1);
                   co_return n;
                 });
    EngineHarness h(registry);
    h.start("Counter", encode(0));
    for (int execution = 1; execution <= 4; ++execution) {
      auto started = h.turn();
      CHECK(started.execution == static_cast<ExecutionId>(execution));
      h.fire(h.timer());
      auto t = h.turn();
      CHECK(t.ended);
    }
    CHECK(h.output<int>() == 3);
    REQUIRE(h.finished_histories().size() == 3);
    auto last = h.finished_histories().back().back();
    CHECK(last.kind() == EventKind::kContinuedAsNew);
    CHECK(*decode<int>(std::get<event::ContinuedAsNew>(last.body).input) == 3);
    h.check_replay();
  }

  TEST_CASE("unconsumed events carry over a continue-as-new, in arrival order") {
    Registry registry;
    registry.add(Orchestration<int, std::string>{"Carry", 1},
                 [](OrchestrationContext& ctx, int round) -> Task<std::string> {
                   if (round == 0) {
                     co_await ctx.sleep(1s);  // events arrive meanwhile; nobody waits for them
                     co_await ctx.continue_as_new(1);
                   }
                   auto a = co_await ctx.wait_event<std::string>("E");
                   auto b = co_await ctx.wait_event<std::string>("E");
                   co_return a + b;
                 });
    EngineHarness h(registry);
    h.start("Carry", encode(0));
    h.turn();
    h.raise("E", encode(std::string("x")));
    h.raise("E", encode(std::string("y")));
    h.turn();  // buffered
    h.fire(h.timer());
    auto t = h.turn();
    CHECK(t.ended);
    auto next = std::get<outcome::ContinuedAsNew>(t.outcome);
    REQUIRE(next.carried.size() == 2);
    h.turn();  // execution 2 starts with the carried events
    CHECK(h.output<std::string>() == "xy");
    h.check_replay();
  }
}

TEST_SUITE("orchestration API: determinism helpers") {
  TEST_CASE("now and new_guid are the same on replay, and is_replaying tells replay apart") {
    struct Seen {
      std::vector<std::string> guids;
      std::vector<std::int64_t> times;
      std::vector<bool> replaying;
    };
    static Seen seen;
    seen = Seen{};
    Registry registry;
    registry.add(Orchestration<int, int>{"Det", 1},
                 [](OrchestrationContext& ctx, int) -> Task<int> {
                   seen.guids.push_back(ctx.new_guid());
                   seen.times.push_back(to_unix_ms(ctx.now()));
                   seen.replaying.push_back(ctx.is_replaying());
                   co_await ctx.sleep(1h);
                   seen.guids.push_back(ctx.new_guid());
                   seen.times.push_back(to_unix_ms(ctx.now()));
                   seen.replaying.push_back(ctx.is_replaying());
                   co_return 0;
                 });
    EngineHarness h(registry);
    h.start("Det", encode(0));
    h.turn();
    h.advance(90min);
    h.fire(h.timer());
    h.turn();
    REQUIRE(seen.guids.size() == 2);
    CHECK(seen.guids[0] != seen.guids[1]);
    CHECK(seen.times[1] - seen.times[0] == 90 * 60 * 1000);
    CHECK(seen.replaying == std::vector<bool>{false, false});
    h.check_replay();
    REQUIRE(seen.guids.size() == 4);
    CHECK(seen.guids[2] == seen.guids[0]);
    CHECK(seen.guids[3] == seen.guids[1]);
    CHECK(seen.times[2] == seen.times[0]);
    CHECK(seen.times[3] == seen.times[1]);
    CHECK(seen.replaying[2]);
    CHECK(seen.replaying[3]);
  }

  TEST_CASE("the context logger writes only when not replaying") {
    std::ostringstream out;
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(out);
    auto logger = std::make_shared<spdlog::logger>("test", sink);
    logger->set_pattern("%v");
    auto previous = spdlog::default_logger();
    spdlog::set_default_logger(logger);
    Registry registry;
    registry.add(Hello, [](OrchestrationContext& ctx, std::string name) -> Task<std::string> {
      ctx.log().info("greeting {}", name);
      auto g = co_await ctx.call(Greet, name);
      ctx.log().info("got {}", g);
      co_return g;
    });
    {
      EngineHarness h(registry, "logged");
      h.start("Hello", encode(std::string("ada")));
      h.turn();
      h.complete(h.activity("Greet"), encode(std::string("hi")));
      h.turn();
      h.check_replay();
    }
    spdlog::set_default_logger(previous);
    CHECK(out.str() == "[logged/1 Hello] greeting ada\n[logged/1 Hello] got hi\n");
  }

  TEST_CASE("custom status is recorded and reported by the turn that set it") {
    Registry registry;
    registry.add(Hello, [](OrchestrationContext& ctx, std::string name) -> Task<std::string> {
      ctx.set_custom_status("greeting");
      auto g = co_await ctx.call(Greet, name);
      ctx.set_custom_status("done: " + g);
      co_return g;
    });
    EngineHarness h(registry);
    h.start("Hello", encode(std::string("ada")));
    auto t1 = h.turn();
    CHECK(t1.custom_status == "greeting");
    h.complete(h.activity("Greet"), encode(std::string("hi")));
    auto t2 = h.turn();
    CHECK(t2.custom_status == "done: hi");
    h.check_replay();
  }

  TEST_CASE(
      "custom status survives continue-as-new: the next execution starts with the last value") {
    Registry registry;
    registry.add(Orchestration<int, std::string>{"Phases", 1},
                 [](OrchestrationContext& ctx, int n) -> Task<std::string> {
                   std::string seen = ctx.custom_status();
                   if (n == 0) {
                     ctx.set_custom_status("phase 1 done");
                     co_await ctx.continue_as_new(1);
                   }
                   if (n == 1) co_await ctx.continue_as_new(2);  // sets nothing: the value goes on
                   co_return seen;
                 });
    EngineHarness h(registry);
    h.start("Phases", encode(0));
    h.turn();            // execution 1: sets the status, continues as new
    auto t2 = h.turn();  // execution 2
    CHECK(t2.execution == 2);
    CHECK_FALSE(t2.custom_status);  // unchanged, so not reported as a change
    const auto& started = std::get<event::ExecutionStarted>(h.history().front().body);
    CHECK(started.custom_status == "phase 1 done");
    h.turn();  // execution 3
    CHECK(h.engine().execution() == 3);
    CHECK(h.output<std::string>() == "phase 1 done");
    CHECK(h.engine().custom_status() == "phase 1 done");
    h.check_replay();
  }
}

TEST_SUITE("orchestration API: versions") {
  TEST_CASE("new instances get the latest version, running ones keep theirs") {
    Registry registry;
    const Orchestration<int, std::string> V1{"Flow", 1};
    const Orchestration<int, std::string> V2{"Flow", 2};
    registry.add(V1, [](OrchestrationContext& ctx, int) -> Task<std::string> {
      co_await ctx.sleep(1s);
      co_return "v1 v" + std::to_string(ctx.version());
    });
    EngineHarness old(registry, "old");
    old.start("Flow", encode(0));
    old.turn();
    CHECK(old.engine().orchestration_version() == 1);

    registry.add(V2, [](OrchestrationContext& ctx, int) -> Task<std::string> {
      co_await ctx.call(Greet, std::string("x"));  // v2 does something else first
      co_return "v2 v" + std::to_string(ctx.version());
    });
    EngineHarness fresh(registry, "new");
    fresh.start("Flow", encode(0));
    fresh.turn();
    CHECK(fresh.engine().orchestration_version() == 2);

    old.restart();  // replays with version 1's code, recorded in ExecutionStarted
    old.fire(old.timer());
    old.turn();
    CHECK(old.output<std::string>() == "v1 v1");
    fresh.complete(fresh.activity("Greet"), encode(std::string("y")));
    fresh.turn();
    CHECK(fresh.output<std::string>() == "v2 v2");
  }

  TEST_CASE("registering a duplicate or version 0 is refused, naming it") {
    Registry registry;
    registry.add(Hello, hello);
    CHECK_THROWS_WITH_AS(registry.add(Hello, hello),
                         "orchestration 'Hello' version 1 is registered twice",
                         std::invalid_argument);
    CHECK_THROWS_WITH_AS(registry.add(Orchestration<int, int>{"Zero", 0},
                                      [](OrchestrationContext&, int) -> Task<int> { co_return 0; }),
                         "orchestration 'Zero': version 0 means 'latest'; register versions from 1",
                         std::invalid_argument);
    registry.add(Greet, [](ActivityContext&, std::string s) { return s; });
    CHECK_THROWS_AS(registry.add(Greet, [](ActivityContext&, std::string s) { return s; }),
                    std::invalid_argument);
    auto missing = registry.orchestration("Hello", 7);
    REQUIRE_FALSE(missing);
    CHECK(missing.error().code == ErrorCode::kNotRegistered);
    CHECK(missing.error().message ==
          "orchestration 'Hello' version 7 is not registered (registered: 1)");
  }

  TEST_CASE("registered activities run with decoded input and encoded output") {
    Registry registry;
    registry.add(Greet, [](ActivityContext& ctx, std::string name) {
      return "Hello, " + name + " from " + ctx.name();
    });
    auto* fn = registry.activity("Greet");
    REQUIRE(fn != nullptr);
    ActivityContext ctx(ActivityInfo{"i", 1, 2, "Greet", 1});
    CHECK(*decode<std::string>((*fn)(ctx, encode(std::string("ada")))) == "Hello, ada from Greet");
    CHECK_THROWS_AS((*fn)(ctx, encode(42)), ConfigurationError);
    CHECK(registry.activity("Missing") == nullptr);
  }
}

}  // namespace duractor
