// The broker through the real runtime: topics subscribed from orchestration code, events
// and cancellation, lifecycle notifications (including to a slow subscriber), the broker's
// actor protocol, and topic subscriptions and publications surviving SIGKILL.

#include <doctest/doctest.h>
#include <signal.h>

#include <atomic>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/stateful_actor.hpp>

#include <spdlog/sinks/null_sink.h>
#include "duractor/pubsub/broker.h"
#include "duractor/pubsub/broker_protocol.h"
#include "duractor/pubsub/caf_errors.h"
#include "tests/support/child_process.h"

#include "tests/support/host_fixture.h"
#include "tests/support/torture.h"

namespace duractor {
namespace {

using namespace std::chrono_literals;
using testing::eventually;
using testing::TempDir;

// Subscribes to "prices", collects `n` publications, returns them in the order received.
const Orchestration<int, std::vector<int>> Collector{"Collector", 1};
Task<std::vector<int>> collector(OrchestrationContext& ctx, int n) {
  ctx.subscribe("prices");
  ctx.set_custom_status("subscribed");
  std::vector<int> got;
  for (int i = 0; i < n; ++i) got.push_back(co_await ctx.next_message<int>("prices"));
  co_return got;
}

// Subscribes once, then keeps reading "prices" across continue-as-new: input is the sum so far
// and how many messages remain; each execution reads one.
const Orchestration<std::vector<int>, int> Rolling{"Rolling", 1};
Task<int> rolling(OrchestrationContext& ctx, std::vector<int> state) {
  if (state.at(1) == 3) {
    ctx.subscribe("prices");  // only in the first execution
    ctx.set_custom_status("subscribed");
  }
  if (state[1] == 0) co_return state[0];
  int v = co_await ctx.next_message<int>("prices");
  state[0] += v;
  state[1] -= 1;
  co_await ctx.continue_as_new(state);
  co_return -1;  // not reached
}

// Subscribes to the topic named by its input and collects what is published there until a
// negative value arrives.
const Orchestration<std::string, std::vector<int>> Tally{"Tally", 1};
Task<std::vector<int>> tally(OrchestrationContext& ctx, std::string topic) {
  ctx.subscribe(topic);
  std::vector<int> got;
  for (;;) {
    int v = co_await ctx.next_message<int>(topic);
    if (v < 0) co_return got;
    got.push_back(v);
  }
}

Registry make_registry() {
  Registry r;
  r.add(Collector, collector);
  r.add(Orchestration<int, int>{"Quick", 1}, [](OrchestrationContext& ctx, int x) -> Task<int> {
    ctx.set_custom_status("working");
    co_return x * 2;
  });
  r.add(Orchestration<int, int>{"Fails", 1}, [](OrchestrationContext&, int) -> Task<int> {
    throw std::runtime_error("nope");
    co_return 0;
  });
  r.add(Orchestration<int, int>{"Parked", 1}, [](OrchestrationContext& ctx, int) -> Task<int> {
    co_return co_await ctx.wait_event<int>("never");
  });
  r.add(Rolling, rolling);
  r.add(Tally, tally);
  r.add(Orchestration<int, std::string>{"Strict", 1},
        [](OrchestrationContext& ctx, int) -> Task<std::string> {
          ctx.subscribe("prices");
          ctx.set_custom_status("subscribed");
          try {
            co_return std::to_string(co_await ctx.next_message<int>("prices"));
          } catch (const ConfigurationError& e) {
            co_return std::string(e.what());
          }
        });
  return r;
}

struct Runtime {
  Runtime() : registry(make_registry()) {
    host = testing::start_host(registry, testing::test_host_options(dir.sub("store")));
  }
  TempDir dir;
  Registry registry;
  std::unique_ptr<Host> host;
};

void wait_subscribed(Host& host, const std::vector<InstanceId>& ids) {
  REQUIRE(eventually([&] {
    auto subs = host.store().subscribers("prices");
    return subs && subs->size() == ids.size();
  }));
}

}  // namespace

TEST_SUITE("pubsub: the message protocol") {
  TEST_CASE("a duractor error survives the trip through a caf::error whole") {
    Error e;
    e.code = ErrorCode::kIo;  // usually retryable and infrastructure: this one is neither
    e.category = ErrorCategory::kConfiguration;
    e.retryable = false;
    e.message = "store /x: permission denied";
    auto back = from_caf_error(to_caf_error(e));
    CHECK(back.code == e.code);
    CHECK(back.category == e.category);
    CHECK(back.retryable == e.retryable);
    CHECK(back.message == e.message);
    // An error from CAF itself is named as such.
    CHECK(from_caf_error(caf::make_error(caf::sec::request_timeout)).code == ErrorCode::kTimeout);
    CHECK(from_caf_error(caf::make_error(caf::sec::unexpected_message)).code ==
          ErrorCode::kInternal);
  }
}

TEST_SUITE("pubsub: topics") {
  TEST_CASE(
      "every subscriber gets every publication exactly once, in publish order, under concurrent "
      "publishers") {
    Runtime rt;
    auto client = rt.host->client();
    constexpr int kSubscribers = 20, kPublishers = 4, kEach = 50;
    std::vector<InstanceId> ids;
    for (int s = 0; s < kSubscribers; ++s) {
      ids.push_back("sub-" + std::to_string(s));
      REQUIRE(Collector.start(client, ids.back(), kPublishers * kEach));
    }
    wait_subscribed(*rt.host, ids);
    std::vector<std::thread> publishers;
    std::atomic<int> failures{0};
    for (int p = 0; p < kPublishers; ++p) {
      publishers.emplace_back([&, p] {
        for (int k = 0; k < kEach; ++k) {
          auto receipt = client.publish("prices", p * 1000 + k);
          if (!receipt || receipt->delivered.size() != kSubscribers) ++failures;
        }
      });
    }
    for (auto& t : publishers) t.join();
    CHECK(failures == 0);
    std::vector<int> first;
    for (const auto& id : ids) {
      auto got = Collector.wait(client, id, 60s);
      REQUIRE_MESSAGE(got, (got ? "" : got.error().to_string()));
      REQUIRE(got->size() == kPublishers * kEach);
      std::set<int> unique(got->begin(), got->end());
      CHECK(unique.size() == got->size());  // exactly once
      std::map<int, int> last;              // per publisher, its own order
      for (int v : *got) {
        int p = v / 1000;
        if (last.count(p)) CHECK(v > last[p]);
        last[p] = v;
      }
      // One publish order per topic: every subscriber saw the same sequence.
      if (first.empty()) {
        first = *got;
      } else {
        CHECK(*got == first);
      }
    }
  }

  TEST_CASE("a publication with no subscriber reaches nobody and the publisher is told") {
    Runtime rt;
    auto receipt = rt.host->client().publish("empty-topic", 1);
    REQUIRE(receipt);
    CHECK(receipt->delivered.empty());
  }

  TEST_CASE(
      "a subscription outlives continue-as-new: later executions read the topic without "
      "subscribing again") {
    Runtime rt;
    auto client = rt.host->client();
    REQUIRE(Rolling.start(client, "roll", std::vector<int>{0, 3}));
    wait_subscribed(*rt.host, {"roll"});
    for (int v : {1, 10, 100}) {
      // Each publication waits until the previous one was read and the instance continued.
      auto receipt = client.publish("prices", v);
      REQUIRE(receipt);
      CHECK(receipt->delivered == std::vector<InstanceId>{"roll"});
    }
    auto sum = Rolling.wait(client, "roll", 30s);
    REQUIRE_MESSAGE(sum, (sum ? "" : sum.error().to_string()));
    CHECK(*sum == 111);
    CHECK(rt.host->store().subscribers("prices")->empty());
  }

  TEST_CASE(
      "a publication that does not decode as the awaited type reaches the code as a typed error") {
    Runtime rt;
    auto client = rt.host->client();
    REQUIRE(client.start(Orchestration<int, std::string>{"Strict", 1}, "strict", 0));
    wait_subscribed(*rt.host, {"strict"});
    REQUIRE(client.publish("prices", std::string("not a number")));
    auto text = client.wait("strict", 30s);
    REQUIRE(text);
    REQUIRE(text->status == InstanceStatus::kCompleted);
    auto message = decode<std::string>(text->output);
    REQUIRE(message);
    CHECK(message->find("message on topic 'prices'") != std::string::npos);
    CHECK(message->find("int") != std::string::npos);
  }

  TEST_CASE(
      "publishing races with subscribing and unsubscribing: a subscriber gets exactly what was "
      "published while it was subscribed") {
    Runtime rt;
    const Orchestration<int, std::vector<int>> Window{"Window", 1};
    rt.host->stop();
    rt.registry.add(Window, [](OrchestrationContext& ctx, int) -> Task<std::vector<int>> {
      co_await ctx.wait_event<int>("open");
      ctx.subscribe("prices");
      co_await ctx.wait_event<int>("close");
      ctx.unsubscribe("prices");
      // Collect what arrived while subscribed: a final marker event ends the list.
      std::vector<int> got;
      for (;;) {
        auto r =
            co_await ctx.when_any(ctx.next_message<int>("prices"), ctx.wait_event<int>("done"));
        if (r.index() == 1) break;
        got.push_back(r.get<0>());
      }
      co_return got;
    });
    rt.host = testing::start_host(rt.registry, testing::test_host_options(rt.dir.sub("store")));
    auto client = rt.host->client();
    REQUIRE(Window.start(client, "window", 0));
    std::atomic<bool> stop{false};
    std::atomic<int> published{0};
    std::mutex mutex;
    std::vector<std::pair<int, bool>> log;  // value, whether "window" was among the receivers
    std::thread publisher([&] {
      for (int v = 0; !stop; ++v) {
        auto receipt = client.publish("prices", v);
        if (!receipt) continue;
        bool reached = std::find(receipt->delivered.begin(), receipt->delivered.end(), "window") !=
                       receipt->delivered.end();
        std::lock_guard lock(mutex);
        log.emplace_back(v, reached);
        ++published;
      }
    });
    REQUIRE(eventually([&] { return published > 20; }));
    REQUIRE(client.raise("window", "open", 1));
    REQUIRE(eventually([&] { return rt.host->store().subscribers("prices")->size() == 1; }));
    REQUIRE(eventually([&] {
      std::lock_guard lock(mutex);
      return std::count_if(log.begin(), log.end(), [](auto& e) { return e.second; }) > 20;
    }));
    REQUIRE(client.raise("window", "close", 1));
    REQUIRE(eventually([&] { return rt.host->store().subscribers("prices")->empty(); }));
    auto after_close = published.load();
    REQUIRE(eventually([&] { return published > after_close + 20; }));
    stop = true;
    publisher.join();
    REQUIRE(client.raise("window", "done", 1));
    auto got = Window.wait(client, "window", 30s);
    REQUIRE_MESSAGE(got, (got ? "" : got.error().to_string()));
    std::vector<int> expected;
    for (auto& [v, reached] : log) {
      if (reached) expected.push_back(v);
    }
    CHECK(*got == expected);  // the receipts and the history agree, exactly
    CHECK_FALSE(expected.empty());
  }
}

TEST_SUITE("pubsub: events and cancellation") {
  TEST_CASE("events go through the broker, and unknown instances and reserved names are errors") {
    Runtime rt;
    auto& broker = rt.host->broker();
    auto unknown = broker.raise_event("ghost", "E", encode(1));
    REQUIRE_FALSE(unknown);
    CHECK(unknown.error().code == ErrorCode::kNotFound);
    CHECK(unknown.error().message.find("'ghost'") != std::string::npos);
    auto client = rt.host->client();
    REQUIRE(client.start(Orchestration<int, int>{"Parked", 1}, "parked", 0));
    auto reserved = client.raise("parked", "topic:prices", 1);
    REQUIRE_FALSE(reserved);
    CHECK(reserved.error().code == ErrorCode::kInvalidArgument);
    REQUIRE(broker.raise_event("parked", "never", encode(5)));
    CHECK(*client.wait_output<int>("parked", 20s) == 5);
    auto late = broker.raise_event("parked", "never", encode(6));
    REQUIRE_FALSE(late);
    CHECK(late.error().code == ErrorCode::kFailedPrecondition);
  }

  TEST_CASE("terminate cascades to children as terminate") {
    Runtime rt;
    rt.host->stop();
    rt.registry.add(Orchestration<int, int>{"ParkedParent", 1},
                    [](OrchestrationContext& ctx, int) -> Task<int> {
                      co_return co_await ctx.call(Orchestration<int, int>{"Parked", 1}, 0);
                    });
    rt.host = testing::start_host(rt.registry, testing::test_host_options(rt.dir.sub("store")));
    auto client = rt.host->client();
    REQUIRE(client.start(Orchestration<int, int>{"ParkedParent", 1}, "pp", 0));
    REQUIRE(eventually([&] {
      return client.status("pp:1:1") && client.status("pp:1:1")->status == InstanceStatus::kRunning;
    }));
    REQUIRE(rt.host->broker().cancel("pp", "shutting down", true));
    auto child = client.wait("pp:1:1", 20s);
    REQUIRE(child);
    CHECK(child->status == InstanceStatus::kTerminated);
    auto parent = client.wait("pp", 20s);
    REQUIRE(parent);
    CHECK(parent->status == InstanceStatus::kTerminated);
    auto history = client.history("pp:1:1");
    bool terminated = false;
    for (const auto& e : *history) {
      if (auto* c = std::get_if<event::CancelRequested>(&e.body)) terminated = c->terminate;
    }
    CHECK(terminated);
  }
}

TEST_SUITE("pubsub: lifecycle notifications") {
  TEST_CASE(
      "subscribers get started, custom status, completed and failed, filtered, after the commit") {
    Runtime rt;
    auto& lifecycle = rt.host->broker().lifecycle();
    std::mutex mutex;
    std::vector<LifecycleEvent> all, quick_only;
    auto everything = lifecycle.subscribe({}, [&](const LifecycleEvent& e) {
      std::lock_guard lock(mutex);
      all.push_back(e);
    });
    auto filtered =
        lifecycle.subscribe(LifecycleFilter{{LifecycleKind::kCompleted}, "Quick", std::nullopt},
                            [&](const LifecycleEvent& e) {
                              std::lock_guard lock(mutex);
                              quick_only.push_back(e);
                            });
    auto client = rt.host->client();
    REQUIRE(client.start(Orchestration<int, int>{"Quick", 1}, "q", 21));
    REQUIRE(client.start(Orchestration<int, int>{"Fails", 1}, "f", 0));
    REQUIRE(client.wait("q", 20s));
    REQUIRE(client.wait("f", 20s));
    REQUIRE(eventually([&] {
      std::lock_guard lock(mutex);
      return all.size() >= 5 && quick_only.size() == 1;
    }));
    std::lock_guard lock(mutex);
    std::vector<std::string> q_kinds;
    for (const auto& e : all) {
      if (e.instance == "q") q_kinds.emplace_back(to_string(e.kind));
    }
    CHECK(q_kinds == std::vector<std::string>{"started", "custom status", "completed"});
    CHECK(*decode<int>(quick_only[0].output) == 42);
    CHECK(quick_only[0].orchestration == "Quick");
    bool failed = false;
    for (const auto& e : all) {
      if (e.instance == "f" && e.kind == LifecycleKind::kFailed) {
        failed = true;
        CHECK(e.failure->message == "nope");
        // Delivered after the commit: the store already says so.
        CHECK(client.status("f")->status == InstanceStatus::kFailed);
      }
    }
    CHECK(failed);
    CHECK(everything->dropped() == 0);
  }

  TEST_CASE("a slow subscriber never blocks the runtime: its buffer fills and drops are counted") {
    Runtime rt;
    auto& lifecycle = rt.host->broker().lifecycle();
    std::atomic<bool> release{false};
    std::atomic<int> seen{0};
    auto slow = lifecycle.subscribe(
        LifecycleFilter{{LifecycleKind::kCompleted}, std::nullopt, std::nullopt},
        [&](const LifecycleEvent&) {
          while (!release) std::this_thread::sleep_for(1ms);  // stuck
          ++seen;
        },
        LifecycleOptions{10});
    std::atomic<int> fast_seen{0};
    auto fast = lifecycle.subscribe(
        LifecycleFilter{{LifecycleKind::kCompleted}, std::nullopt, std::nullopt},
        [&](const LifecycleEvent&) { ++fast_seen; });
    auto client = rt.host->client();
    constexpr int kInstances = 200;
    auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < kInstances; ++i) {
      REQUIRE(client.start(Orchestration<int, int>{"Quick", 1}, "q" + std::to_string(i), i));
    }
    for (int i = 0; i < kInstances; ++i) REQUIRE(client.wait("q" + std::to_string(i), 30s));
    // The runtime went on while the slow subscriber was stuck.
    CHECK(std::chrono::steady_clock::now() - start < 20s);
    REQUIRE(eventually([&] { return fast_seen == kInstances; }));
    CHECK(slow->dropped() == kInstances - 11);  // one in its callback, ten buffered
    release = true;
    REQUIRE(eventually([&] { return seen == 11; }));
    CHECK(fast->dropped() == 0);
  }
}

