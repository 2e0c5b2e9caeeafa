#include "samples/provisioning/workflow.h"

#include <optional>

#include "duractor/duractor.h"

namespace provisioning {

using namespace std::chrono_literals;
using duractor::ActivityContext;
using duractor::DurableFuture;
using duractor::OrchestrationContext;
using duractor::Task;

const duractor::Orchestration<Spec, Environment> Provision{"Provision", 1};
const duractor::Orchestration<Resource, int> WaitHealthy{"WaitHealthy", 1};

namespace {

const duractor::Activity<CreateRequest, Resource> Create{"Create"};
const duractor::Activity<Resource, void> Delete{"Delete"};
const duractor::Activity<Resource, bool> CheckHealth{"CheckHealth"};
const duractor::Activity<DeployRequest, void> Deploy{"Deploy"};

// Cloud calls fail now and then (503): retry them, with backoff, before giving up. A 4xx
// answer will be the same next time: the activities report it as NonRetryableError, which
// the policy does not retry.
duractor::RetryPolicy cloud_retry() {
  return duractor::RetryPolicy::exponential(6, 100ms, 2.0, 2s).with_attempt_timeout(30s);
}

Resource to_payload(const CloudResource& r) {
  return {r.id, r.kind, r.name, r.address};
}

// Runs a cloud call for an activity: a client error (4xx: forbidden, quota, not found)
// fails the activity for good; anything else (503) is left to the retry policy.
template <class F>
auto cloud_call(F&& call) -> decltype(call()) {
  try {
    return call();
  } catch (const CloudError& e) {
    if (e.status() >= 400 && e.status() < 500) throw duractor::NonRetryableError(e.what());
    throw;
  }
}

// Polls a VM's health check until it answers, waiting longer each time (a durable timer:
// a restart in the middle does not start the waiting over).
Task<int> wait_healthy(OrchestrationContext& ctx, Resource vm) {
  auto delay = std::chrono::milliseconds(100);
  for (int check = 1; check <= 8; ++check) {
    if (co_await ctx.call(CheckHealth, vm, cloud_retry())) co_return check;
    ctx.set_custom_status("check " + std::to_string(check) + ": not yet");
    co_await ctx.timer(delay);
    delay = std::min(delay * 2, std::chrono::milliseconds(2000));
  }
  throw std::runtime_error(vm.name + " did not become healthy after 8 checks");
}

Task<Environment> provision(OrchestrationContext& ctx, Spec spec) {
  Environment env;
  env.name = spec.name;
  env.release = spec.release;
  // Everything created so far, in order: on failure it is deleted in reverse.
  std::vector<Resource>& created = env.resources;
  std::optional<std::string> failure;
  try {
    ctx.set_custom_status("creating network");
    CreateRequest net_request{"network", spec.name + "-net", ""};
    Resource net = co_await ctx.call(Create, net_request, cloud_retry());
    created.push_back(net);

    ctx.set_custom_status("creating database and " + std::to_string(spec.vms) + " VMs");
    std::vector<DurableFuture<Resource>> parallel;  // all started before the first await
    CreateRequest db_request{"database", spec.name + "-db", net.id};
    parallel.push_back(ctx.call(Create, db_request, cloud_retry()));
    for (int i = 1; i <= spec.vms; ++i) {
      CreateRequest vm_request{"vm", spec.name + "-vm-" + std::to_string(i), net.id};
      parallel.push_back(ctx.call(Create, vm_request, cloud_retry()));
    }
    // Await each, so that everything that was created is known even if one failed.
    std::vector<Resource> vms;
    for (auto& future : parallel) {
      try {
        created.push_back(co_await future);
        if (created.back().kind == "vm") vms.push_back(created.back());
      } catch (const duractor::ActivityFailed& e) {
        if (!failure) failure = e.what();
      }
    }
    if (failure) throw std::runtime_error(*failure);

    ctx.set_custom_status("configuring DNS");
    std::string addresses;
    for (const auto& vm : vms) addresses += (addresses.empty() ? "" : ",") + vm.address;
    CreateRequest dns_request{"dns", spec.name + ".example.internal", addresses};
    created.push_back(co_await ctx.call(Create, dns_request, cloud_retry()));
    env.url = "https://" + created.back().name;

    ctx.set_custom_status("waiting for " + std::to_string(vms.size()) +
                          " VMs to pass health checks");
    std::vector<DurableFuture<int>> checks;  // one sub-orchestration per VM, in parallel
    for (const auto& vm : vms) {
      checks.push_back(
          ctx.call(WaitHealthy, vm,
                   duractor::SubOrchestrationOptions{ctx.instance_id() + "/health/" + vm.name}));
    }
    co_await ctx.when_all(std::move(checks));

    ctx.set_custom_status("awaiting approval");
    auto gate =
        co_await ctx.when_any(ctx.wait_event<Approval>("Approval"),
                              ctx.timer(std::chrono::milliseconds(spec.approval_deadline_ms)));
    if (gate.index() == 1) throw std::runtime_error("no approval within the deadline");
    Approval approval = gate.get<0>();
    if (!approval.approved) throw std::runtime_error("rejected by " + approval.by);

    for (std::size_t i = 0; i < vms.size(); ++i) {  // a rolling deploy, one VM at a time
      ctx.set_custom_status("approved by " + approval.by + "; rolling out " + spec.release + ": " +
                            std::to_string(i) + "/" + std::to_string(vms.size()));
      DeployRequest deploy{vms[i], spec.release};
      co_await ctx.call(Deploy, deploy, cloud_retry());
    }
    ctx.set_custom_status("ready: " + env.url + " runs " + spec.release);
    co_return env;
  } catch (const std::exception& e) {  // a failure, or a cancellation (Cancelled)
    if (!failure) failure = e.what();
  }

  // Compensation: tear down in reverse. (No co_await is allowed in a catch handler.)
  ctx.set_custom_status("rolling back: " + *failure);
  for (auto r = created.rbegin(); r != created.rend(); ++r)
    co_await ctx.call(Delete, *r, cloud_retry());
  ctx.set_custom_status("rolled back");
  throw std::runtime_error("environment " + spec.name + " rolled back: " + *failure);
}

}  // namespace

void register_workflow(duractor::Registry& registry, Cloud& cloud) {
  registry.add(Create, [&cloud](ActivityContext&, CreateRequest r) {
    return cloud_call([&] { return to_payload(cloud.create(r.kind, r.name, r.parent)); });
  });
  registry.add(Delete,
               [&cloud](ActivityContext&, Resource r) { cloud_call([&] { cloud.remove(r.id); }); });
  registry.add(CheckHealth, [&cloud](ActivityContext&, Resource r) {
    return cloud_call([&] { return cloud.healthy(r.id); });
  });
  registry.add(Deploy, [&cloud](ActivityContext&, DeployRequest r) {
    cloud_call([&] { cloud.deploy(r.vm.id, r.release); });
  });
  registry.add(WaitHealthy, wait_healthy);
  registry.add(Provision, provision);
}

}  // namespace provisioning
