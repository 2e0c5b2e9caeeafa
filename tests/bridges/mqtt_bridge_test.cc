// The MQTT bridge against a real Mosquitto broker (started by the test on a free loopback
// port): events and publications in, exactly once however often the broker delivers them;
// dead letters with their reasons; lifecycle notifications out; the broker restarted under
// load.

#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <set>
#include <thread>

#include "duractor/bridges/mqtt/bridge.h"
#include "duractor/duractor.h"
#include "tests/bridges/waiter.h"
#include "tests/support/host_fixture.h"
#include "tests/support/mqtt_broker.h"

using namespace duractor;
using namespace duractor::testing;
using namespace std::chrono_literals;

namespace {

const Orchestration<Unit, std::string> Reader{"Reader"};
const Orchestration<int, Unit> Pricer{"Pricer"};

Task<std::string> reader(OrchestrationContext& ctx, Unit) {
  ctx.subscribe("readings");
  ctx.set_custom_status("subscribed");
  co_return co_await ctx.next_message<std::string>("readings");
}

Task<Unit> pricer(OrchestrationContext& ctx, int price) {
  ctx.publish("prices", price);
  ctx.publish("internal", price);
  ctx.publish("prices", price + 1);
  co_return Unit{};
}

struct Runtime {
  TempDir dir{"mqtt"};
  Registry registry;
  std::unique_ptr<MqttBroker> broker;
  std::unique_ptr<Host> host;
  std::unique_ptr<mqtt::Bridge> bridge;
  std::optional<Client> client_;

  Runtime() {
    registry.add(Waiter, waiter);
    registry.add(Reader, reader);
    registry.add(Pricer, pricer);
    std::filesystem::create_directories(dir.sub("broker"));
    broker = std::make_unique<MqttBroker>(dir.sub("broker"));
    host = start_host(registry, test_host_options(dir.sub("store")));
    client_.emplace(host->client());
  }
  Client& client() { return *client_; }
  ~Runtime() {
    if (bridge) bridge->stop();
  }

  mqtt::BridgeOptions options() const {
    mqtt::BridgeOptions o;
    o.port = broker->port();
    o.client_id = "duractor-test";
    o.in = {{.filter = "ticks/+", .instance = "{1}", .event = "tick"},
            {.filter = "sensors/#", .topic = "readings", .payload = mqtt::PayloadFormat::kRaw}};
    o.dead_letter_topic = "duractor/dead-letter";
    return o;
  }
  void start_bridge(mqtt::BridgeOptions o) {
    auto started = mqtt::Bridge::start(host->broker(), std::move(o));
    REQUIRE_MESSAGE(started, (started ? "" : started.error().to_string()));
    bridge = std::move(*started);
    REQUIRE(eventually([&] { return bridge->stats().connected; }));
  }
  std::vector<int> output(const InstanceId& id) {
    auto out = Waiter.wait(client(), id, 30s);
    REQUIRE_MESSAGE(out, (out ? "" : out.error().to_string()));
    return *out;
  }
};

}  // namespace

