// sub_orchestrations: workflows made of workflows. A global rollout deploys a release to
// three regions in parallel; each region is a sub-orchestration of its own (with an id
// that names it, "rollout-42/eu-west"), which deploys, then verifies. The parent joins the
// regions' results like any other futures, and a failed region reaches it as
// SubOrchestrationFailed. When all are done it starts a detached orchestration that sends
// the release notes: fire and forget, it outlives its parent.
//
//   sub_orchestrations [store-directory]      (default: ./duractor-sub-orchestrations-store)

#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "samples/common.h"

using namespace std::chrono_literals;
using duractor::ActivityContext;
using duractor::DurableFuture;
using duractor::OrchestrationContext;
using duractor::Task;

const duractor::Activity<std::string, std::string> Deploy{"Deploy"};
const duractor::Activity<std::string, bool> Verify{"Verify"};
const duractor::Activity<std::string, void> Announce{"Announce"};
const duractor::Orchestration<std::string, std::string> RegionalDeploy{"RegionalDeploy", 1};
const duractor::Orchestration<std::string, void> ReleaseNotes{"ReleaseNotes", 1};
const duractor::Orchestration<std::string, std::vector<std::string>> GlobalRollout{"GlobalRollout",
                                                                                   1};

std::string deploy(ActivityContext& ctx, std::string target) {
  std::this_thread::sleep_for(30ms);
  std::printf("  deployed %s (%s)\n", target.c_str(), ctx.instance_id().c_str());
  return target + "@" + std::to_string(ctx.attempt());
}
bool verify(ActivityContext&, std::string) {
  return true;
}
void announce(ActivityContext&, std::string release) {
  std::printf("  release notes for %s sent\n", release.c_str());
}

// One region: "<release> <region>" in, a summary out.
Task<std::string> regional_deploy(OrchestrationContext& ctx, std::string target) {
  auto deployed = co_await ctx.call(Deploy, target);
  if (!co_await ctx.call(Verify, deployed))
    throw std::runtime_error(target + " failed verification");
  co_return target + " ok";
}

Task<void> release_notes(OrchestrationContext& ctx, std::string release) {
  co_await ctx.call(Announce, release);
}

const std::vector<std::string> kRegions = {"eu-west", "us-east", "ap-south"};

Task<std::vector<std::string>> global_rollout(OrchestrationContext& ctx, std::string release) {
  std::vector<DurableFuture<std::string>> regions;
  for (const auto& region : kRegions) {
    // An explicit child id: readable in listings and stable across replays.
    regions.push_back(
        ctx.call(RegionalDeploy, release + " " + region,
                 duractor::SubOrchestrationOptions{ctx.instance_id() + "/" + region}));
  }
  auto results = co_await ctx.when_all(std::move(regions));
  ctx.start_detached(ReleaseNotes, release);
  co_return results;
}

int main(int argc, char** argv) {
  duractor::Registry registry;
  registry.add(Deploy, deploy);
  registry.add(Verify, verify);
  registry.add(Announce, announce);
  registry.add(RegionalDeploy, regional_deploy);
  registry.add(ReleaseNotes, release_notes);
  registry.add(GlobalRollout, global_rollout);

  auto host = samples::or_exit(
      duractor::Host::start(
          registry, samples::options(argc > 1 ? argv[1] : "duractor-sub-orchestrations-store")),
      "start");
  auto client = host->client();

  auto regions =
      samples::or_exit(GlobalRollout.run(client, "rollout-42", "release-42", 30s), "rollout");
  for (const auto& r : regions) std::printf("%s\n", r.c_str());
  auto child = samples::or_exit(client.status("rollout-42/eu-west"), "status");
  std::printf("child rollout-42/eu-west: %s, parent %s\n",
              std::string(to_string(child.status)).c_str(),
              child.parent ? child.parent->instance.c_str() : "none");

  // The detached orchestration has an id of its own; list finds it by name.
  duractor::InstanceQuery query;
  query.name = "ReleaseNotes";
  auto notes = samples::or_exit(client.list(query), "list");
  for (const auto& info : notes.instances) {
    auto done = samples::or_exit(client.wait(info.id, 30s), "release notes");
    std::printf("detached %s: %s\n", done.name.c_str(),
                std::string(to_string(done.status)).c_str());
  }
  return 0;
}
