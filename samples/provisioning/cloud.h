#pragma once
// A simulated cloud API for the provisioning sample: networks, databases, VMs and DNS
// records, with latency, transient failures (HTTP 503) at a configurable rate, VMs that
// take a while to boot, and a kind of resource that can be made to fail for good. Like a
// real cloud, its state outlives the program: it is kept in a JSON file, so a resource
// created before a crash is still there after it.
//
// Creation is idempotent by name (as with a cloud API's client token): asking again for a
// resource that exists returns it, which is what makes re-running an activity after a
// crash safe. Because that hides a repeated step, the cloud also logs every call that
// reaches it, with its answer, in the state file ("calls"): a test counts repeats there.
// Thread-safe.

#include <chrono>
#include <cstdint>
#include <mutex>
#include <random>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace provisioning {

struct CloudOptions {
  std::string state_file;                    // where the cloud's state lives
  std::chrono::milliseconds latency{150};    // per call, on average
  double failure_rate = 0.1;                 // share of calls that fail with 503
  std::chrono::milliseconds boot_time{800};  // until a new VM reports healthy
  std::set<std::string> broken;              // kinds whose creation always fails
  std::uint64_t seed = 42;
};

// What a failed call answered, like an HTTP error: 503 (transient: try again), 403 and
// 404 (they will answer the same next time). what() reads "cloud API: <status> ...".
class CloudError : public std::runtime_error {
 public:
  CloudError(int status, const std::string& message)
      : std::runtime_error(message), status_(status) {}
  int status() const { return status_; }

 private:
  int status_;
};

struct CloudResource {
  std::string id;
  std::string kind;  // network, database, vm, dns
  std::string name;
  std::string address;
};

class Cloud {
 public:
  // Loads the state file if it exists. Throws std::runtime_error if it does not parse.
  // The calls below throw CloudError when the cloud refuses (503 now and then; 403 for a
  // broken kind; 404 for an unknown resource).
  explicit Cloud(CloudOptions options);

  // Creates a resource, or returns the one of that name. `parent` is the network (for
  // databases and VMs) or the VM addresses (for DNS, comma-separated).
  CloudResource create(const std::string& kind, const std::string& name, const std::string& parent);
  // Deletes a resource; deleting one that is gone succeeds.
  void remove(const std::string& id);
  // Whether a VM answers its health check (it does once it has booted).
  bool healthy(const std::string& id);
  // Installs `release` on a VM.
  void deploy(const std::string& id, const std::string& release);

  // For tests and the summary: how many times each name was really created, and which
  // resources exist now.
  int creations(const std::string& name) const;
  std::vector<CloudResource> resources() const;

 private:
  // Latency and transient failures; a 503 is logged as a call (`call` on `resource`).
  void call(const std::string& what, const std::string& call, const std::string& resource);
  // Under mutex_: appends {"call", "resource", "answer"} to the call log.
  void log_call(const std::string& call, const std::string& resource, const std::string& answer);
  void save() const;  // under mutex_

  CloudOptions options_;
  mutable std::mutex mutex_;
  std::mt19937_64 random_;
  // {"next": n, "resources": {id: {...}}, "creations": {name: n},
  //  "calls": [{"call": "create", "resource": name, "answer": "created"}, ...]}, in call order
  nlohmann::json state_;
};

}  // namespace provisioning