TEST_SUITE("mqtt bridge: a real broker") {
  TEST_CASE("an event published on MQTT reaches its instance once, however often it is sent") {
    Runtime rt;
    rt.start_bridge(rt.options());
    REQUIRE(Waiter.start(rt.client(), "w-1", 2));
    MqttTestClient publisher(rt.broker->port(), "publisher");
    publisher.publish("ticks/w-1", "5", "a");
    publisher.publish("ticks/w-1", "5", "a");  // the sender retried: the same message id
    publisher.publish("ticks/w-1", "7", "b");
    CHECK(rt.output("w-1") == std::vector<int>{5, 7});
    CHECK(eventually([&] { return rt.bridge->stats().applied == 3; }));
    CHECK(rt.bridge->stats().dead_lettered == 0);
  }

  TEST_CASE("a batch written but not acknowledged is delivered again, and applied once") {
    Runtime rt;
    auto options = rt.options();
    std::atomic<int> refusals{2};
    options.fault_injector = [&](std::string_view) -> Status {
      if (refusals-- > 0) return fail(ErrorCode::kIo, "injected: the acknowledgement is lost");
      return {};
    };
    options.reconnect_min = 10ms;
    rt.start_bridge(options);
    REQUIRE(Waiter.start(rt.client(), "w-4", 3));
    MqttTestClient publisher(rt.broker->port(), "publisher");
    publisher.publish_all({{"ticks/w-4", "1"}, {"ticks/w-4", "2"}, {"ticks/w-4", "3"}},
                          {"x-1", "x-2", "x-3"});
    CHECK(rt.output("w-4") == std::vector<int>{1, 2, 3});
    // Both refusals were used, each dropped the connection, and the broker delivered the
    // batch again until it was acknowledged.
    CHECK(eventually([&] { return refusals < 0; }));
    CHECK(rt.bridge->stats().received > 3);
    CHECK(rt.bridge->stats().connects >= 3);
    CHECK(rt.bridge->stats().applied == 3);
    // Nothing was left over: a repeat applied twice would wait in the inbox.
    auto inbox = rt.host->store().read_inbox("w-4");
    REQUIRE(inbox);
    CHECK(inbox->empty());
  }

  TEST_CASE("when the store fails a write, nothing of its batch is acknowledged or lost") {
    Runtime rt;
    // The store fails the bridge's first two writes with an I/O error (LmdbOptions' fault
    // injector, at the step only idempotent writes pass: nothing else of this test's fails).
    std::atomic<int> failures{2};
    rt.host.reset();
    auto host_options = test_host_options(rt.dir.sub("store"));
    host_options.lmdb.fault_injector = [&](std::string_view step) -> Status {
      if (step == "message_id.record" && failures-- > 0) {
        return fail(ErrorCode::kIo, "injected: the disk failed");
      }
      return {};
    };
    rt.host = start_host(rt.registry, host_options);
    rt.client_.emplace(rt.host->client());
    REQUIRE(Waiter.start(rt.client(), "w-5", 2));
    auto options = rt.options();
    options.reconnect_min = 10ms;
    rt.start_bridge(options);
    MqttTestClient publisher(rt.broker->port(), "publisher");
    publisher.publish_all({{"ticks/w-5", "1"}, {"ticks/w-5", "2"}}, {"f-1", "f-2"});
    CHECK(rt.output("w-5") == std::vector<int>{1, 2});
    CHECK(failures < 0);  // both failures happened, and a third write passed the step
    CHECK(rt.bridge->stats().dead_lettered == 0);  // an I/O error is not the message's fault
    CHECK(rt.bridge->stats().received > 2);        // the broker delivered them again
  }

  TEST_CASE("a publication on MQTT reaches the instances subscribed to its duractor topic") {
    Runtime rt;
    rt.start_bridge(rt.options());
    REQUIRE(Reader.start(rt.client(), "r-1", Unit{}));
    REQUIRE(eventually([&] {
      auto s = rt.client().status("r-1");
      return s && s->custom_status == "subscribed";
    }));
    MqttTestClient publisher(rt.broker->port(), "publisher");
    publisher.publish("sensors/hall/temp", "21.5 C", "s-1");
    auto out = Reader.wait(rt.client(), "r-1", 30s);
    REQUIRE(out);
    CHECK(*out == "21.5 C");
  }

  TEST_CASE("messages that cannot be applied go to the dead-letter topic with the reason") {
    Runtime rt;
    auto options = rt.options();
    options.max_payload_bytes = 64;
    rt.start_bridge(options);
    REQUIRE(Waiter.start(rt.client(), "done", 0));
    rt.output("done");
    REQUIRE(Waiter.start(rt.client(), "w-2", 1));
    MqttTestClient observer(rt.broker->port(), "observer");
    observer.subscribe("duractor/dead-letter");
    MqttTestClient publisher(rt.broker->port(), "publisher");
    publisher.publish_all({{"ticks/w-2", "{not json"},
                           {"ticks/ghost", "1"},
                           {"ticks/done", "1"},
                           {"ticks/w-2", std::string(65, '1')},
                           {"ticks/w-2", "1"},
                           {"ticks/w-2", "42"}},
                          {"bad-json", "ghost", "finished", "large", "", "good"});
    // The good message behind the bad ones still arrives.
    CHECK(rt.output("w-2") == std::vector<int>{42});
    REQUIRE(observer.wait_received(5, 20s));
    std::map<std::string, std::string> reasons;  // by message id ("" for none)
    for (const auto& m : observer.received()) {
      auto letter = nlohmann::json::parse(m.payload);
      CHECK(letter["topic"].get<std::string>().rfind("ticks/", 0) == 0);
      CHECK(letter["rule"] == 0);
      auto id = letter["message_id"].is_null() ? "" : letter["message_id"].get<std::string>();
      if (!id.empty()) CHECK(m.user_properties.at("message-id") == id);
      reasons[id] = letter["reason"];
    }
    REQUIRE(reasons.size() == 5);
    CHECK(reasons["bad-json"].find("the payload is not JSON") == 0);
    CHECK(reasons["ghost"].find("no instance 'ghost'") != std::string::npos);
    CHECK(reasons["finished"].find("instance 'done' has completed; it accepts no more events") !=
          std::string::npos);
    CHECK(reasons["large"] == "the payload has 65 bytes, over the limit of 64");
    CHECK(reasons[""].find("the message has no id") == 0);
    CHECK(rt.bridge->stats().dead_lettered == 5);
    CHECK(rt.bridge->stats().applied == 1);
  }

  TEST_CASE("lifecycle notifications go out on the topics of the outbound rules") {
    Runtime rt;
    auto options = rt.options();
    options.out = {{.kinds = {LifecycleKind::kCompleted},
                    .orchestration = "Waiter",
                    .topic = "out/{orchestration}/{instance}/{kind}"}};
    rt.start_bridge(options);
    MqttTestClient observer(rt.broker->port(), "observer");
    observer.subscribe("out/#");
    REQUIRE(Waiter.start(rt.client(), "w-3", 1));
    REQUIRE(rt.client().raise("w-3", "tick", 9));
    CHECK(rt.output("w-3") == std::vector<int>{9});
    REQUIRE(observer.wait_received(1, 20s));
    auto m = observer.received().at(0);
    CHECK(m.topic == "out/Waiter/w-3/completed");
    auto body = nlohmann::json::parse(m.payload);
    CHECK(body["instance"] == "w-3");
    CHECK(body["kind"] == "completed");
    CHECK(body["output"] == nlohmann::json::array({9}));
    CHECK(body["message_id"].get<std::string>().rfind("w-3:", 0) == 0);
    CHECK(m.user_properties.at("message-id") == body["message_id"]);
  }

  TEST_CASE("publications from orchestration code go out on the topics of the outbound rules") {
    Runtime rt;
    auto options = rt.options();
    options.out = {{.kinds = {LifecycleKind::kPublished},
                    .topics = {"prices"},
                    .topic = "shop/{topic}/{instance}"},
                   // no kinds: every notification but publications
                   {.orchestration = "Pricer", .topic = "all/{instance}/{kind}"}};
    rt.start_bridge(options);
    MqttTestClient observer(rt.broker->port(), "observer");
    observer.subscribe("shop/#");
    observer.subscribe("all/#");
    REQUIRE(Pricer.run(rt.client(), "p-1", 100, 30s));
    // started and completed on all/, the two publications on "prices" on shop/
    REQUIRE(observer.wait_received(4, 20s));
    std::this_thread::sleep_for(200ms);  // and nothing more: "internal" is not mirrored
    std::vector<MqttMessage> got, all;
    for (const auto& m : observer.received()) {
      (m.topic.rfind("all/", 0) == 0 ? all : got).push_back(m);
    }
    REQUIRE(all.size() == 2);
    CHECK(all[0].topic == "all/p-1/started");
    CHECK(all[1].topic == "all/p-1/completed");
    REQUIRE(got.size() == 2);
    std::vector<int> prices;
    std::set<std::string> ids;
    for (const auto& m : got) {
      CHECK(m.user_properties.at("message-id").find("p-1:1:published:") == 0);
      CHECK(m.topic == "shop/prices/p-1");
      auto body = nlohmann::json::parse(m.payload);
      CHECK(body["kind"] == "published");
      CHECK(body["topic"] == "prices");
      prices.push_back(body["payload"].get<int>());
      ids.insert(body["message_id"].get<std::string>());
    }
    std::sort(prices.begin(), prices.end());
    CHECK(prices == std::vector<int>{100, 101});
    CHECK(ids.size() == 2);  // each publication has its own id (its history event)
  }

  TEST_CASE("bad options are refused, naming the cause") {
    Runtime rt;
    auto refused = [&](mqtt::BridgeOptions o, const std::string& expected) {
      auto r = mqtt::Bridge::start(rt.host->broker(), std::move(o));
      REQUIRE_FALSE(r);
      CHECK(r.error().code == ErrorCode::kInvalidArgument);
      CHECK_MESSAGE(r.error().message.find(expected) != std::string::npos, r.error().message);
    };
    auto o = rt.options();
    o.client_id.clear();
    refused(o, "client_id is empty");
    o = rt.options();
    o.in.push_back({.filter = "a/#/b", .topic = "t"});
    refused(o, "mqtt bridge: inbound rule 2 ('a/#/b'): '#' must be the filter's last level");
    o = rt.options();
    o.batch = 0;
    refused(o, "batch is 0");
  }

  TEST_CASE("the broker restarted under load: every event arrives, once") {
    Runtime rt;
    auto options = rt.options();
    options.reconnect_max = 200ms;
    rt.start_bridge(options);
    constexpr int kInstances = 100, kEvents = 100;
    std::vector<std::pair<std::string, std::string>> messages;
    std::vector<std::string> ids;
    for (int i = 0; i < kInstances; ++i) {
      REQUIRE(Waiter.start(rt.client(), "load-" + std::to_string(i), kEvents));
    }
    for (int e = 0; e < kEvents; ++e) {
      for (int i = 0; i < kInstances; ++i) {
        messages.emplace_back("ticks/load-" + std::to_string(i), std::to_string(e));
        ids.push_back(std::to_string(i) + "/" + std::to_string(e));
      }
    }
    std::atomic<bool> published{false};
    std::jthread publishing([&] {
      MqttTestClient publisher(rt.broker->port(), "publisher");
      publisher.publish_all(messages, ids, 10);
      published = true;
    });
    // Restarts while messages flow, each once the bridge has written more since the last.
    const int restarts = 3;
    bool restarted_while_publishing = false;
    std::vector<std::uint64_t> applied_at_restart;
    for (int restart = 0; restart < restarts; ++restart) {
      auto applied = rt.bridge->stats().applied;
      REQUIRE(eventually([&] { return rt.bridge->stats().applied > applied; }));
      restarted_while_publishing |= !published;
      applied_at_restart.push_back(rt.bridge->stats().applied);
      rt.broker->stop();
      std::this_thread::sleep_for(200ms);
      rt.broker->start();
    }
    publishing.join();
    CHECK(restarted_while_publishing);
    CHECK(applied_at_restart[0] > 0);
    CHECK(applied_at_restart[0] < std::uint64_t(kInstances * kEvents));
    for (int i = 0; i < kInstances; ++i) {
      auto seen = rt.output("load-" + std::to_string(i));
      std::set<int> distinct(seen.begin(), seen.end());
      CHECK(seen.size() == kEvents);
      CHECK(distinct.size() == kEvents);
    }
    CHECK(eventually([&] { return rt.bridge->stats().connects >= std::uint64_t(restarts) + 1; }));
  }
}
