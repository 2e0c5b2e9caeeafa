// ctx.publish through the real runtime: a publication from orchestration code reaches the
// instances subscribed to its topic once, however often the publishing turn replays (after a
// restart on the same store), and whatever moment a SIGKILL hits around its commit; code
// that changed the topic is a nondeterminism; a bad topic or an oversized message fails the
// publisher with a clear reason.

#include <doctest/doctest.h>
#include <signal.h>

#include <algorithm>
#include <atomic>

#include <spdlog/sinks/null_sink.h>

#include "tests/support/child_process.h"
#include "tests/support/host_fixture.h"

namespace duractor {
namespace {

using namespace std::chrono_literals;
using testing::eventually;
using testing::TempDir;

// Subscribes to "news", tells the publisher named by its input that it may go, then collects
// every publication until it is told to stop.
const Orchestration<std::string, std::vector<int>> Listener{"Listener", 1};
Task<std::vector<int>> listener(OrchestrationContext& ctx, std::string publisher) {
  ctx.subscribe("news");
  ctx.send_event(publisher, "go", 1);  // committed with the subscription
  std::vector<int> got;
  for (;;) {
    auto next = co_await ctx.when_any(ctx.next_message<int>("news"), ctx.wait_event<int>("stop"));
    if (next.index() == 1) co_return got;
    got.push_back(next.get<0>());
  }
}

// The topic Publisher publishes on; the nondeterminism test changes it, as a deploy of
// changed code would.
std::string g_publisher_topic = "news";

// Once told to go, publishes its input on g_publisher_topic, then waits for "finish" (a
// later turn, which replays the publication when the actor is new).
const Orchestration<int, int> Publisher{"Publisher", 1};
Task<int> publisher(OrchestrationContext& ctx, int value) {
  co_await ctx.wait_event<int>("go");
  ctx.publish(g_publisher_topic, value);
  co_return co_await ctx.wait_event<int>("finish");
}

Registry make_registry() {
  Registry r;
  r.add(Listener, listener);
  r.add(Publisher, publisher);
  r.add(Orchestration<std::string, int>{"BadTopic", 1},
        [](OrchestrationContext& ctx, std::string topic) -> Task<int> {
          ctx.publish(topic, 1);
          co_return 0;
        });
  r.add(Orchestration<std::size_t, int>{"Big", 1},
        [](OrchestrationContext& ctx, std::size_t bytes) -> Task<int> {
          ctx.publish("news", std::string(bytes, 'x'));
          co_return 0;
        });
  return r;
}

// How many publications on "news" the instance's history holds.
std::size_t received(Client& client, const InstanceId& id) {
  auto history = client.history(id);
  REQUIRE(history);
  std::size_t n = 0;
  for (const auto& e : *history) {
    const auto* raised = std::get_if<event::EventRaised>(&e.body);
    if (raised != nullptr && raised->name == topic_event_name("news")) ++n;
  }
  return n;
}

bool has_published(Client& client, const InstanceId& id) {
  auto history = client.history(id);
  if (!history) return false;
  for (const auto& e : *history) {
    if (e.kind() == EventKind::kTopicPublished) return true;
  }
  return false;
}

// Ends both: the publisher's "finish", then the listener's "stop" (which comes after the
// publication in its inbox, since the publication committed before the publisher finished).
std::vector<int> finish(Client& client) {
  REQUIRE(client.raise("pub", "finish", 0));
  auto done = Publisher.wait(client, "pub", 30s);
  REQUIRE_MESSAGE(done, (done ? "" : done.error().to_string()));
  REQUIRE(client.raise("sub", "stop", 0));
  auto got = Listener.wait(client, "sub", 30s);
  REQUIRE_MESSAGE(got, (got ? "" : got.error().to_string()));
  return *got;
}

}  // namespace

TEST_SUITE("runtime: ctx.publish") {
  TEST_CASE("a publication from orchestration code reaches a subscribed orchestration once") {
    TempDir dir;
    auto registry = make_registry();
    auto host = testing::start_host(registry, testing::test_host_options(dir.sub("store")));
    auto client = host->client();
    REQUIRE(Publisher.start(client, "pub", 42));
    REQUIRE(Listener.start(client, "sub", "pub"));
    REQUIRE(eventually([&] { return has_published(client, "pub"); }));
    CHECK(finish(client) == std::vector<int>{42});
    CHECK(received(client, "sub") == 1);
  }

  TEST_CASE("the publishing turn replayed after a restart publishes nothing again") {
    TempDir dir;
    auto path = dir.sub("store");
    auto registry = make_registry();
    {
      auto host = testing::start_host(registry, testing::test_host_options(path));
      auto client = host->client();
      REQUIRE(Publisher.start(client, "pub", 42));
      REQUIRE(Listener.start(client, "sub", "pub"));
      REQUIRE(eventually([&] { return received(client, "sub") == 1; }));
    }
    // A new host: the publisher's actor is rebuilt by replaying its history, publication
    // included, before its next turn.
    auto host = testing::start_host(registry, testing::test_host_options(path));
    auto client = host->client();
    CHECK(finish(client) == std::vector<int>{42});
    CHECK(received(client, "sub") == 1);
    auto history = client.history("pub");
    REQUIRE(history);
    CHECK(std::count_if(history->begin(), history->end(), [](const HistoryEvent& e) {
            return e.kind() == EventKind::kTopicPublished;
          }) == 1);
  }

  TEST_CASE("code that now publishes on another topic fails the instance as nondeterministic") {
    TempDir dir;
    auto path = dir.sub("store");
    {
      auto registry = make_registry();
      auto host = testing::start_host(registry, testing::test_host_options(path));
      auto client = host->client();
      REQUIRE(Publisher.start(client, "pub", 42));
      REQUIRE(Listener.start(client, "sub", "pub"));
      REQUIRE(eventually([&] { return received(client, "sub") == 1; }));
    }
    g_publisher_topic = "other-news";
    auto changed = make_registry();
    auto host = testing::start_host(changed, testing::test_host_options(path));
    auto client = host->client();
    REQUIRE(client.raise("pub", "finish", 0));
    auto info = client.wait("pub", 30s);
    REQUIRE(info);
    REQUIRE(info->status == InstanceStatus::kFailed);
    REQUIRE(info->failure);
    CHECK(info->failure->type == "duractor::Nondeterminism");
    CHECK(info->failure->message.find("history recorded #3 TopicPublished news payload=42") !=
          std::string::npos);
    CHECK(info->failure->message.find("the code now does TopicPublished other-news") !=
          std::string::npos);
    CHECK(received(client, "sub") == 1);  // and nothing more was published
    g_publisher_topic = "news";
  }

  TEST_CASE("a bad topic name or an oversized message fails the publisher with a clear reason") {
    TempDir dir;
    auto registry = make_registry();
    auto options = testing::test_host_options(dir.sub("store"));
    options.max_payload_bytes = 1024;
    auto host = testing::start_host(registry, options);
    auto client = host->client();

    REQUIRE(client.start("BadTopic", "bad", encode(std::string())));
    auto bad = client.wait("bad", 30s);
    REQUIRE(bad);
    CHECK(bad->status == InstanceStatus::kFailed);
    CHECK(bad->failure->type == "duractor::ConfigurationError");
    CHECK(bad->failure->message == "topic name is empty");

    REQUIRE(client.start("Big", "big", encode(std::size_t{2000})));
    auto big = client.wait("big", 30s);
    REQUIRE(big);
    CHECK(big->status == InstanceStatus::kFailed);
    CHECK(big->failure->type == "duractor::LimitExceeded");
    CHECK(big->failure->message.find("the payload of a publication on 'news' is 2003 bytes, over "
                                     "the payload limit of 1024 bytes") != std::string::npos);
    for (const auto& id : {"bad", "big"}) {
      auto history = client.history(id);
      REQUIRE(history);
      for (const auto& e : *history) CHECK(e.kind() != EventKind::kTopicPublished);
    }
  }
}

namespace {

// A child that runs the publisher and the listener and dies by SIGKILL at fault step `step`
// of the publisher's publishing turn: "commit_turn.publications" (its transaction holds the
// publication, not committed), "batch.commit" (the batch holding it, about to commit) or
// "turn.committed" (committed, the listener not yet woken).
int run_until_killed(const std::string& path, const std::string& step) {
  auto registry = make_registry();
  auto options = testing::test_host_options(path);
  options.lmdb.sync = true;
  options.logger = spdlog::null_logger_mt("publish-child-" + std::to_string(::getpid()));
  auto armed = std::make_shared<std::atomic<bool>>(false);
  options.lmdb.fault_injector = [step, armed](const FaultStep& at) -> Status {
    if (at.name == "commit_turn.publications" && at.instance == "pub") *armed = true;
    if (*armed && at.name == step && (step == "batch.commit" || at.instance == "pub")) {
      ::raise(SIGKILL);
    }
    return {};
  };
  auto host = Host::start(registry, options);
  if (!host) return 2;
  auto client = (*host)->client();
  if (!Publisher.start(client, "pub", 42)) return 3;
  if (!Listener.start(client, "sub", "pub")) return 4;
  std::this_thread::sleep_for(30s);  // killed long before
  return 5;
}

}  // namespace

TEST_SUITE("runtime: ctx.publish") {
  TEST_CASE(
      "a SIGKILL around the publishing turn's commit neither loses nor repeats the publication") {
    for (std::string step : {"commit_turn.publications", "batch.commit", "turn.committed"}) {
      CAPTURE(step);
      TempDir dir("duractor-publish-kill");
      auto path = dir.sub("store");
      {
        testing::ChildProcess child([&] { return run_until_killed(path, step); });
        REQUIRE(child.wait() == 128 + SIGKILL);
      }
      {
        LmdbOptions peek;
        peek.path = path;
        peek.read_only = true;
        auto store = LmdbStore::open(peek);
        REQUIRE(store);
        auto history = (*store)->read_latest_history("pub");
        REQUIRE(history);
        bool recorded = false;
        for (const auto& e : history->events) {
          recorded = recorded || e.kind() == EventKind::kTopicPublished;
        }
        std::size_t waiting = 0;
        auto inbox = (*store)->read_inbox("sub");
        REQUIRE(inbox);
        for (const auto& m : *inbox) {
          const auto* event = std::get_if<message::Event>(&m.message);
          if (event != nullptr && event->name == topic_event_name("news")) ++waiting;
        }
        // Both or neither: the event in the publisher's history, the publication in the
        // listener's inbox.
        CHECK(recorded == (step == "turn.committed"));
        CHECK(waiting == (recorded ? 1u : 0u));
      }
      auto registry = make_registry();
      auto host = testing::start_host(registry, testing::test_host_options(path));
      auto client = host->client();
      REQUIRE(eventually([&] { return has_published(client, "pub"); }));
      CHECK(finish(client) == std::vector<int>{42});
      CHECK(received(client, "sub") == 1);
    }
  }
}

}  // namespace duractor
