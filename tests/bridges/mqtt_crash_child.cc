// The runtime process of the MQTT crash test (mqtt_crash_test.cc): a host on a durable
// store (sync on) with the bridge, and `instances` Waiters each waiting for `events` ticks
// from MQTT topic ticks/<id>. Prints "ready" once the bridge is connected, "applied N" every
// 20 ms while N (the messages it wrote) grows, then "all complete" once every instance has
// finished, and runs until it is killed.
//
// With DIE-AT-BATCH N it kills itself (SIGKILL) at the bridge's Nth "mqtt.written": its
// writes durable, their acknowledgements not yet sent, so the broker delivers them again.
//
//   mqtt_crash_child STORE-DIR BROKER-PORT INSTANCES EVENTS [DIE-AT-BATCH]

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

#include "duractor/bridges/mqtt/bridge.h"
#include "duractor/duractor.h"
#include "tests/bridges/waiter.h"

using namespace duractor;
using duractor::testing::Waiter;
using duractor::testing::waiter;
using namespace std::chrono_literals;

int main(int argc, char** argv) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  if (argc != 5 && argc != 6) {
    std::fprintf(stderr,
                 "usage: mqtt_crash_child STORE-DIR BROKER-PORT INSTANCES EVENTS [DIE-AT-BATCH]\n");
    return 2;
  }
  const int instances = std::atoi(argv[3]);
  const int events = std::atoi(argv[4]);
  Registry registry;
  registry.add(Waiter, waiter);
  HostOptions options;
  options.lmdb.path = argv[1];  // sync on: every acknowledged message is on disk
  auto host = Host::start(registry, options);
  if (!host) {
    std::fprintf(stderr, "host: %s\n", host.error().to_string().c_str());
    return 1;
  }
  auto client = (*host)->client();
  for (int i = 0; i < instances; ++i) {
    if (auto started = Waiter.start(client, "c-" + std::to_string(i), events); !started) {
      std::fprintf(stderr, "start: %s\n", started.error().to_string().c_str());
      return 1;
    }
  }
  mqtt::BridgeOptions bridge_options;
  bridge_options.port = static_cast<std::uint16_t>(std::atoi(argv[2]));
  bridge_options.client_id = "crash-test-runtime";
  bridge_options.reconnect_max = 200ms;
  bridge_options.in = {{.filter = "ticks/+", .instance = "{1}", .event = "tick"}};
  if (argc == 6) {
    bridge_options.fault_injector =
        [batches = 0, die_at = std::atoi(argv[5])](std::string_view) mutable -> Status {
      if (++batches == die_at) std::raise(SIGKILL);
      return {};
    };
  }
  auto bridge = mqtt::Bridge::start((*host)->broker(), bridge_options);
  if (!bridge) {
    std::fprintf(stderr, "bridge: %s\n", bridge.error().to_string().c_str());
    return 1;
  }
  while (!(*bridge)->stats().connected) std::this_thread::sleep_for(5ms);
  std::printf("ready\n");
  std::uint64_t reported = 0;
  for (int round = 0;; ++round) {
    std::this_thread::sleep_for(20ms);
    if (auto applied = (*bridge)->stats().applied; applied != reported) {
      std::printf("applied %llu\n", static_cast<unsigned long long>(applied));
      reported = applied;
    }
    if (round % 5 != 0) continue;
    bool all = true;
    for (int i = 0; i < instances && all; ++i) {
      auto info = client.status("c-" + std::to_string(i));
      all = info && is_terminal(info->status);
    }
    if (all) break;
  }
  std::printf("all complete\n");
  for (;;) std::this_thread::sleep_for(1s);
}
