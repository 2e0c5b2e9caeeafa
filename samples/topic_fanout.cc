// topic_fanout: publish/subscribe through the broker. Three price alerts, each an
// orchestration, subscribe to the topic "prices" from their code (durably: the
// subscription survives restarts and continue-as-new) and read prices until theirs is
// reached. The program publishes a series of prices, then a ticker orchestration publishes
// the next ones from its own code (ctx.publish: recorded in its history, delivered with its
// turn's commit, never again on replay); every publication reaches every subscribed
// instance once, in publish order, and is durable in their inboxes before publish()
// returns (before the ticker's turn commits). A lifecycle subscription prints each alert as
// it completes — the way a service learns what its workflows did without polling.
//
//   topic_fanout [store-directory]      (default: ./duractor-topic-store)

#include <msgpack.hpp>

#include <cstdio>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "duractor/duractor.h"
#include "samples/common.h"

using namespace std::chrono_literals;
using duractor::OrchestrationContext;
using duractor::Task;

struct Alert {
  std::string who;
  int below_cents = 0;  // alert when the price drops below this
  MSGPACK_DEFINE(who, below_cents)
};

const duractor::Orchestration<Alert, int> PriceAlert{"PriceAlert", 1};

// Returns the price that triggered the alert.
Task<int> price_alert(OrchestrationContext& ctx, Alert alert) {
  ctx.subscribe("prices");
  ctx.set_custom_status("watching");
  for (;;) {
    int price = co_await ctx.next_message<int>("prices");
    if (price < alert.below_cents) co_return price;  // finishing ends the subscription
  }
}

const duractor::Orchestration<std::vector<int>, int> Ticker{"Ticker", 1};

// Publishes `prices` on "prices" from orchestration code; returns how many.
Task<int> ticker(OrchestrationContext& ctx, std::vector<int> prices) {
  for (int price : prices) ctx.publish("prices", price);
  co_return static_cast<int>(prices.size());
}

int main(int argc, char** argv) {
  duractor::Registry registry;
  registry.add(PriceAlert, price_alert);
  registry.add(Ticker, ticker);

  auto host =
      samples::or_exit(duractor::Host::start(
                           registry, samples::options(argc > 1 ? argv[1] : "duractor-topic-store")),
                       "start");
  auto client = host->client();

  // Tell us when an alert fires (after its commit).
  std::mutex out;
  auto notifications = host->broker().lifecycle().subscribe(
      duractor::LifecycleFilter{{duractor::LifecycleKind::kCompleted}, "PriceAlert", std::nullopt},
      [&](const duractor::LifecycleEvent& e) {
        auto price = duractor::decode<int>(e.output);
        std::lock_guard lock(out);
        std::printf("  notified: %s fired at %d cents\n", e.instance.c_str(), price ? *price : -1);
      });

  std::vector<Alert> alerts = {{"ada", 950}, {"grace", 900}, {"linus", 800}};
  for (const auto& a : alerts)
    samples::or_exit(PriceAlert.start(client, "alert-" + a.who, a), "start");
  // Publications reach the instances subscribed when they commit: wait for the three.
  for (const auto& a : alerts) {
    while (samples::or_exit(client.status("alert-" + a.who), "status").custom_status !=
           "watching") {
      std::this_thread::sleep_for(5ms);
    }
  }
  for (int price : {1000, 990, 940}) {
    auto receipt = samples::or_exit(client.publish("prices", price), "publish");
    std::lock_guard lock(out);
    std::printf("published %d cents: %zu subscribed\n", price, receipt.delivered.size());
  }
  // The next prices come from a workflow (a second run finds it done: nothing is published
  // again).
  samples::or_exit(Ticker.start(client, "ticker", std::vector<int>{890, 870, 790}), "start");
  auto published = samples::or_exit(Ticker.wait(client, "ticker", 30s), "wait");
  {
    std::lock_guard lock(out);
    std::printf("ticker: completed, published %d prices from its code\n", published);
  }
  for (const auto& a : alerts) {
    auto info = samples::or_exit(client.wait("alert-" + a.who, 30s), "wait");
    std::lock_guard lock(out);
    std::printf("alert-%s: %s\n", a.who.c_str(), std::string(to_string(info.status)).c_str());
  }
  return 0;
}
