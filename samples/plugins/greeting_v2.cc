// Version 2 of the Greeting orchestration, as a plugin: the same wait, then a new activity
// and a new text. Activities of different versions keep different names, so that both
// libraries can be loaded side by side.

#include "duractor/runtime/plugin.h"
#include "samples/plugins/greeting.h"

namespace {

const duractor::Activity<std::string, std::string> ComposeFormal{"greeting.v2.ComposeFormal"};

std::string compose_formal(duractor::ActivityContext&, std::string name) {
  return "v2: Good day, " + name + "!";
}

duractor::Task<std::string> greeting_v2(duractor::OrchestrationContext& ctx, std::string name) {
  auto from = co_await ctx.wait_event<std::string>(greeting::kGo);
  auto text = co_await ctx.call(ComposeFormal, name);
  co_return text + " (go from " + from + ")";
}

}  // namespace

// snippet: plugin
DURACTOR_PLUGIN(registry) {
  registry.add(ComposeFormal, compose_formal);
  registry.add(greeting::V2, greeting_v2);
}
// end snippet