namespace {

using report_atom = caf::atom_constant<caf::atom("report")>;

caf::behavior watcher(caf::event_based_actor* self, BrokerActor broker, caf::actor report) {
  self->request(broker, 10s, subscribe_atom::value,
                LifecycleFilter{{LifecycleKind::kCompleted}, std::nullopt, std::nullopt})
      .then([=](ok_atom, std::uint64_t) {
        self->send(report, report_atom::value, std::string("subscribed"));
      });
  return {
      [=](lifecycle_atom, const LifecycleEvent& e) {
        self->send(report, report_atom::value, e.instance + " " + std::string(to_string(e.kind)));
      },
  };
}

}  // namespace

TEST_SUITE("pubsub: the broker actor") {
  TEST_CASE("actors raise, publish, cancel and subscribe to lifecycle notifications by message") {
    // The host runs inside the test's actor system, as an embedding service's would.
    caf::actor_system_config config;
    caf::actor_system sys{config};
    TempDir dir;
    auto registry = make_registry();
    auto started = Host::start(sys, registry, testing::test_host_options(dir.sub("store")));
    REQUIRE_MESSAGE(started, (started ? "" : started.error().to_string()));
    auto& host = *started;
    caf::scoped_actor test{sys};
    auto broker = host->broker_actor();
    auto w = sys.spawn(watcher, broker, caf::actor_cast<caf::actor>(test));
    test->receive([](report_atom, const std::string& s) { CHECK(s == "subscribed"); },
                  caf::after(10s) >> [] { FAIL("no subscription"); });
    auto client = host->client();
    REQUIRE(client.start(Orchestration<int, int>{"Parked", 1}, "by-actor", 0));
    test->request(broker, 10s, raise_atom::value, std::string("by-actor"), std::string("never"),
                  encode(9))
        .receive([](ok_atom, const std::string& id) { CHECK(id == "by-actor"); },
                 [](caf::error& e) { FAIL(from_caf_error(e).message); });
    test->receive([](report_atom, const std::string& s) { CHECK(s == "by-actor completed"); },
                  caf::after(20s) >> [] { FAIL("no notification"); });
    test->request(broker, 10s, publish_atom::value, std::string("nobody"), encode(1))
        .receive([](ok_atom, std::uint64_t n) { CHECK(n == 0); },
                 [](caf::error& e) { FAIL(from_caf_error(e).message); });
    test->request(broker, 10s, cancel_atom::value, std::string("ghost"), std::string("why"), false)
        .receive([](ok_atom, const std::string&) { FAIL("ghost cancelled?"); },
                 [](caf::error& e) { CHECK(from_caf_error(e).code == ErrorCode::kNotFound); });
    CHECK(host->broker().lifecycle().subscriptions() == 1);
    caf::anon_send_exit(w, caf::exit_reason::user_shutdown);
    // A subscriber that goes away ends its subscription.
    CHECK(eventually([&] { return host->broker().lifecycle().subscriptions() == 0; }));
    host.reset();  // before the actor system goes
  }
}

