// The README's hello workflow, built against an installed duractor: start it, wait for its
// result, print it with the library's version.
#include <chrono>
#include <cstdio>
#include <string>

#include <duractor/duractor.h>

const duractor::Activity<std::string, std::string> Greet{"Greet"};
const duractor::Orchestration<std::string, std::string> Hello{"Hello", 1};

std::string greet(duractor::ActivityContext&, std::string name) {
  return "Hello, " + name + "!";
}

duractor::Task<std::string> hello(duractor::OrchestrationContext& ctx, std::string name) {
  co_return co_await ctx.call(Greet, name);
}

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: consumer STORE_DIR\n");
    return 2;
  }
  duractor::Registry registry;
  registry.add(Greet, greet);
  registry.add(Hello, hello);
  duractor::HostOptions options;
  options.lmdb.path = argv[1];
  auto host = duractor::Host::start(registry, options);
  if (!host) {
    std::fprintf(stderr, "start: %s\n", host.error().to_string().c_str());
    return 1;
  }
  auto client = (*host)->client();
  auto result = Hello.run(client, "consumer-hello", "consumer", std::chrono::seconds(30));
  if (!result) {
    std::fprintf(stderr, "run: %s\n", result.error().to_string().c_str());
    return 1;
  }
  std::printf("%s (duractor %s)\n", result->c_str(), duractor::version());
  return 0;
}
