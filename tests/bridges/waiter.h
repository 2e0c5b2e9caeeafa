#pragma once
// The workflow of the MQTT bridge's tests: Waiter(n) waits for n "tick" events (ints) and
// completes with them in the order taken, so that a lost event keeps it waiting and a
// duplicate shows in its output.

#include <vector>

#include "duractor/duractor.h"

namespace duractor::testing {

inline const Orchestration<int, std::vector<int>> Waiter{"Waiter"};

inline Task<std::vector<int>> waiter(OrchestrationContext& ctx, int n) {
  std::vector<int> seen;
  for (int i = 0; i < n; ++i) seen.push_back(co_await ctx.wait_event<int>("tick"));
  co_return seen;
}

}  // namespace duractor::testing