namespace {

int run_subscribers(const std::string& path, int count) {
  auto registry = make_registry();
  auto options = testing::test_host_options(path);
  options.lmdb.sync = true;
  options.logger = spdlog::null_logger_mt("sub-child-" + std::to_string(::getpid()));
  auto host = Host::start(registry, options);
  if (!host) return 2;
  auto client = (*host)->client();
  for (int i = 0; i < count; ++i) {
    if (!Collector.start(client, "durable-" + std::to_string(i), 3)) return 3;
  }
  for (;;) std::this_thread::sleep_for(1s);  // until killed
}

}  // namespace

TEST_SUITE("pubsub: durability") {
  TEST_CASE("topic subscriptions survive SIGKILL and a restart") {
    TempDir dir;
    auto path = dir.sub("store");
    constexpr int kCount = 30;
    {
      testing::ChildProcess child([&] { return run_subscribers(path, kCount); });
      auto deadline = std::chrono::steady_clock::now() + 30s;
      bool all = false;
      while (!all && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(50ms);
        LmdbOptions peek;
        peek.path = path;
        peek.read_only = true;
        auto store = LmdbStore::open(peek);
        if (!store) continue;
        auto subs = (*store)->subscribers("prices");
        all = subs && subs->size() == kCount;
      }
      REQUIRE(all);
      REQUIRE(child.kill() == 128 + SIGKILL);  // our kill, not its own crash
    }
    auto registry = make_registry();
    auto host = testing::start_host(registry, testing::test_host_options(path));
    auto client = host->client();
    for (int v : {7, 8, 9}) {
      auto receipt = client.publish("prices", v);
      REQUIRE(receipt);
      CHECK(receipt->delivered.size() == kCount);
    }
    for (int i = 0; i < kCount; ++i) {
      auto got = Collector.wait(client, "durable-" + std::to_string(i), 30s);
      REQUIRE_MESSAGE(got, (got ? "" : got.error().to_string()));
      CHECK(*got == std::vector<int>{7, 8, 9});
    }
    CHECK(host->store().subscribers("prices")->empty());  // finished instances unsubscribe
  }
}

