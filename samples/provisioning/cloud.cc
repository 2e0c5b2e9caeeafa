#include "samples/provisioning/cloud.h"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <thread>

namespace provisioning {

namespace {

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

CloudResource to_resource(const std::string& id, const nlohmann::json& r) {
  return {id, r.at("kind"), r.at("name"), r.at("address")};
}

}  // namespace

Cloud::Cloud(CloudOptions options) : options_(std::move(options)), random_(options_.seed) {
  state_ = {{"next", 1},
            {"resources", nlohmann::json::object()},
            {"creations", nlohmann::json::object()},
            {"calls", nlohmann::json::array()}};
  std::ifstream in(options_.state_file);
  if (!in) return;
  try {
    state_ = nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    throw std::runtime_error("cloud state " + options_.state_file + " does not parse: " + e.what());
  }
}

void Cloud::log_call(const std::string& call, const std::string& resource,
                     const std::string& answer) {
  state_["calls"].push_back({{"call", call}, {"resource", resource}, {"answer", answer}});
}

void Cloud::call(const std::string& what, const std::string& call, const std::string& resource) {
  double jitter, roll;
  {
    std::lock_guard lock(mutex_);
    jitter = std::uniform_real_distribution<double>(0.5, 1.5)(random_);
    roll = std::uniform_real_distribution<double>(0, 1)(random_);
  }
  std::this_thread::sleep_for(
      std::chrono::duration<double, std::milli>(options_.latency.count() * jitter));
  if (roll < options_.failure_rate) {
    {
      std::lock_guard lock(mutex_);
      log_call(call, resource, "503");
      save();
    }
    std::printf("  cloud: %s -> 503 service unavailable\n", what.c_str());
    throw CloudError(503, "cloud API: 503 service unavailable (" + what + ")");
  }
}

void Cloud::save() const {
  auto temp = options_.state_file + ".tmp";
  {
    std::ofstream out(temp, std::ios::trunc);
    out << state_.dump(2) << "\n";
    if (!out) throw std::runtime_error("cannot write cloud state " + temp);
  }
  std::filesystem::rename(temp, options_.state_file);  // all or nothing
}

CloudResource Cloud::create(const std::string& kind, const std::string& name,
                            const std::string& parent) {
  call("create " + kind + " " + name, "create", name);
  std::lock_guard lock(mutex_);
  for (const auto& [id, r] : state_["resources"].items()) {
    if (r.at("name") == name) {
      log_call("create", name, "exists");
      save();
      std::printf("  cloud: %s %s exists already (%s)\n", kind.c_str(), name.c_str(), id.c_str());
      return to_resource(id, r);
    }
  }
  if (options_.broken.count(kind)) {
    log_call("create", name, "403");
    save();
    std::printf("  cloud: create %s %s -> 403 quota exceeded\n", kind.c_str(), name.c_str());
    throw CloudError(403, "cloud API: 403 quota exceeded for " + kind + " (" + name + ")");
  }
  int n = state_["next"].get<int>();
  state_["next"] = n + 1;
  std::string id = kind.substr(0, 3) + "-" + std::to_string(1000 + n);
  std::string address =
      kind == "dns" ? name : "10.0." + std::to_string(n / 250) + "." + std::to_string(n % 250 + 2);
  state_["resources"][id] = {{"kind", kind},     {"name", name},           {"address", address},
                             {"parent", parent}, {"created_ms", now_ms()}, {"release", ""}};
  state_["creations"][name] = state_["creations"].value(name, 0) + 1;
  log_call("create", name, "created");
  save();
  std::printf("  cloud: created %s %s (%s, %s)\n", kind.c_str(), name.c_str(), id.c_str(),
              address.c_str());
  return to_resource(id, state_["resources"][id]);
}

void Cloud::remove(const std::string& id) {
  call("delete " + id, "delete", id);
  std::lock_guard lock(mutex_);
  bool existed = state_["resources"].erase(id) != 0;
  log_call("delete", id, existed ? "deleted" : "gone");
  save();
  if (!existed) return;
  std::printf("  cloud: deleted %s\n", id.c_str());
}

bool Cloud::healthy(const std::string& id) {
  call("health " + id, "health", id);
  std::lock_guard lock(mutex_);
  auto& resources = state_["resources"];
  if (!resources.contains(id)) throw CloudError(404, "cloud API: 404 no resource " + id);
  return now_ms() - resources[id].at("created_ms").get<std::int64_t>() >=
         options_.boot_time.count();
}

void Cloud::deploy(const std::string& id, const std::string& release) {
  call("deploy " + release + " to " + id, "deploy", id);
  std::lock_guard lock(mutex_);
  auto& resources = state_["resources"];
  if (!resources.contains(id)) throw CloudError(404, "cloud API: 404 no resource " + id);
  resources[id]["release"] = release;
  log_call("deploy", id, release);
  save();
  std::printf("  cloud: %s runs %s\n", id.c_str(), release.c_str());
}

int Cloud::creations(const std::string& name) const {
  std::lock_guard lock(mutex_);
  return state_["creations"].value(name, 0);
}

std::vector<CloudResource> Cloud::resources() const {
  std::lock_guard lock(mutex_);
  std::vector<CloudResource> out;
  for (const auto& [id, r] : state_["resources"].items()) out.push_back(to_resource(id, r));
  return out;
}

}  // namespace provisioning
