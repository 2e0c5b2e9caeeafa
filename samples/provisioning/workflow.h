#pragma once
// The provisioning workflow: its payload types, its activities (calls to the cloud) and
// the orchestration that strings them together. See main.cc for the program around it.

#include <msgpack.hpp>

#include <string>
#include <vector>

#include "duractor/duractor.h"
#include "samples/provisioning/cloud.h"

namespace provisioning {

// What to provision. Maps in msgpack (MSGPACK_DEFINE_MAP), so they read well as JSON in
// the CLI and payloads can be written by hand.
struct Spec {
  std::string name;  // the environment, e.g. "demo"
  int vms = 3;
  std::string release = "v1.0";
  int approval_deadline_ms = 60'000;  // how long the approval gate waits
  int health_checks = 8;              // per VM, with backoff between them
  MSGPACK_DEFINE_MAP(name, vms, release, approval_deadline_ms, health_checks)
};

struct Resource {
  std::string id;
  std::string kind;
  std::string name;
  std::string address;
  MSGPACK_DEFINE_MAP(id, kind, name, address)
};

struct CreateRequest {
  std::string kind;
  std::string name;
  std::string parent;  // network id, or the VM addresses for DNS
  MSGPACK_DEFINE_MAP(kind, name, parent)
};

struct DeployRequest {
  Resource vm;
  std::string release;
  MSGPACK_DEFINE_MAP(vm, release)
};

// The approval event's payload, e.g. {"approved": true, "by": "alice"}.
struct Approval {
  bool approved = false;
  std::string by;
  MSGPACK_DEFINE_MAP(approved, by)
};

struct Environment {
  std::string name;
  std::string url;
  std::string release;
  std::vector<Resource> resources;  // in creation order
  MSGPACK_DEFINE_MAP(name, url, release, resources)
};

extern const duractor::Orchestration<Spec, Environment> Provision;
extern const duractor::Orchestration<Resource, int> WaitHealthy;  // -> checks it took

// Registers the orchestrations and the activities, which call `cloud`.
void register_workflow(duractor::Registry& registry, Cloud& cloud);

// The instance id of an environment's provisioning.
inline std::string instance_id(const std::string& environment) {
  return "provision-" + environment;
}

}  // namespace provisioning