namespace {

constexpr int kTallies = 5;              // subscribers per generation
constexpr int kPublishesPerChild = 50;   // each child publishes at most this many
constexpr int kKillsPerGeneration = 20;  // then a new topic and new subscribers

std::string topic_of(int generation) {
  return "ticks-" + std::to_string(generation);
}
std::string tally_of(int generation, int k) {
  return "tally-" + std::to_string(generation) + "-" + std::to_string(k);
}

// A child: runs the host, makes sure the generation's tallies exist and are subscribed, then
// publishes round * 1000 + j for j = 0, 1, ... reporting "ack <v>" after each acknowledged
// publication, and waits to be killed. With `finish`, it publishes the end (-1) instead and
// waits for the tallies to complete. `kill_at`: die at the n-th "publish.one" step.
int run_publisher(const std::string& path, int generation, int round, bool finish, int kill_at,
                  const testing::LinePipe& out) {
  auto registry = make_registry();
  auto options = testing::test_host_options(path);
  options.lmdb.sync = true;
  options.logger = spdlog::null_logger_mt("pub-child-" + std::to_string(::getpid()));
  if (kill_at > 0) {
    auto hits = std::make_shared<std::atomic<int>>(0);
    options.lmdb.fault_injector = [kill_at, hits](const FaultStep& at) -> Status {
      if (at.name == "publish.one" && ++*hits == kill_at) ::raise(SIGKILL);
      return {};
    };
  }
  auto host = Host::start(registry, options);
  if (!host) return 2;
  auto client = (*host)->client();
  auto topic = topic_of(generation);
  for (int k = 0; k < kTallies; ++k) {
    if (!Tally.start(client, tally_of(generation, k), topic)) return 3;
  }
  auto deadline = std::chrono::steady_clock::now() + 30s;
  for (;;) {
    auto subs = (*host)->store().subscribers(topic);
    if (subs && subs->size() == kTallies) break;
    if (std::chrono::steady_clock::now() > deadline) return 4;
    std::this_thread::sleep_for(5ms);
  }
  out.write_line("ready");
  if (finish) {
    if (!client.publish(topic, -1)) return 5;
    for (int k = 0; k < kTallies; ++k) {
      if (!client.wait(tally_of(generation, k), 60s)) return 6;
    }
    return 0;
  }
  for (int j = 0; j < kPublishesPerChild; ++j) {
    int v = round * 1000 + j;
    auto receipt = client.publish(topic, v);
    if (!receipt) return 7;
    out.write_line((receipt->delivered.size() == kTallies ? "ack " : "short ") + std::to_string(v));
  }
  for (;;) std::this_thread::sleep_for(1s);  // until killed
}

}  // namespace

