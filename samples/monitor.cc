// monitor: an eternal orchestration. It checks a service's health on a durable timer,
// remembers the last few results, and alerts when the service has been down three checks
// in a row. Each round ends with continue-as-new, which starts a fresh execution of the
// same instance with the state as its input: the history never grows, however long the
// monitor runs. A "Stop" event (from a client, the CLI or another workflow) ends it; it is
// raced against each round's timer.
//
// The sample checks every 100 ms, lets the monitor run for about a second, and stops it.
//
//   monitor [store-directory]      (default: ./duractor-monitor-store)

#include <msgpack.hpp>

#include <atomic>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "samples/common.h"

using namespace std::chrono_literals;
using duractor::ActivityContext;
using duractor::OrchestrationContext;
using duractor::Task;

struct Watch {
  std::string url;
  int interval_ms = 0;
  int round = 0;
  std::vector<bool> recent;  // the last checks, newest last (at most 3)
  bool alerted = false;      // alerted for the current outage
  MSGPACK_DEFINE(url, interval_ms, round, recent, alerted)
};

const duractor::Activity<std::string, bool> CheckHealth{"CheckHealth"};
const duractor::Activity<std::string, void> Alert{"Alert"};
const duractor::Orchestration<Watch, int> Monitor{"Monitor", 1};

// The service is down on checks 4 to 7.
std::atomic<int> checks{0};
bool check_health(ActivityContext&, std::string) {
  int n = ++checks;
  return n < 4 || n > 7;
}
void alert(ActivityContext&, std::string message) {
  std::printf("  ALERT: %s\n", message.c_str());
}

// One round per execution; returns the number of rounds when stopped.
Task<int> monitor(OrchestrationContext& ctx, Watch watch) {
  bool up = co_await ctx.call(CheckHealth, watch.url);
  watch.recent.push_back(up);
  if (watch.recent.size() > 3) watch.recent.erase(watch.recent.begin());
  bool down3 = watch.recent.size() == 3 && !watch.recent[0] && !watch.recent[1] && !watch.recent[2];
  if (down3 && !watch.alerted) co_await ctx.call(Alert, watch.url + " down for 3 checks");
  if (up) watch.alerted = false;
  if (down3) watch.alerted = true;
  ctx.set_custom_status("round " + std::to_string(watch.round) + ": " + (up ? "up" : "down"));

  auto next = co_await ctx.when_any(ctx.wait_event<std::string>("Stop"),
                                    ctx.timer(std::chrono::milliseconds(watch.interval_ms)));
  if (next.index() == 0) {
    ctx.log().info("stopped: {}", next.get<0>());
    co_return watch.round;
  }
  ++watch.round;
  co_await ctx.continue_as_new(watch);  // never returns
  co_return -1;
}

int main(int argc, char** argv) {
  duractor::Registry registry;
  registry.add(CheckHealth, check_health);
  registry.add(Alert, alert);
  registry.add(Monitor, monitor);

  auto host = samples::or_exit(
      duractor::Host::start(registry,
                            samples::options(argc > 1 ? argv[1] : "duractor-monitor-store")),
      "start");
  auto client = host->client();

  samples::or_exit(Monitor.start(client, "monitor-shop",
                                 Watch{"https://shop.example/health", 100, 0, {}, false}),
                   "start monitor");
  std::string last;
  for (int i = 0; i < 100; ++i) {  // about a second
    auto info = samples::or_exit(Monitor.status(client, "monitor-shop"), "status");
    if (info.status != duractor::InstanceStatus::kPending &&
        info.status != duractor::InstanceStatus::kRunning)
      break;
    if (info.custom_status != last && !info.custom_status.empty()) {
      last = info.custom_status;
      std::printf("monitor-shop execution %llu: %s\n",
                  static_cast<unsigned long long>(info.execution), last.c_str());
    }
    std::this_thread::sleep_for(10ms);
  }
  auto stopped = client.raise("monitor-shop", "Stop", std::string("maintenance window"));
  if (!stopped && stopped.error().code != duractor::ErrorCode::kFailedPrecondition)
    samples::or_exit(stopped, "stop");
  int rounds = samples::or_exit(Monitor.wait(client, "monitor-shop", 30s), "monitor");
  auto history = samples::or_exit(client.history("monitor-shop", 0), "history");
  std::printf("monitor-shop stopped after %d rounds; its current history has %zu events\n",
              rounds + 1, history.size());
  return 0;
}
