// plugins: versions of a workflow as shared libraries. The host program names no
// orchestration; it loads the libraries given with --plugin (dlopen) into its registry and
// starts the runtime. Deploying version 2 means adding its library to the next start:
// instances begun on v1 finish on v1's code, new ones begin on v2.
//
//   plugins STORE --plugin LIB... start ID...    start Greeting instances (the latest
//                                                version loaded); they wait for "go"
//   plugins STORE --plugin LIB... finish ID...   send "go" to each and print the result
//
// A library that cannot be loaded, is not a plugin, or registers what another one already
// did, stops the program before the runtime starts (exit 2), naming the library.

#include <CLI/CLI.hpp>

#include <cstdio>
#include <vector>

#include "duractor/duractor.h"
#include "duractor/runtime/plugin.h"
#include "samples/plugins/greeting.h"

using namespace std::chrono_literals;

int main(int argc, char** argv) {
  CLI::App app{"duractor sample: workflow versions as plug-ins"};
  std::string store;
  std::vector<std::string> libraries;
  std::string command;
  std::vector<std::string> ids;
  app.add_option("store", store, "the store directory")->required();
  app.add_option("--plugin", libraries, "a plugin library to load (repeatable)")
      ->required()
      ->allow_extra_args(false);
  app.add_option("command", command, "start or finish")
      ->required()
      ->check(CLI::IsMember({"start", "finish"}));
  app.add_option("ids", ids, "instance ids")->required();
  CLI11_PARSE(app, argc, argv);

  duractor::Registry registry;
  std::vector<duractor::Plugin> plugins;
  for (const auto& path : libraries) {
    auto plugin = duractor::Plugin::load(path, registry);
    if (!plugin) {
      std::fprintf(stderr, "plugins: %s\n", plugin.error().to_string().c_str());
      return 2;
    }
    plugins.push_back(std::move(*plugin));
  }

  duractor::HostOptions options;
  options.lmdb.path = store;
  auto host = duractor::Host::start(registry, options);
  if (!host) {
    std::fprintf(stderr, "plugins: %s\n", host.error().to_string().c_str());
    return 1;
  }
  auto client = (*host)->client();
  int failures = 0;
  for (const auto& id : ids) {
    if (command == "start") {
      auto latest = registry.orchestration(greeting::V1.name, 0);
      auto started = client.start(greeting::V1.name, id, duractor::encode(id));
      if (!latest || !started) {
        auto& e = latest ? started.error() : latest.error();
        std::fprintf(stderr, "plugins: %s: %s\n", id.c_str(), e.to_string().c_str());
        ++failures;
        continue;
      }
      std::printf("%s: started on Greeting v%u\n", id.c_str(), (*latest)->version);
    } else {
      auto raised = client.raise(id, greeting::kGo, std::string("ops"));
      auto done = raised
                      ? client.wait(id, 30s)
                      : duractor::Result<duractor::InstanceInfo>(std::unexpected(raised.error()));
      if (!done) {
        std::fprintf(stderr, "plugins: %s: %s\n", id.c_str(), done.error().to_string().c_str());
        ++failures;
        continue;
      }
      auto output = duractor::decode<std::string>(done->output);
      std::printf("%s: %s on v%u: %s\n", id.c_str(),
                  std::string(duractor::to_string(done->status)).c_str(), done->version,
                  output ? output->c_str() : "(no output)");
    }
  }
  return failures == 0 ? 0 : 1;
}