TEST_SUITE("pubsub: durability") {
  TEST_CASE(
      "publications acknowledged before SIGKILL reach every subscriber exactly once, in order") {
    TempDir dir("duractor-pubcrash");
    auto path = dir.sub("store");
    testing::TortureFigures figures;
    figures.suite = "broker";
    figures.seed = testing::torture_seed();
    MESSAGE("seed " << figures.seed << " (DURACTOR_TORTURE_SEED repeats this run)");
    std::mt19937 rng(figures.seed);
    const int target = testing::torture_kills("BROKER", 6);
    int round = 1;
    for (int generation = 0; static_cast<int>(figures.kills) < target; ++generation) {
      CAPTURE(generation);
      std::set<int> acked;
      for (int kills = 0; kills < kKillsPerGeneration && static_cast<int>(figures.kills) < target;
           ++kills, ++round) {
        int kill_at =
            round % 3 == 2 ? 1 + static_cast<int>(rng() % (kTallies * kPublishesPerChild)) : 0;
        testing::LinePipe out;
        testing::ChildProcess child(
            [&] { return run_publisher(path, generation, round, false, kill_at, out); });
        out.close_write_end();
        REQUIRE(out.read_line() == "ready");
        auto delay = std::chrono::milliseconds(5 + rng() % 80);
        for (auto until = std::chrono::steady_clock::now() + delay;
             child.running() && std::chrono::steady_clock::now() < until;) {
          std::this_thread::sleep_for(1ms);
        }
        if (!child.running()) {
          REQUIRE(child.wait() == 128 + SIGKILL);  // at its fault step
          ++figures.fault_step_kills;
        }
        child.kill();
        ++figures.kills;
        for (const auto& line : out.read_all_lines()) {
          std::istringstream in(line);
          std::string what;
          int v = 0;
          in >> what >> v;
          REQUIRE_MESSAGE(what == "ack", line);  // every subscriber got each publication
          acked.insert(v);
        }
      }
      // The end, then every tally must hold every acknowledged publication once, in order.
      testing::LinePipe out;
      testing::ChildProcess final_run(
          [&] { return run_publisher(path, generation, 0, true, 0, out); });
      out.close_write_end();
      REQUIRE(final_run.wait() == 0);
      LmdbOptions o;
      o.path = path;
      auto store = LmdbStore::open(o);
      REQUIRE(store);
      std::optional<std::vector<int>> first;
      for (int k = 0; k < kTallies; ++k) {
        auto info = (*store)->read_instance(tally_of(generation, k));
        REQUIRE(info);
        REQUIRE(info->status == InstanceStatus::kCompleted);
        auto got = *decode<std::vector<int>>(info->output);
        ++figures.instances;
        std::set<int> seen;
        for (std::size_t i = 0; i < got.size(); ++i) {
          if (!seen.insert(got[i]).second) ++figures.duplicated;
          if (i > 0) CHECK(got[i] > got[i - 1]);  // in publish order
        }
        for (int v : acked) {
          ++figures.acknowledged;
          if (seen.count(v) == 0) ++figures.lost;
        }
        // A publication reached every subscriber or none: all tallies agree, including on
        // publications whose acknowledgement a kill cut off.
        if (!first) first = got;
        CHECK(got == *first);
      }
    }
    MESSAGE(figures.line());
    figures.report();
    CHECK(figures.lost == 0);
    CHECK(figures.duplicated == 0);
  }
}

}  // namespace duractor
