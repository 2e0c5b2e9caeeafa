// replay_check: how a team checks, in CI and before deploying, that new orchestration code
// still replays the histories of instances running in production. Production exports
// instances with `duractor export ID -o FILE`; CI builds this program against the new code
// (its Registry), replays every exported history through the runtime's replay engine (no
// activity runs, nothing is written), prints the report and fails the build on any problem.
//
//   replay_check run STORE                          run today's code on STORE, as production
//                                                   does: order-1 completes, order-2 waits
//                                                   for an approval
//   replay_check check [--release R] [--json] PATH...
//                                                   check export files (a directory: its
//                                                   *.json files) against release R's code:
//                                                   "current" (default), "broken" (it splits
//                                                   charge into authorize + capture in place),
//                                                   "versioned" (the same change as Order v2,
//                                                   v1 kept for the running instances)
//
// Exit status of check: 0 every instance replays; 1 some instance does not
// (nondeterministic, undecodable, unregistered, unreplayable); 2 bad usage or a file that
// cannot be read.

#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "duractor/duractor.h"

using namespace std::chrono_literals;

const duractor::Activity<int, int> Reserve{"reserve"};
const duractor::Activity<int, int> Charge{"charge"};
const duractor::Activity<int, int> Authorize{"authorize"};
const duractor::Activity<int, int> Capture{"capture"};
const duractor::Activity<int, int> Ship{"ship"};
// An order of `amount` cents: reserve, charge, (over 100: wait for an approval), ship.
const duractor::Orchestration<int, int> Order{"Order", 1};
const duractor::Orchestration<int, int> OrderV2{"Order", 2};

// Today's code, running in production.
duractor::Task<int> order(duractor::OrchestrationContext& ctx, int amount) {
  co_await ctx.call(Reserve, amount);
  int charged = co_await ctx.call(Charge, amount);
  if (amount > 100) {
    ctx.set_custom_status("awaiting approval");
    co_await ctx.wait_event<bool>("approval");
  }
  co_await ctx.call(Ship, amount);
  co_return charged;
}

// The next release: charging is split into authorize and capture.
duractor::Task<int> order_split_charge(duractor::OrchestrationContext& ctx, int amount) {
  co_await ctx.call(Reserve, amount);
  int authorized = co_await ctx.call(Authorize, amount);
  co_await ctx.call(Capture, authorized);
  if (amount > 100) {
    ctx.set_custom_status("awaiting approval");
    co_await ctx.wait_event<bool>("approval");
  }
  co_await ctx.call(Ship, amount);
  co_return authorized;
}

duractor::Registry registry_of(const std::string& release) {
  duractor::Registry r;
  r.add(Reserve, [](duractor::ActivityContext&, int amount) { return amount; });
  r.add(Charge, [](duractor::ActivityContext&, int amount) { return amount; });
  r.add(Authorize, [](duractor::ActivityContext&, int amount) { return amount; });
  r.add(Capture, [](duractor::ActivityContext&, int amount) { return amount; });
  r.add(Ship, [](duractor::ActivityContext&, int amount) { return amount; });
  if (release == "current") {
    r.add(Order, order);
  } else if (release == "broken") {
    r.add(Order, order_split_charge);  // changed in place: running instances break
  } else {
    r.add(Order, order);  // kept for the instances started on it
    r.add(OrderV2, order_split_charge);
  }
  return r;
}

int run(const std::string& store) {
  auto registry = registry_of("current");
  duractor::HostOptions options;
  options.lmdb.path = store;
  auto host = duractor::Host::start(registry, options);
  if (!host) {
    std::fprintf(stderr, "replay_check: %s\n", host.error().to_string().c_str());
    return 2;
  }
  auto client = (*host)->client();
  auto done = Order.run(client, "order-1", 40, 30s);
  if (!done) {
    std::fprintf(stderr, "replay_check: order-1: %s\n", done.error().to_string().c_str());
    return 2;
  }
  std::printf("order-1 completed: charged %d\n", *done);
  if (auto started = Order.start(client, "order-2", 500); !started) {
    std::fprintf(stderr, "replay_check: order-2: %s\n", started.error().to_string().c_str());
    return 2;
  }
  // Wait until order-2 waits for its approval (or ran on an earlier run and waits still).
  for (int i = 0; i < 3000; ++i) {
    auto info = client.status("order-2");
    if (info && info->custom_status == "awaiting approval") {
      std::printf("order-2 running: awaiting approval\n");
      return 0;
    }
    std::this_thread::sleep_for(10ms);
  }
  std::fprintf(stderr, "replay_check: order-2 did not reach its approval\n");
  return 2;
}

int check(const std::string& release, bool json, const std::vector<std::string>& paths) {
  auto registry = registry_of(release);
  auto report = duractor::replay_check_files(registry, paths);
  if (!report) {
    std::fprintf(stderr, "replay_check: %s\n", report.error().message.c_str());
    return 2;
  }
  std::fputs(json ? report->json().c_str() : report->text().c_str(), stdout);
  return report->ok() ? 0 : 1;
}

int usage() {
  std::fprintf(stderr,
               "usage: replay_check run STORE\n"
               "       replay_check check [--release current|broken|versioned] [--json] PATH...\n");
  return 2;
}

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.size() == 2 && args[0] == "run") return run(args[1]);
  if (args.empty() || args[0] != "check") return usage();
  std::string release = "current";
  bool json = false;
  std::vector<std::string> paths;
  for (std::size_t i = 1; i < args.size(); ++i) {
    if (args[i] == "--json") {
      json = true;
    } else if (args[i] == "--release" && i + 1 < args.size()) {
      release = args[++i];
      if (release != "current" && release != "broken" && release != "versioned") return usage();
    } else {
      paths.push_back(args[i]);
    }
  }
  if (paths.empty()) return usage();
  return check(release, json, paths);
}
