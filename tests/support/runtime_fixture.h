#pragma once
// The registry and runtime shared by the actors runtime tests (tests/actors/runtime_*_test.cc):
// a few activities and orchestrations (greeting, fan-out, retried, parent and child), a
// fault injector for history commits, and Runtime, a host on a fresh store directory.

#include <atomic>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "duractor/actors/client.h"
#include "duractor/actors/host.h"
#include "duractor/store/lmdb_store.h"
#include "tests/support/host_fixture.h"

namespace duractor::testing::runtime_fixture {

inline const Activity<std::string, std::string> Greet{"Greet"};
inline const Activity<int, int> Double{"Double"};
inline const Activity<int, int> Flaky{"Flaky"};
inline const Activity<int, int> Slow{"Slow"};
inline const Orchestration<std::string, std::string> Hello{"Hello", 1};
inline const Orchestration<int, int> FanOut{"FanOut", 1};
inline const Orchestration<int, int> Child{"Child", 1};
inline const Orchestration<int, int> Parent{"Parent", 1};

inline std::atomic<int> flaky_calls{0};

// Fails the next `left` commits of history with `code` and `message`, then lets them pass.
inline FaultInjector failing_history_commits(std::atomic<int>& left, ErrorCode code,
                                             std::string message) {
  return [&left, code, message](std::string_view step) -> Status {
    if (step == "commit_turn.history" && left > 0) {
      --left;
      return fail(code, message);
    }
    return {};
  };
}

inline void add_common(Registry& r) {
  r.add(Greet, [](ActivityContext&, std::string name) { return "Hello, " + name; });
  r.add(Double, [](ActivityContext&, int x) { return 2 * x; });
  r.add(Flaky, [](ActivityContext& ctx, int x) {
    ++flaky_calls;
    if (ctx.attempt() < 3)
      throw std::runtime_error("not yet (attempt " + std::to_string(ctx.attempt()) + ")");
    return x + 100;
  });
  r.add(Hello, [](OrchestrationContext& ctx, std::string name) -> Task<std::string> {
    ctx.set_custom_status("greeting " + name);
    co_return co_await ctx.call(Greet, name);
  });
  r.add(FanOut, [](OrchestrationContext& ctx, int n) -> Task<int> {
    std::vector<DurableFuture<int>> calls;
    for (int i = 0; i < n; ++i) calls.push_back(ctx.call(Double, i));
    int sum = 0;
    for (int v : co_await ctx.when_all(std::move(calls))) sum += v;
    co_return sum;
  });
  r.add(Child, [](OrchestrationContext& ctx, int x) -> Task<int> {
    co_return co_await ctx.call(Double, x) + 1;
  });
  r.add(Parent, [](OrchestrationContext& ctx, int x) -> Task<int> {
    int a = co_await ctx.call(Child, x);
    int b = co_await ctx.call(Child, x + 1, {"explicit-child"});
    co_return a + b;
  });
}

struct Runtime {
  explicit Runtime(const Clock* clock = nullptr, std::function<void(Registry&)> extra = {}) {
    add_common(registry);
    if (extra) extra(registry);
    host = start_host(registry, test_host_options(dir.sub("store"), clock));
  }
  TempDir dir;
  Registry registry;
  std::unique_ptr<Host> host;
  Client client() { return host->client(); }
};

}  // namespace duractor::testing::runtime_fixture
