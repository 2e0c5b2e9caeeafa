// Version 1 of the Greeting orchestration, as a plugin: it waits for the "go" event, then
// has its own activity compose a plain greeting.

#include "duractor/runtime/plugin.h"
#include "samples/plugins/greeting.h"

namespace {

const duractor::Activity<std::string, std::string> Compose{"greeting.v1.Compose"};

std::string compose(duractor::ActivityContext&, std::string name) {
  return "v1: Hello, " + name + ".";
}

duractor::Task<std::string> greeting_v1(duractor::OrchestrationContext& ctx, std::string name) {
  auto from = co_await ctx.wait_event<std::string>(greeting::kGo);
  auto text = co_await ctx.call(Compose, name);
  co_return text + " (go from " + from + ")";
}

}  // namespace

DURACTOR_PLUGIN(registry) {
  registry.add(Compose, compose);
  registry.add(greeting::V1, greeting_v1);
}
