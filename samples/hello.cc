// hello: the smallest complete duractor program. It registers an activity and an
// orchestration, starts the runtime on a store directory, runs one instance and prints its
// result. Run it twice: the second run finds the first run's instance and, since starting
// an existing id with the same input is idempotent, simply reads its result again.
//
//   hello [store-directory] [name]      (defaults: ./duractor-hello-store, "world")

#include <cstdio>
#include <string>

#include "duractor/duractor.h"

using namespace std::chrono_literals;

const duractor::Activity<std::string, std::string> Greet{"Greet"};
const duractor::Orchestration<std::string, std::string> Hello{"Hello", 1};

// An activity: ordinary code, run at least once, may block.
std::string greet(duractor::ActivityContext& ctx, std::string name) {
  ctx.log().info("greeting {}", name);
  return "Hello, " + name + "!";
}

// An orchestration: deterministic code whose every step is recorded and replayed.
duractor::Task<std::string> hello(duractor::OrchestrationContext& ctx, std::string name) {
  auto greeting = co_await ctx.call(Greet, name);
  ctx.set_custom_status("greeted " + name);
  co_return greeting;
}

int main(int argc, char** argv) {
  duractor::Registry registry;
  registry.add(Greet, greet);
  registry.add(Hello, hello);

  duractor::HostOptions options;
  options.lmdb.path = argc > 1 ? argv[1] : "duractor-hello-store";
  auto host = duractor::Host::start(registry, options);
  if (!host) {
    std::fprintf(stderr, "hello: %s\n", host.error().to_string().c_str());
    return 1;
  }
  auto client = (*host)->client();
  std::string name = argc > 2 ? argv[2] : "world";
  auto result = Hello.run(client, "hello-" + name, name, 30s);
  if (!result) {
    std::fprintf(stderr, "hello: %s\n", result.error().to_string().c_str());
    return 1;
  }
  std::printf("%s\n", result->c_str());
  return 0;
}
