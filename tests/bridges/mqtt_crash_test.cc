// Exactly once through crashes: 10,000 events published through a real broker to 100
// waiting instances while the runtime process (mqtt_crash_child) is SIGKILLed again and
// again and started anew — twice from outside at a random moment, twice from inside at the
// worst one, after a batch's commit and before its acknowledgement. The broker delivers
// again what the dead process had not acknowledged; the message ids absorb what it had
// applied. Every instance must end with
// each of its events exactly once.

#include <doctest/doctest.h>

#include <optional>
#include <random>
#include <set>
#include <thread>

#include "duractor/duractor.h"
#include "tests/bridges/waiter.h"
#include "tests/support/host_fixture.h"
#include "tests/support/mqtt_broker.h"
#include "tests/support/program.h"

using namespace duractor;
using namespace duractor::testing;
using namespace std::chrono_literals;

TEST_SUITE("mqtt bridge: crashes") {
  TEST_CASE("10,000 events through the broker while the runtime is killed: each arrives once") {
    constexpr int kInstances = 100, kEvents = 100, kKills = 4;
    TempDir dir("mqtt-crash");
    std::filesystem::create_directories(dir.sub("broker"));
    MqttBroker broker(dir.sub("broker"));
    auto child = [&](std::optional<int> die_at_batch = std::nullopt) {
      std::vector<std::string> args{dir.sub("store"), std::to_string(broker.port()),
                                    std::to_string(kInstances), std::to_string(kEvents)};
      if (die_at_batch) args.push_back(std::to_string(*die_at_batch));
      return std::make_unique<Program>(MQTT_CRASH_CHILD_BIN, args);
    };
    auto runtime = child();
    REQUIRE_MESSAGE(runtime->read_until("ready", 60s), runtime->output());

    std::vector<std::pair<std::string, std::string>> messages;
    std::vector<std::string> ids;
    for (int e = 0; e < kEvents; ++e) {
      for (int i = 0; i < kInstances; ++i) {
        messages.emplace_back("ticks/c-" + std::to_string(i), std::to_string(e));
        ids.push_back(std::to_string(i) + "/" + std::to_string(e));
      }
    }
    std::jthread publishing([&] {
      MqttTestClient publisher(broker.port(), "publisher");
      publisher.publish_all(messages, ids, 50);
    });

    // Runs 1 and 3 are killed by us once they have written some messages; runs 2 and 4 kill
    // themselves between a batch's commit and its acknowledgement, at a random batch.
    std::mt19937 random(20261204);
    std::uniform_int_distribution<int> pause_ms(0, 150), batch(1, 5);
    std::vector<std::string> applied_per_run;
    for (int kill = 0; kill < kKills; ++kill) {
      if (kill % 2 == 0) {
        auto progress = runtime->read_until("applied ", 60s);
        REQUIRE_MESSAGE(progress, runtime->output());
        std::this_thread::sleep_for(std::chrono::milliseconds(pause_ms(random)));
        // 137: our SIGKILL ended it (anything else: it had died by itself).
        REQUIRE_MESSAGE(runtime->kill() == 137, runtime->output());
        applied_per_run.push_back(*progress);
      } else {
        REQUIRE_MESSAGE(runtime->wait(60s) == 137, runtime->output());
        applied_per_run.push_back("died in the window");
      }
      for (const auto& line : runtime->lines()) {
        CHECK_MESSAGE(line.find("all complete") == std::string::npos,
                      "run " << kill << " finished everything before it was killed");
      }
      if (kill % 2 == 0) {
        runtime = child(batch(random));  // may die before it says it is ready
      } else {
        runtime = child();
        REQUIRE_MESSAGE(runtime->read_until("ready", 60s), runtime->output());
      }
    }
    publishing.join();
    REQUIRE_MESSAGE(runtime->read_until("all complete", 120s), runtime->output());
    REQUIRE(runtime->kill() == 137);
    MESSAGE("each run, when it died: " << applied_per_run[0] << ", " << applied_per_run[1] << ", "
                                       << applied_per_run[2] << ", " << applied_per_run[3]);

    // Read the results with a host of our own on the store the child left.
    Registry registry;
    registry.add(Waiter, waiter);
    auto host = start_host(registry, test_host_options(dir.sub("store")));
    auto client = host->client();
    int exact = 0;
    for (int i = 0; i < kInstances; ++i) {
      auto seen = Waiter.wait(client, "c-" + std::to_string(i), 10s);
      REQUIRE_MESSAGE(seen, (seen ? "" : seen.error().to_string()));
      std::set<int> distinct(seen->begin(), seen->end());
      CHECK(seen->size() == kEvents);
      CHECK(distinct.size() == kEvents);
      exact += distinct.size() == kEvents && seen->size() == kEvents;
      // Nothing was left over: a duplicate would wait in the inbox of a finished instance.
      auto inbox = host->store().read_inbox("c-" + std::to_string(i));
      REQUIRE(inbox);
      CHECK(inbox->empty());
    }
    CHECK(exact == kInstances);
  }
}
